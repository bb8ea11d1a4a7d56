"""Salt loader entry point: tells Salt where maia-salt's extension modules live.

Installed normally, the directories are packaged as ``maia_salt/salt_ext/<kind>``;
installed in editable mode (or run from a checkout) they are the top-level
``_modules``, ``_states``, ... folders of the repository.
"""
import importlib.util
from pathlib import Path

_KINDS = {
    "modules": "_modules",
    "states": "_states",
    "pillar": "_pillar",
    "runners": "_runners",
    "grains": "_grains",
    "wrapper": "_wrapper",  # salt-ssh wrappers: they run on the master side of salt-ssh
    "utils": "_utils",  # Salt 3008 reads no utils from entry points: see utils_function
}

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent

_UTILS_MODULES = {}


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


def utils_function(name: str):
    """The function ``name`` ("module.function") of maia-salt's ``_utils``, loaded as plain
    Python (once per process); None when this package has no such utils module.

    Salt 3008 builds ``__utils__`` from ``utils_dirs`` and ``extension_modules`` only
    (``salt.loader.utils`` passes ``load_extensions=False``), so the ``utils`` dir above never
    reaches ``__utils__``; ``_utils`` synced from ``file_roots`` (minions, salt-ssh) does.
    maia's modules therefore ask this first whenever Salt has imported this entry point
    (maia-salt is installed here), and use ``__utils__`` otherwise.
    """
    module_name, _, function = name.partition(".")
    module = _UTILS_MODULES.get(module_name)
    if module is None:
        directory = _dir_for("utils", _KINDS["utils"])
        path = directory / f"{module_name}.py" if directory is not None else None
        if path is None or not path.is_file():
            return None  # e.g. salt-ssh's thin of an editable install: __utils__ has the synced copy
        spec = importlib.util.spec_from_file_location(f"maia_salt.salt_ext.utils.{module_name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module = _UTILS_MODULES.setdefault(module_name, module)
    return getattr(module, function)
