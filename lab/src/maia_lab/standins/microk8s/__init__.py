"""Install the MicroK8s stand-in (`snap` + `microk8s` executables) for tests and the lab.

STAND-IN: snapd and MicroK8s cannot run on this machine nor in the lab hosts
(see docs/standins.md). :func:`install` copies ``cli.py`` as ``snap`` and
``microk8s`` and writes the JSON state they share; `microk8s config` then
returns the kubeconfig of the Kubernetes API stand-in, and `microk8s start`
registers the host's Node there. The formulas never install this.

Two roots: ``fs_root`` is where files are written on this machine (``/`` for a
local test, a lab host's root directory for the lab) and ``prefix`` is the path
prefix the executing host sees (a temporary directory for a local test, ``""``
in a lab host, where the files sit at their real places).
"""
from __future__ import annotations

import base64
import datetime
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..hoststate import HostStandin, build_cli

CLI_SOURCE = Path(__file__).with_name("cli.py")
STATE_REL = "var/lib/maia-standins/microk8s/state.json"


@dataclass
class MicroK8sStandin(HostStandin):
    state_rel: str = STATE_REL
    snap_cmd: str = ""
    microk8s_cmd: str = ""
    snap_root: str = ""
    pillar: dict = field(default_factory=dict)

    def apiserver_args_file(self) -> Path:
        return self.host_path(f"{self.snap_root}/microk8s/current/args/kube-apiserver")


def make_ca(common_name: str = "10.152.183.1") -> tuple[str, str]:
    """A self-signed CA (cert PEM, key PEM) like the one MicroK8s generates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode(),
    )


def _api_from_kubeconfig(kubeconfig_text: str) -> dict:
    cfg = yaml.safe_load(kubeconfig_text)
    ctx_name = cfg.get("current-context")
    ctx = next((c["context"] for c in cfg.get("contexts", []) if c["name"] == ctx_name), None)
    ctx = ctx or cfg["contexts"][0]["context"]
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next((u["user"] for u in cfg.get("users", []) if u["name"] == ctx.get("user")), {})
    ca_pem = ""
    if cluster.get("certificate-authority-data"):
        ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
    elif cluster.get("certificate-authority"):
        ca_pem = Path(cluster["certificate-authority"]).read_text(encoding="utf-8")
    return {"server": cluster["server"], "token": user.get("token", ""), "ca_pem": ca_pem}


def install(
    kubeconfig_text: str,
    *,
    fs_root: str | os.PathLike = "/",
    prefix: str = "",
    hostname: str = "maia-node-0",
    address: str = "127.0.0.1",
    ca: tuple[str, str] | None = None,
    python: str = "/usr/bin/env python3",
    snap_bin: str = "/usr/local/bin/snap",
    microk8s_bin: str = "/snap/bin/microk8s",
    snap_root: str = "/var/snap",
    worker: bool = False,
) -> MicroK8sStandin:
    """Install the stand-in; return its handle, with the pillar the formulas need.

    ``kubeconfig_text`` is what `microk8s config` prints: the kubeconfig of the
    Kubernetes API stand-in (or of a real cluster). ``ca`` is the cluster CA
    laid down as certs/ca.crt and ca.key (generated when not given). ``worker``: a
    host that is to join the cluster as a worker; until `microk8s join`, its MicroK8s is a
    cluster of its own, so it registers no Node in the API stand-in.
    """
    fs_root = Path(fs_root)
    prefix = prefix.rstrip("/")
    handle = MicroK8sStandin(
        fs_root=fs_root,
        prefix=prefix,
        snap_cmd=f"{prefix}{snap_bin}",
        microk8s_cmd=f"{prefix}{microk8s_bin}",
        snap_root=f"{prefix}{snap_root}",
    )
    ca_cert, ca_key = ca or make_ca()
    state = {
        "hostname": hostname,
        "address": address,
        "snap_root": handle.snap_root,
        "kubeconfig": kubeconfig_text,
        "api": _api_from_kubeconfig(kubeconfig_text),
        "ca": {"ca.crt": ca_cert, "ca.key": ca_key},
        "snaps": {},
        "addons": {},
        "running": False,
        "starts": 0,
        "stops": 0,
        "awaiting_join": worker,
    }
    handle.write_state(state)

    source = build_cli(CLI_SOURCE, python=python, state_file=f"{prefix}/{STATE_REL}",
                       state_env="MAIA_STANDIN_MICROK8S_STATE")
    for cmd in (handle.snap_cmd, handle.microk8s_cmd):
        dest = handle.host_path(cmd)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(source, encoding="utf-8")
        dest.chmod(dest.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    handle.host_path(f"{handle.snap_root}").mkdir(parents=True, exist_ok=True)

    handle.pillar = {
        "maia": {
            "k8s": {
                "snap_cmd": handle.snap_cmd,
                "microk8s_cmd": handle.microk8s_cmd,
                "snapd_package": "",
                "paths": {"snap_root": handle.snap_root},
            }
        }
    }
    return handle


def uninstall(handle: MicroK8sStandin) -> None:
    """Remove the executables, the state and the snap tree the stand-in made."""
    for cmd in (handle.snap_cmd, handle.microk8s_cmd):
        handle.host_path(cmd).unlink(missing_ok=True)
    shutil.rmtree(handle.state_file.parent, ignore_errors=True)
    shutil.rmtree(handle.host_path(f"{handle.snap_root}/microk8s"), ignore_errors=True)
