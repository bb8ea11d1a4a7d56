"""maia-salt's host-side Salt code (``_modules``, ``_states``, ``_grains``, ``_utils``) as a host holds it.

maia-salt ships that code through ``file_roots`` only (docs/development.md, shipping): a
host has it once ``saltutil.sync_all`` copied it from ``formulas/`` into its
``extension_modules``. The ``salt-call --local`` configs of the tests point
``extension_modules`` at one folder that a real ``salt-call --local saltutil.sync_all``
filled once per test process, instead of each test syncing its own copy.
"""
import atexit
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml
from support.paths import REPO, SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS


_synced_dir = {}


def sync_all(conf: Path) -> dict:
    """``salt-call --local -c conf saltutil.sync_all``: what it synced, by kind."""
    proc = subprocess.run([str(SALT_CALL), "--local", "-c", str(conf), "--out", "json", "--log-level", "quiet",
                           "saltutil.sync_all"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["local"]


def _synced() -> Path:
    if "dir" not in _synced_dir:
        root = Path(tempfile.mkdtemp(prefix="maia-extmods-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        (root / "conf").mkdir()
        (root / "conf" / "minion").write_text(yaml.safe_dump({
            "id": "maia-extmods", "file_client": "local", **SKIP_MACHINE_GRAINS, "root_dir": str(root),
            "file_roots": {"base": [str(REPO / "formulas")]},
            "extension_modules": str(root / "extmods"),
        }))
        synced = sync_all(root / "conf")
        assert "modules.maia_core" in synced["modules"], synced
        _synced_dir["dir"] = root / "extmods"
    return _synced_dir["dir"]


def synced_extension_modules(root_dir) -> str:
    """An ``extension_modules`` for a minion config whose ``root_dir`` is ``root_dir``: a link
    to the folder that ``saltutil.sync_all`` filled from the repository's ``formulas/`` (once
    per process). It lives under ``root_dir`` because Salt puts ``root_dir`` in front of any
    other absolute ``extension_modules``."""
    link = Path(root_dir) / "extmods"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(_synced(), target_is_directory=True)
    return str(link)
