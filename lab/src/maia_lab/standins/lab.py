"""`maia lab up --standins`: the Kubernetes API stand-in on the bridge, the MicroK8s
stand-in in the control-plane host, and a release server for the ArgoCD manifest.

STAND-INS (docs/standins.md): lab hosts can run neither snapd/MicroK8s nor a
kube-apiserver, and reach no site but the apt mirrors. So ``lab_start``:

1. starts ``python -m maia_lab.standins.kube_api`` on ``<bridge>:16443``
   (TLS dir and kubeconfig under ``<lab>/standins/kube-api``);
2. installs the MicroK8s stand-in (``maia_lab.standins.microk8s``) into the
   first control-plane host's root: ``/usr/local/bin/snap``,
   ``/snap/bin/microk8s``, state in ``/var/lib/maia-standins/microk8s``; its
   `microk8s config` prints the API stand-in's kubeconfig and its cluster CA
   is the API stand-in's CA;
3. serves an ArgoCD install manifest over HTTP on ``<bridge>:18080``, the
   lab's "release URL": the stand-in manifest maia-salt generates
   (``maia_lab.standins.argocd_manifest``), or the real release file given as
   ``MAIA_ARGOCD_MANIFEST=/path/to/install.yaml``; the pillar carries its URL
   and sha256;
   Stage 4's Keycloak and Harbor stand-ins listen behind an ingress stand-in on
   ``<bridge>:18443`` (``maia_lab.standins.admin_services``), with a certificate
   the cluster CA signed;
4. writes the pillar the formulas need to use them (``<lab>/pillar/standins.sls``,
   in the master's ``pillar_roots`` beside the lab's own ``lab.sls``, which
   switches off what lab hosts cannot run: ``maia_lab.lab.core.HOST_LIMITS``)
   and records it in ``lab.state["standins_pillar"]`` (pass it as ``pillar=``
   otherwise).

``lab_stop`` ends the processes it started, by pid.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from maia_lab.standins import argocd_manifest


API_PORT = 16443
RELEASE_PORT = 18080
SERVICES_PORT = 18443


def _control_plane(lab):
    inv_path = Path(lab.inventory)
    if inv_path.exists():
        inv = yaml.safe_load(inv_path.read_text()) or {}
        for name, host in (inv.get("hosts") or {}).items():
            if "control-plane" in (host.get("groups") or []):
                return lab.host(name)
    return lab.hosts[0]


def _wait_port(host, port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _spawn(lab, name, argv):
    os.makedirs(lab.path("logs"), exist_ok=True)
    out = open(lab.path("logs", f"standin-{name}.log"), "ab")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            start_new_session=True, cwd=lab.path("standins"))
    pids = lab.state.setdefault("standins_pids", {})
    pids[name] = proc.pid
    lab.save()
    return proc


def _release_dir(lab):
    """The folder served as the release URL; returns (folder, sha256 of the manifest in it)."""
    target = Path(lab.path("standins", "release"))
    target.mkdir(parents=True, exist_ok=True)
    path = target / argocd_manifest.FILE_NAME
    real = os.environ.get("MAIA_ARGOCD_MANIFEST")
    if real:
        data = Path(real).read_bytes()
        path.write_bytes(data)
        return target, hashlib.sha256(data).hexdigest()
    return target, argocd_manifest.write(path)


def _write_pillar(lab, pillar):
    """The stand-ins' pillar beside the lab's own (<lab>/pillar, in the master's pillar_roots)."""
    from maia_lab.lab.core import write_lab_pillar

    write_lab_pillar(lab.path("pillar"), "standins", pillar)


def lab_start(lab) -> None:
    from maia_lab.standins import microk8s as microk8s_standin

    os.makedirs(lab.path("standins"), exist_ok=True)
    bridge = lab.bridge_address
    tls_dir = lab.path("standins", "kube-api")
    kubeconfig = os.path.join(tls_dir, "kubeconfig")
    _spawn(lab, "kube-api", [sys.executable, "-m", "maia_lab.standins.kube_api", "--host", bridge,
                             "--port", str(API_PORT), "--tls-dir", tls_dir, "--kubeconfig", kubeconfig])
    _wait_port(bridge, API_PORT)
    for _ in range(50):
        if os.path.exists(kubeconfig):
            break
        time.sleep(0.1)

    release, manifest_sha256 = _release_dir(lab)
    _spawn(lab, "release", [sys.executable, "-m", "http.server", "--bind", bridge, "--directory",
                            str(release), str(RELEASE_PORT)])
    _wait_port(bridge, RELEASE_PORT)

    host = _control_plane(lab)
    root = lab.path("hosts", host.name, "merged")
    ca = (Path(tls_dir, "ca.crt").read_text(), Path(tls_dir, "ca.key").read_text())
    standin = microk8s_standin.install(
        Path(kubeconfig).read_text(), fs_root=root, prefix="", hostname=host.name, address=host.address,
        ca=ca, python="/usr/bin/python3",
    )
    k8s = dict(standin.pillar["maia"]["k8s"])
    k8s.update({
        "api_server_url": f"https://{bridge}:{API_PORT}",
        "node_name": host.name,
        "argocd": {"manifest_url": f"http://{bridge}:{RELEASE_PORT}/{argocd_manifest.FILE_NAME}",
                   "manifest_sha256": manifest_sha256},
    })
    # The ArgoCD application-controller stand-in moves Applications through their
    # sync and health states; it waits quietly until stage 2 installs the CRDs.
    _spawn(lab, "argocd-controller", [sys.executable, "-m", "maia_lab.standins.argocd_controller",
                                      "--kubeconfig", kubeconfig])
    # Stage 4's services (Keycloak, Harbor) behind an ingress stand-in whose certificate the
    # cluster CA signed; the site reaches them there (the lab's names resolve nowhere)
    from maia_lab.lab.configfolder import CONFIGURE_ENV
    _spawn(lab, "admin-services", [sys.executable, "-m", "maia_lab.standins.admin_services", "--host", bridge,
                                   "--port", str(SERVICES_PORT), "--ca-dir", tls_dir, "--kubeconfig", kubeconfig,
                                   "--config-folder", lab.config_folder, "--domain", CONFIGURE_ENV["CLUSTER_DOMAIN"],
                                   "--tls-dir", lab.path("standins", "admin-services")])
    _wait_port(bridge, SERVICES_PORT)
    admin = {"services": {"address": bridge, "port": SERVICES_PORT, "ca_pem": ca[0]}}
    pillar = {"maia": {"k8s": k8s, "admin": admin}}
    lab.state["standins_pillar"] = pillar
    lab.state["standins_kubeconfig"] = kubeconfig
    lab.state["standins_control_plane"] = host.name
    lab.save()
    _write_pillar(lab, pillar)
    print(f"stand-ins: Kubernetes API https://{bridge}:{API_PORT} (kubeconfig {kubeconfig}), "
          f"MicroK8s stand-in in {host.name}, ArgoCD manifest on http://{bridge}:{RELEASE_PORT}/, "
          f"Keycloak and Harbor on https://{bridge}:{SERVICES_PORT}")


def lab_stop(lab) -> None:
    pids = lab.state.get("standins_pids") or {}
    for name, pid in list(pids.items()):
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        pids.pop(name, None)
    lab.save()
