"""Install the k3s stand-in for tests and the lab: a release to download, and `systemctl`.

STAND-IN: k3s cannot run on this machine nor in the lab hosts (docs/standins.md).
:func:`install` writes the stand-in ``cli.py`` as the release binary ``k3s`` into a
release folder (the formula downloads it from there and checks its sha256, as it
checks the real release) and, for a host without systemd, as ``systemctl``; both
share one JSON state. Starting the service writes the files k3s writes and registers
the Node in the Kubernetes API stand-in (see ``cli.py``).

Two roots, as for the MicroK8s stand-in: ``fs_root`` is where files are written on
this machine, ``prefix`` the path prefix the executing host sees.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..hoststate import HostStandin, build_cli
from ..microk8s import _api_from_kubeconfig, make_ca

CLI_SOURCE = Path(__file__).with_name("cli.py")
STATE_REL = "var/lib/maia-standins/k3s/state.json"
PATHS = {
    "bin": "/usr/local/bin/k3s",
    "config_dir": "/etc/rancher/k3s",
    "data_dir": "/var/lib/rancher/k3s",
    "unit_dir": "/etc/systemd/system",
}


@dataclass
class K3sStandin(HostStandin):
    release_dir: Path = Path()
    release_sha256: str = ""
    paths: dict = field(default_factory=dict)
    pillar: dict = field(default_factory=dict)

    def config_file(self) -> Path:
        return self.host_path(self.paths["config"])


def _script(python: str, state_file: str) -> str:
    return build_cli(CLI_SOURCE, python=python, state_file=state_file, state_env="MAIA_STANDIN_K3S_STATE")


def install(
    kubeconfig_text: str,
    release_dir: str | os.PathLike,
    *,
    fs_root: str | os.PathLike = "/",
    prefix: str = "",
    hostname: str = "maia-node-0",
    ca: tuple[str, str] | None = None,
    python: str = "/usr/bin/env python3",
    systemctl: bool = True,
) -> K3sStandin:
    """Write the release (``<release_dir>/k3s``) and, with ``systemctl``, the `systemctl`
    stand-in; return the handle with the pillar the formulas need (``maia:k8s:k3s``).

    ``kubeconfig_text`` is what k3s writes to ``k3s.yaml``: the API stand-in's kubeconfig.
    ``ca`` is the server CA laid down at start (generated when not given)."""
    fs_root, prefix = Path(fs_root), prefix.rstrip("/")
    paths = {key: f"{prefix}{value}" for key, value in PATHS.items()}
    paths["config"] = f"{paths['config_dir']}/config.yaml"
    release_dir = Path(release_dir)
    release_dir.mkdir(parents=True, exist_ok=True)
    state_rel = f"{prefix}/{STATE_REL}"
    binary = release_dir / "k3s"
    binary.write_text(_script(python, state_rel), encoding="utf-8")
    binary.chmod(0o755)
    handle = K3sStandin(fs_root=fs_root, prefix=prefix, state_rel=STATE_REL, release_dir=release_dir,
                        release_sha256=hashlib.sha256(binary.read_bytes()).hexdigest(), paths=paths)
    ca_cert, ca_key = ca or make_ca()
    state = {
        "hostname": hostname,
        "paths": paths,
        "kubeconfig": kubeconfig_text,
        "api": _api_from_kubeconfig(kubeconfig_text),
        "ca": {"crt": ca_cert, "key": ca_key},
        "enabled": False,
        "active": False,
        "starts": 0,
        "restarts": 0,
    }
    handle.write_state(state)
    k3s = {"paths": {k: v for k, v in paths.items() if k != "config"},
           "release": {"url": f"file://{binary}", "sha256": handle.release_sha256}}
    if systemctl:
        dest = handle.host_path(f"{prefix}/usr/bin/systemctl")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_script(python, state_rel), encoding="utf-8")
        dest.chmod(dest.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        k3s["systemctl_cmd"] = f"{prefix}/usr/bin/systemctl"
    handle.pillar = {"maia": {"k8s": {"k3s": k3s}}}
    return handle
