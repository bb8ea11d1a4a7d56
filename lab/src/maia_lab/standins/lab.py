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
   is the API stand-in's CA; the same, and the k3s, k0s and rke2 stand-ins'
   state, into every host of the inventory's group `workers` (``--workers``);
3. serves an ArgoCD install manifest over HTTP on ``<bridge>:18080``, the
   lab's "release URL": the stand-in manifest maia-salt generates
   (``maia_lab.standins.argocd_manifest``), or the real release file given as
   ``MAIA_ARGOCD_MANIFEST=/path/to/install.yaml``; the pillar carries its URL
   and sha256;
   Stage 4's Keycloak, Harbor and MinIO stand-ins listen behind an ingress stand-in on
   ``<bridge>:18443`` (``maia_lab.standins.admin_services``), with a certificate
   the cluster CA signed;
4. writes the pillar the formulas need to use them (``<lab>/pillar/standins.sls``,
   in the master's ``pillar_roots`` beside the lab's own ``lab.sls``, which
   switches off what lab hosts cannot run: ``maia_lab.lab.HOST_LIMITS``)
   and returns it with the rest the lab records in its state.json
   (``standins_pillar``: pass it as ``pillar=`` otherwise).

It is given the lab's folder, bridge address and hosts, and a
``record_pid(name, pid)`` that writes each process into the lab's state.json as
it starts; ``lab_stop`` ends those processes, by pid.
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

from maia_lab.standins import argocd_controller, argocd_manifest


API_PORT = 16443
RELEASE_PORT = 18080
SERVICES_PORT = 18443


def _in_group(inventory_path, hosts, group):
    """The hosts of the lab's inventory.yaml in ``group``, in its order."""
    inv_path = Path(inventory_path)
    inv = (yaml.safe_load(inv_path.read_text()) or {}) if inv_path.exists() else {}
    return [next(h for h in hosts if h.name == name) for name, host in (inv.get("hosts") or {}).items()
            if group in (host.get("groups") or [])]


def control_plane(inventory_path, hosts):
    """The first control-plane host of the lab's inventory.yaml (else its first host)."""
    return (_in_group(inventory_path, hosts, "control-plane") or hosts)[0]


def workers(inventory_path, hosts):
    """The hosts of the lab's inventory.yaml in group `workers` (`maia lab up --workers N`)."""
    return _in_group(inventory_path, hosts, "workers")


def _wait_port(host, port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def spawn(folder, name, argv, record_pid):
    """Start one stand-in process (its log: ``logs/standin-<name>.log``) and record its pid."""
    os.makedirs(folder.path("logs"), exist_ok=True)
    out = open(folder.log(f"standin-{name}"), "ab")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            start_new_session=True, cwd=folder.path("standins"))
    record_pid(name, proc.pid)
    return proc


def _release_dir(folder):
    """The folder served as the release URL; returns (folder, sha256 of the manifest in it)."""
    target = Path(folder.path("standins", "release"))
    target.mkdir(parents=True, exist_ok=True)
    path = target / argocd_manifest.FILE_NAME
    real = os.environ.get("MAIA_ARGOCD_MANIFEST")
    if real:
        data = Path(real).read_bytes()
        path.write_bytes(data)
        return target, hashlib.sha256(data).hexdigest()
    return target, argocd_manifest.write(path)


def _write_pillar(folder, pillar):
    """The stand-ins' pillar beside the lab's own (<lab>/pillar, in the master's pillar_roots)."""
    from maia_lab.lab.saltconfig import write_lab_pillar

    write_lab_pillar(folder.path("pillar"), "standins", pillar)


def _service_release(standin, release, kubeconfig, root, host, ca, bridge) -> dict:
    """A service stand-in (``maia_lab.standins.k3s``, ``k0s`` or ``rke2``) as the release the lab
    serves (``<bridge>:18080/<name>``, rke2's ``<bridge>:18080/rke2.linux-amd64.tar.gz``) and
    its state in the control-plane host's root; the host's own
    systemd runs it (no `systemctl` stand-in). Used when the site's K8S_DISTRIBUTION is that
    distribution; returns ``maia:k8s:<name>``'s release pillar."""
    installed = standin.install(Path(kubeconfig).read_text(), release, fs_root=root, prefix="",
                                hostname=host.name, ca=ca, python="/usr/bin/python3", systemctl=False)
    (name, pillar), = installed.pillar["maia"]["k8s"].items()
    served = Path(pillar["release"]["url"].removeprefix("file://")).relative_to(release)
    return {"release": {"url": f"http://{bridge}:{RELEASE_PORT}/{served}", "sha256": installed.release_sha256}}


def _host_standins(release, kubeconfig, folder, host, ca, bridge, worker=False) -> dict:
    """Every distribution's stand-in state in ``host``'s root (the MicroK8s stand-in's executables
    too; the k3s, k0s and rke2 releases are the lab's, served once, the same bytes for every host):
    the Kubernetes API stand-in's address, CA and credentials, with which a worker's agent checks
    its join token and registers its Node. Returns ``maia:k8s`` of the stand-ins' pillar."""
    from maia_lab.standins import k0s, k3s, rke2
    from maia_lab.standins import microk8s as microk8s_standin

    root = folder.host_root(host.name)
    standin = microk8s_standin.install(
        Path(kubeconfig).read_text(), fs_root=root, prefix="", hostname=host.name, address=host.address,
        ca=ca, python="/usr/bin/python3", worker=worker,
    )
    k8s = dict(standin.pillar["maia"]["k8s"])
    k8s.update({name: _service_release(module, release, kubeconfig, root, host, ca, bridge)
                for name, module in (("k3s", k3s), ("k0s", k0s), ("rke2", rke2))})
    return k8s


def lab_start(folder, bridge, hosts, record_pid) -> dict:
    """Start the stand-ins of the lab in ``folder`` (``maia_lab.lab.LabFolder``) on its ``bridge``
    address, the MicroK8s stand-in (and the k3s, k0s and rke2 stand-ins' state) in its
    control-plane host and in its `workers` hosts (of ``hosts``); returns what the lab records."""
    os.makedirs(folder.path("standins"), exist_ok=True)
    tls_dir = folder.path("standins", "kube-api")
    kubeconfig = os.path.join(tls_dir, "kubeconfig")
    spawn(folder, "kube-api", [sys.executable, "-m", "maia_lab.standins.kube_api", "--host", bridge,
                               "--port", str(API_PORT), "--tls-dir", tls_dir, "--kubeconfig", kubeconfig],
          record_pid)
    _wait_port(bridge, API_PORT)
    for _ in range(50):
        if os.path.exists(kubeconfig):
            break
        time.sleep(0.1)

    release, manifest_sha256 = _release_dir(folder)
    spawn(folder, "release", [sys.executable, "-m", "http.server", "--bind", bridge, "--directory",
                              str(release), str(RELEASE_PORT)], record_pid)
    _wait_port(bridge, RELEASE_PORT)

    host = control_plane(folder.inventory, hosts)
    ca = (Path(tls_dir, "ca.crt").read_text(), Path(tls_dir, "ca.key").read_text())
    k8s = _host_standins(release, kubeconfig, folder, host, ca, bridge)
    agents = workers(folder.inventory, hosts)
    for agent in agents:
        _host_standins(release, kubeconfig, folder, agent, ca, bridge, worker=True)
    # the pillar is every host's: no node_name (each host's own name, its grain, is its node's)
    k8s.update({
        "api_server_url": f"https://{bridge}:{API_PORT}",
        "argocd": {"manifest_url": f"http://{bridge}:{RELEASE_PORT}/{argocd_manifest.FILE_NAME}",
                   "manifest_sha256": manifest_sha256},
    })
    # The ArgoCD application-controller stand-in moves Applications through their
    # sync and health states; it waits quietly until stage 2 installs the CRDs.
    # Traefik's and ingress-nginx's LoadBalancer Services get their address once the toolkit's chart
    # (its MetalLB pool) is synced, as on a cluster whose only load balancer is the core layer's MetalLB.
    spawn(folder, "argocd-controller", [sys.executable, "-m", "maia_lab.standins.argocd_controller",
                                        "--kubeconfig", kubeconfig, *argocd_controller.address_args()],
          record_pid)
    # Stage 4's services (Keycloak, Harbor, MinIO) behind an ingress stand-in whose certificate the
    # cluster CA signed; the site reaches them there (the lab's names resolve nowhere)
    from maia_lab.lab.configfolder import CONFIGURE_ENV
    spawn(folder, "admin-services", [sys.executable, "-m", "maia_lab.standins.admin_services", "--host", bridge,
                                     "--port", str(SERVICES_PORT), "--ca-dir", tls_dir, "--kubeconfig", kubeconfig,
                                     "--config-folder", folder.config_folder,
                                     "--domain", CONFIGURE_ENV["CLUSTER_DOMAIN"],
                                     "--tls-dir", folder.path("standins", "admin-services")], record_pid)
    _wait_port(bridge, SERVICES_PORT)
    admin = {"services": {"address": bridge, "port": SERVICES_PORT, "ca_pem": ca[0]}}
    pillar = {"maia": {"k8s": k8s, "admin": admin}}
    _write_pillar(folder, pillar)
    print(f"stand-ins: Kubernetes API https://{bridge}:{API_PORT} (kubeconfig {kubeconfig}), "
          f"MicroK8s stand-in in {', '.join(h.name for h in [host, *agents])}, ArgoCD manifest on http://{bridge}:{RELEASE_PORT}/, "
          f"Keycloak, Harbor and MinIO on https://{bridge}:{SERVICES_PORT}")
    return {"standins_pillar": pillar, "standins_kubeconfig": kubeconfig, "standins_control_plane": host.name,
            "standins_workers": [h.name for h in agents]}


def lab_stop(pids) -> None:
    """End the stand-in processes ``pids`` ({name: pid}, as recorded), each with its session."""
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
