"""Run maia.k8s with real ``salt-call --local`` on this machine.

STAND-INS (see docs/standins.md: no snapd/MicroK8s, no kube-apiserver here):
- the MicroK8s stand-in (``maia_lab.standins.microk8s``): ``snap`` and
  ``microk8s`` executables in a temporary root, its snap tree under
  ``<root>/var/snap`` (pillar ``maia:k8s:paths:snap_root``);
- the Kubernetes API stand-in (``maia_lab.standins.kube_api``), whose
  kubeconfig is what ``microk8s config`` prints.
With ``MAIA_E2E_KUBECONFIG`` set, the API side is that real cluster instead
(the MicroK8s stand-in still emulates the host, printing that kubeconfig).
"""
from __future__ import annotations

import base64
import functools
import http.server
import io
import json
import subprocess
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from maia_salt.pillar_map import deep_merge
from maia_lab.standins import microk8s as microk8s_standin
from support.argocd_manifest import FILE_NAME as ARGOCD_FILE
from support.argocd_manifest import manifest as argocd_manifest
from support.extmods import synced_extension_modules
from support.states import changed_ids, failed  # noqa: F401  (the k8s tests import them from here)
from support.paths import REPO, SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS


ARGOCD_PASSWORD = "Argo-test-password-7f3k"


def argocd_bcrypt(password: str = ARGOCD_PASSWORD) -> str:
    import bcrypt

    return "$2a$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()[4:]


class ManifestServer:
    """Serves a folder over HTTP on 127.0.0.1 (the tests' 'release URL' of the ArgoCD manifest)."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):  # noqa: D401 - keep pytest output clean
        _QuietHandler.requests.append(self.path)


@dataclass
class Site:
    """One temporary control-plane 'host' on this machine."""

    root: Path
    standin: microk8s_standin.MicroK8sStandin
    pillar: dict
    conf: Path
    runs: list = field(default_factory=list)

    @property
    def config_folder(self) -> Path:
        return Path(self.pillar["maia"]["config_folder"])

    @property
    def kubeconfig(self) -> Path:
        return Path(self.pillar["maia"]["kubeconfig"])

    def write_pillar(self, overrides: dict | None = None) -> None:
        if overrides:
            self.pillar = deep_merge(self.pillar, overrides)
        (self.root / "pillar" / "maia.sls").write_text(yaml.safe_dump(self.pillar))

    def salt_call(self, *args, timeout=600):
        cmd = [SALT_CALL, "--local", "-c", str(self.conf), "--out", "json", "--retcode-passthrough", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        try:
            data = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            data = None
        self.runs.append(proc)
        return proc.returncode, data, proc

    def apply(self, sls="maia.k8s", test=False):
        args = ["state.apply", sls]
        if test:
            args.append("test=True")
        return self.salt_call(*args)

    def log_text(self) -> str:
        path = self.root / "salt" / "minion.log"
        return path.read_text() if path.exists() else ""


def make_site(root: Path, api_kubeconfig_text: str, manifest_url: str, pillar: dict | None = None) -> Site:
    root.mkdir(parents=True, exist_ok=True)
    standin = microk8s_standin.install(
        api_kubeconfig_text, fs_root="/", prefix=str(root), hostname="maia-node-0", address="198.18.0.11"
    )
    base = {
        "maia": {
            "config_folder": str(root / "config"),
            "kubeconfig": str(root / "etc" / "maia" / "kubeconfig"),
            "cluster": {"cluster_name": "maia-test", "domain": "maia.example.test"},
            "env": {
                "cluster_name": "maia-test",
                "argocd_namespace": "argocd",
                "ARGOCD_PASSWORD": ARGOCD_PASSWORD,
                "argocd_bcrypt_password": argocd_bcrypt(),
            },
            "roles": ["control-plane"],
            "host": {"address": "198.18.0.11"},
            "prepare": {"ufw": False},
            "k8s": deep_merge(
                standin.pillar["maia"]["k8s"],
                {
                    "node_name": "maia-node-0",
                    "client_packages": [],
                    "wait_ready": {"retries": 3, "interval": 1, "timeout": 2},
                    "argocd": {
                        "manifest_url": f"{manifest_url}/{ARGOCD_FILE}",
                        "manifest_sha256": argocd_manifest()[1],
                        "cache_dir": str(root / "var" / "cache" / "maia"),
                        "crd_timeout": 30,
                    },
                },
            ),
        }
    }
    if pillar:
        base = deep_merge(base, pillar)
    (root / "pillar").mkdir(exist_ok=True)
    (root / "pillar" / "top.sls").write_text("base:\n  '*':\n    - maia\n")
    conf = root / "etc" / "salt"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "minion").write_text(
        yaml.safe_dump(
            {
                "id": "maia-node-0",
                "file_client": "local", **SKIP_MACHINE_GRAINS,
                "root_dir": str(root / "salt"),
                "file_roots": {"base": [str(REPO / "formulas")]},
                "extension_modules": synced_extension_modules(root / "salt"),
                "pillar_roots": {"base": [str(root / "pillar")]},
                "log_file": str(root / "salt" / "minion.log"),
                "log_level_logfile": "debug",
            }
        )
    )
    site = Site(root=root, standin=standin, pillar=base, conf=conf)
    site.write_pillar()
    return site




def sealed_snapshot(site):
    """maia_datastore.snapshot through the site's salt-call, as `maia backup` asks it, opened with
    the one-time key: (payload, {file name: bytes}, {datastore.tar.gz member: bytes}, process)."""
    from maia_salt import sealed

    private, public = sealed.keypair()
    rc, data, proc = site.salt_call("maia_datastore.snapshot", *sealed.call_args({"recipient": public}))
    assert rc == 0 and set(data) == {"epk", "nonce", "sealed"}, proc.stdout[-2000:] + proc.stderr[-2000:]
    payload = json.loads(sealed.open_bundle(private, data))
    files = {name: base64.b64decode(value) for name, value in payload["files"].items()}
    with tarfile.open(fileobj=io.BytesIO(files["datastore.tar.gz"]), mode="r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    return payload, files, members, proc
