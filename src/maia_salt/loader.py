"""Salt loader entry point: the master-side Salt code of the installed maia-salt package.

maia-salt ships its Salt code one way per side (docs/development.md, shipping):

- what runs on the master or the salt-ssh master side (the ``maia`` ext_pillar,
  the runners, the salt-ssh wrapper, the orchestrations' own states) comes with this
  package, through this entry point, wherever maia-salt is installed;
- what runs on a host (``_modules``, ``_states``, ``_grains``, ``_utils``) comes from the
  master's ``file_roots`` (``formulas/`` links them in): minions sync it
  (``saltutil.sync_all``, the orchestration's first step), salt-ssh ships it with
  every run, ``salt-call --local`` syncs it from its local ``file_roots``.

Installed normally, the directories are packaged as ``maia_salt/salt_ext/<kind>``;
installed in editable mode (or run from a checkout) they are the top-level
``_pillar``, ``_runners``, ``_wrapper`` and ``_orch_states`` folders of the repository.
"""
from pathlib import Path

_KINDS = {
    "pillar": "_pillar",
    "runners": "_runners",
    "wrapper": "_wrapper",  # salt-ssh wrappers: they run on the master side of salt-ssh
    "states": "_orch_states",  # states of the orchestrations in orch/: they run on the master (salt-run state.orch)
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
