"""Install a stand-in of a distribution that runs as a systemd service (k3s, k0s, rke2) for tests and the lab.

STAND-IN (docs/standins.md): neither k3s, k0s nor rke2 runs on this machine or in the lab hosts.
:func:`install` writes the distribution's stand-in CLI as its release binary into a release
folder (rke2: packed into a release tarball in rke2's layout, with its sha256 list; the formula
downloads it from there and checks its sha256, as it checks the real release) and, for a host
without systemd, as ``systemctl``; both share one JSON state, which
starts with the Kubernetes API stand-in's kubeconfig and the cluster CA the service lays down.

Two roots, as for the MicroK8s stand-in: ``fs_root`` is where files are written on this
machine, ``prefix`` the path prefix the executing host sees.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from .hoststate import HostStandin, build_cli
from .microk8s import _api_from_kubeconfig, make_ca


@dataclass
class ServiceStandin(HostStandin):
    release_dir: Path = Path()
    release_sha256: str = ""
    paths: dict = field(default_factory=dict)
    pillar: dict = field(default_factory=dict)

    def config_file(self) -> Path:
        return self.host_path(self.paths["config"])


@dataclass(frozen=True)
class Distribution:
    """What differs between the service stand-ins: names, the CLI, the default paths."""

    name: str  # k3s, k0s, rke2: the pillar key maia:k8s:<name> and the release binary's name
    cli_source: Path
    paths: dict  # bin, config_dir, data_dir, unit_dir (and more) at the distribution's own places
    config_name: str  # the settings file in config_dir
    # the maia:k8s:<name>:paths keys (the formula derives the others); () = all of paths
    pillar_paths: tuple = ()
    # a release tarball in the distribution's layout instead of the bare binary: its file name,
    # and the unit it ships (lib/systemd/system/<unit>.service)
    tarball: str = ""
    unit: str = ""
    agent_unit: str = ""

    @property
    def state_rel(self) -> str:
        return f"var/lib/maia-standins/{self.name}/state.json"


_HERE = Path(__file__).parent
UNIT_DIR = "/etc/systemd/system"
DISTRIBUTIONS = {
    "k3s": Distribution("k3s", _HERE / "k3s" / "cli.py", {"bin": "/usr/local/bin/k3s", "config_dir": "/etc/rancher/k3s",
                                                         "data_dir": "/var/lib/rancher/k3s", "unit_dir": UNIT_DIR},
                        "config.yaml"),
    "k0s": Distribution("k0s", _HERE / "k0s" / "cli.py", {"bin": "/usr/local/bin/k0s", "config_dir": "/etc/k0s",
                                                         "data_dir": "/var/lib/k0s", "unit_dir": UNIT_DIR},
                        "k0s.yaml"),
    "rke2": Distribution("rke2", _HERE / "rke2" / "cli.py",
                         {"install_dir": "/usr/local", "bin": "/usr/local/bin/rke2",
                          "unit_dir": "/usr/local/lib/systemd/system", "config_dir": "/etc/rancher/rke2",
                          "data_dir": "/var/lib/rancher/rke2", "environment_dir": "/etc/default",
                          "cache_dir": "/var/cache/maia"},
                         "config.yaml", pillar_paths=("install_dir", "config_dir", "data_dir", "environment_dir",
                                                      "cache_dir"),
                         tarball="rke2.linux-amd64.tar.gz", unit="rke2-server", agent_unit="rke2-agent"),
}


def _unit_text(dist: Distribution, paths: dict, role: str) -> str:
    """A service unit a release tarball ships (the stand-in's own text, in the real unit's
    shape: Type=notify, the environment file /etc/default/<unit>, `<bin> <role>`; role: server, agent)."""
    return (f"[Unit]\nDescription={dist.name} {role} (stand-in)\nWants=network-online.target\n"
            "After=network-online.target\n\n[Service]\nType=notify\n"
            f"EnvironmentFile=-{paths['environment_dir']}/%N\nKillMode=process\nDelegate=yes\n"
            f"TimeoutStartSec=0\nRestart=always\nRestartSec=5s\nExecStart={paths['bin']} {role}\n\n"
            "[Install]\nWantedBy=multi-user.target\n")


def _pack(dist: Distribution, cli_text: str, paths: dict, release_dir: Path) -> Path:
    """The release tarball (bin/<name>, the server's and the agent's units, share/<name>/) and its
    sha256sum-amd64.txt."""
    members = {f"bin/{dist.name}": (cli_text, 0o755),
               **{f"lib/systemd/system/{unit}.service": (_unit_text(dist, paths, role), 0o644)
                  for role, unit in (("server", dist.unit), ("agent", dist.agent_unit))},
               f"share/{dist.name}/README.stand-in": ("maia-salt's stand-in release (docs/standins.md)\n", 0o644)}
    tarball = release_dir / dist.tarball
    # the same bytes for the same files (gzip's header time 0): the lab installs it once per host
    with open(tarball, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for name, (text, mode) in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    (release_dir / "sha256sum-amd64.txt").write_text(f"{digest}  {dist.tarball}\n", encoding="utf-8")
    return tarball


def install(
    dist: Distribution,
    kubeconfig_text: str,
    release_dir: str | os.PathLike,
    *,
    fs_root: str | os.PathLike = "/",
    prefix: str = "",
    hostname: str = "maia-node-0",
    ca: tuple[str, str] | None = None,
    python: str = "/usr/bin/env python3",
    systemctl: bool = True,
) -> ServiceStandin:
    """Write the release (``<release_dir>/<name>``) and, with ``systemctl``, the `systemctl`
    stand-in; return the handle with the pillar the formulas need (``maia:k8s:<name>``).

    ``kubeconfig_text`` is the admin kubeconfig the service writes: the API stand-in's.
    ``ca`` is the cluster CA laid down at start (generated when not given)."""
    fs_root, prefix = Path(fs_root), prefix.rstrip("/")
    paths = {key: f"{prefix}{value}" for key, value in dist.paths.items()}
    paths["config"] = f"{paths['config_dir']}/{dist.config_name}"
    release_dir = Path(release_dir)
    release_dir.mkdir(parents=True, exist_ok=True)
    state_file = f"{prefix}/{dist.state_rel}"
    state_env = f"MAIA_STANDIN_{dist.name.upper()}_STATE"
    cli_text = build_cli(dist.cli_source, python=python, state_file=state_file, state_env=state_env)
    if dist.tarball:
        release = _pack(dist, cli_text, paths, release_dir)
    else:
        release = release_dir / dist.name
        release.write_text(cli_text, encoding="utf-8")
        release.chmod(0o755)
    handle = ServiceStandin(fs_root=fs_root, prefix=prefix, state_rel=dist.state_rel, release_dir=release_dir,
                            release_sha256=hashlib.sha256(release.read_bytes()).hexdigest(), paths=paths)
    ca_cert, ca_key = ca or make_ca()
    systemctl_path = f"{prefix}/usr/bin/systemctl" if systemctl else "/usr/bin/systemctl"
    handle.write_state({
        "hostname": hostname,
        "paths": paths,
        "systemctl": systemctl_path,
        "kubeconfig": kubeconfig_text,
        "api": _api_from_kubeconfig(kubeconfig_text),
        "ca": {"crt": ca_cert, "key": ca_key},
        "enabled": False,
        "active": False,
        "starts": 0,
        "restarts": 0,
    })
    pillar = {"paths": {k: v for k, v in paths.items() if k in (dist.pillar_paths or dist.paths)},
              "release": {"url": f"file://{release}", "sha256": handle.release_sha256}}
    if systemctl:
        dest = handle.host_path(systemctl_path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(cli_text, encoding="utf-8")
        dest.chmod(dest.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        pillar["systemctl_cmd"] = systemctl_path
    handle.pillar = {"maia": {"k8s": {dist.name: pillar}}}
    return handle
