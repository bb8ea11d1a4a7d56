"""Run real ``salt-call --local`` against the repository's formulas with a
temporary minion config and pillar (file_roots = formulas/, the modules, states
and grains as ``saltutil.sync_all`` syncs them from there: support/extmods.py)."""
import json
import os
import subprocess
from pathlib import Path

import yaml

from core.helpers import REPO
from support.extmods import synced_extension_modules
from support.paths import SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS



def write_config(root: Path, pillar: dict, extra_opts: dict | None = None) -> Path:
    """A minion config dir under ``root`` with ``pillar`` as the `maia` pillar."""
    conf = root / "conf"
    pillar_dir = root / "pillar"
    conf.mkdir(parents=True, exist_ok=True)
    pillar_dir.mkdir(parents=True, exist_ok=True)
    (pillar_dir / "top.sls").write_text("base:\n  '*': [maia]\n")
    (pillar_dir / "maia.sls").write_text(yaml.safe_dump({"maia": pillar}))
    opts = {
        "id": "maia-node-0",
        "file_client": "local", **SKIP_MACHINE_GRAINS,
        "file_roots": {"base": [str(REPO / "formulas")]},
        "extension_modules": synced_extension_modules(root),
        "pillar_roots": {"base": [str(pillar_dir)]},
        "root_dir": str(root),
        "cachedir": str(root / "cache"),
        "pki_dir": str(root / "pki"),
        "sock_dir": str(root / "sock"),
        "log_file": str(root / "minion.log"),
        "log_level_logfile": "debug",
        "state_output_diff": True,
    }
    opts.update(extra_opts or {})
    (conf / "minion").write_text(yaml.safe_dump(opts))
    return conf


def salt_call(conf: Path, *args, timeout=900, env=None):
    """(returncode, parsed JSON `local` return or None, stdout, stderr)."""
    cmd = [SALT_CALL, "--local", "-c", str(conf), "--out", "json", "--retcode-passthrough", *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    try:
        data = json.loads(proc.stdout)["local"]
    except (ValueError, KeyError, TypeError):
        data = None
    return proc.returncode, data, proc.stdout, proc.stderr


def state_args(chunk: dict) -> dict:
    """The arguments of one show_sls state as a dict, and its function."""
    for key, value in chunk.items():
        if key.startswith("__") or not isinstance(value, list):
            continue
        args, fun = {}, None
        for item in value:
            if isinstance(item, str):
                fun = f"{key}.{item}"
            elif isinstance(item, dict):
                args.update(item)
        return {"fun": fun, **args}
    raise AssertionError(f"no state in {chunk}")
