"""``maia validate``'s render of every host's states, offline: real Salt, no daemon, no host.

For each host and each stage that orch.maia runs on it (prepare on every host, k8s and core on
the control-plane), ``salt-call --local state.show_sls maia.<stage>`` renders the stage's SLS
with a temporary minion configuration: ``file_roots`` = maia-salt's ``formulas/``, the
extension modules synced from there once (as ``saltutil.sync_all`` syncs them to a minion),
the host's ``maia`` pillar (built by the ext_pillar's own code) in a private pillar root, and
the grains it would have. A render error comes back with Salt's own message, the one the run
would give.

The grains of a host are not known offline: each host gets :data:`PLACEHOLDER_GRAINS` (an
Ubuntu 22.04 amd64 host without a GPU) plus its id and default IPv4. Salt's ``lvm`` grain is
not loaded: it would run ``lvm vgs`` and an ``lvm lvs`` per volume group of the machine
``maia validate`` runs on, which is not the host rendered, and no maia state reads it. The pillar
is written to files (mode 0600 in a private temporary folder), never on a command line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

#: the grains every host is rendered with (docs/operations.md, "maia validate")
PLACEHOLDER_GRAINS = {
    "os": "Ubuntu", "os_family": "Debian", "osfinger": "Ubuntu-22.04", "osrelease": "22.04",
    "oscodename": "jammy", "osarch": "amd64", "cpuarch": "x86_64", "kernel": "Linux",
    "maia_gpu": {"nvidia": False, "nvidia_devices": []},
}
#: Salt grain modules the render does not load (they read this machine, not the host rendered)
UNLOADED_GRAINS = ("lvm",)
STAGE_HOSTS = {"prepare": None, "k8s": "control-plane", "core": "control-plane"}  # orch.maia's targets


def stages_of(roles: list[str], stages: list[str]) -> list[str]:
    """The stages orch.maia runs on a host with ``roles``, in order."""
    return [s for s in stages if s in STAGE_HOSTS and (STAGE_HOSTS[s] is None or STAGE_HOSTS[s] in roles)]


def _salt_call() -> str:
    local = Path(sys.executable).with_name("salt-call")
    return str(local) if local.exists() else "salt-call"


class Renderer:
    """One private Salt root for a ``maia validate`` run (a context manager)."""

    def __init__(self, formulas_root: Path):
        self.formulas_root = Path(formulas_root)
        self._tmp = tempfile.TemporaryDirectory(prefix="maia-validate-")
        self.root = Path(self._tmp.name)
        self._synced = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()

    def _config(self, host: str, grains: dict) -> Path:
        conf = self.root / "conf"
        conf.mkdir(exist_ok=True)
        opts = {
            "id": host, "file_client": "local",
            "file_roots": {"base": [str(self.formulas_root)]},
            "pillar_roots": {"base": [str(self.root / "pillar")]},
            "extension_modules": str(self.root / "extmods"),
            "root_dir": str(self.root), "cachedir": str(self.root / "cache"), "pki_dir": str(self.root / "pki"),
            "sock_dir": str(self.root / "sock"), "log_file": str(self.root / "salt.log"),
            "grains": {**PLACEHOLDER_GRAINS, **grains},
            "disable_grains": list(UNLOADED_GRAINS),
        }
        (conf / "minion").write_text(yaml.safe_dump(opts), encoding="utf-8")
        return conf

    def _call(self, conf: Path, *args: str) -> tuple[int, object, str]:
        proc = subprocess.run([_salt_call(), "--local", "-c", str(conf), "--out", "json", "--log-level", "quiet",
                               "--retcode-passthrough", *args], capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        try:
            data = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            data = None
        return proc.returncode, data, (proc.stderr or proc.stdout).strip()

    def render(self, host: str, pillar: dict, grains: dict, stage: str) -> list[str]:
        """Salt's render errors of ``maia.<stage>`` for ``host`` ([] when it renders)."""
        pillar_dir = self.root / "pillar"
        pillar_dir.mkdir(mode=0o700, exist_ok=True)
        (pillar_dir / "top.sls").write_text("base:\n  '*': [host]\n", encoding="utf-8")
        target = pillar_dir / "host.sls"
        target.touch(mode=0o600)
        target.write_text(yaml.safe_dump({"maia": pillar}), encoding="utf-8")
        conf = self._config(host, grains)
        if not self._synced:
            code, _, err = self._call(conf, "saltutil.sync_all")
            if code != 0:
                return [f"cannot sync maia-salt's modules from {self.formulas_root}: {err[-500:]}"]
            self._synced = True
        code, data, err = self._call(conf, "state.show_sls", f"maia.{stage}")
        if code == 0 and isinstance(data, dict):
            return []
        if isinstance(data, list) and data:
            # Salt's message is the first line; the template excerpt and traceback after it are not shown
            return [str(line).strip().splitlines()[0] for line in data if str(line).strip()]
        return [str(data or err or f"salt-call exited {code}")[-2000:]]
