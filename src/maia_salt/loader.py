"""Salt loader entry point: tells Salt where maia-salt's extension modules live.

Installed normally, the directories are packaged as ``maia_salt/salt_ext/<kind>``;
installed in editable mode (or run from a checkout) they are the top-level
``_modules``, ``_states``, ... folders of the repository.
"""
from pathlib import Path

_KINDS = {
    "modules": "_modules",
    "states": "_states",
    "pillar": "_pillar",
    "runners": "_runners",
    "grains": "_grains",
    "wrapper": "_wrapper",  # salt-ssh wrappers: they run on the master side of salt-ssh
}

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent


def _dir_for(kind: str, top_level: str) -> Path | None:
    packaged = PACKAGE_DIR / "salt_ext" / kind
    if any(packaged.glob("*.py")):
        return packaged
    checkout = REPO_ROOT / top_level
    if checkout.is_dir():
        return checkout
    return None


def get_salt_extension_dirs() -> dict[str, list[str]]:
    dirs = {}
    for kind, top_level in _KINDS.items():
        found = _dir_for(kind, top_level)
        if found is not None:
            dirs[kind] = [str(found)]
    return dirs
