"""Run maia.k8s with real ``salt-call --local`` on this machine.

STAND-INS (see docs/standins.md: no snapd/MicroK8s, no kube-apiserver here):
- the MicroK8s stand-in (``maia_lab.standins.microk8s``): ``snap`` and
  ``microk8s`` executables in a temporary root, its snap tree under
  ``<root>/var/snap`` (pillar ``maia:k8s:paths:snap_root``);
- the Kubernetes API stand-in (``maia_lab.standins.kube_api``), whose
  kubeconfig is what ``microk8s config`` prints.
With ``MAIA_E2E_KUBECONFIG`` set, the API side is that real cluster instead
(the MicroK8s stand-in still emulates the host, printing that kubeconfig).

And, for the lab tests (test_k8s_lab.py over salt-ssh, test_k8s_lab_minions.py with minions): a
lab site's `maia install` of one distribution, twice, and the checks of both runs.
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
import time
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


# ---- `maia install` of one distribution on a stand-in lab host (test_k8s_lab*.py) ----------------
# STAND-INS: the k3s, k0s and rke2 stand-ins (maia_lab.standins.k3s, .k0s, .rke2) are the releases the
# lab serves beside the ArgoCD manifest (maia_lab.standins.lab); the host's own systemd runs them.

# every row of a whole install (rancher: orch.maia's Rancher step, a row of its own; dashboard:
# stage 4's second job, the admin Applications with Rancher's token, docs/admin.md)
ALL_STAGES = ("prepare", "k8s", "core", "admin", "rancher", "dashboard")
STAGE2 = ("k8s",)
# The stand-ins' services are up within a second of `systemctl start`; the formula polls for a Ready
# node 15 s apart (maia:k8s:wait_ready, sized for a real cluster), and k0scontroller is Type=simple
# (systemctl returns before the stand-in has registered its Node), so its first check failed and
# the k0s part slept 15 s. Every second here, within the same budget.
QUICK_READY = json.dumps({"maia": {"k8s": {"wait_ready": {"retries": 150, "interval": 1}}}})
# the systemd unit each distribution runs
SERVICES = {"k3s": "k3s", "k0s": "k0scontroller", "rke2": "rke2-server"}


def standin_state(lab, host, name) -> dict:
    """The state the ``name`` stand-in keeps on ``host`` (its starts, the settings it started with)."""
    return json.loads(lab.ssh(host, f"cat /var/lib/maia-standins/{name}/state.json").stdout)


def install_distribution(lab, host, name, *install_args):
    """Switch the lab site's cluster YAML to ``k8s_distribution: name`` (as a site admin does) and run
    `maia install --pillar QUICK_READY [install_args]` twice (``--ssh`` among them: over salt-ssh,
    else with the minions); the runs and the stand-in's state on ``host`` after each."""
    from support.install_output import maia_install

    cluster_yaml = Path(lab.config_folder) / f"{lab.state['cluster_name']}.yaml"
    cluster = yaml.safe_load(cluster_yaml.read_text())
    cluster_yaml.write_text(yaml.safe_dump({**cluster, "k8s_distribution": name}, sort_keys=False))

    install_args = ("--pillar", QUICK_READY, *install_args)
    started = time.monotonic()
    first = maia_install(lab, *install_args)
    after_first, seconds = standin_state(lab, host, name), [time.monotonic() - started]
    second = maia_install(lab, *install_args)
    seconds.append(time.monotonic() - started - seconds[0])
    print(f"{name} maia install {' '.join(install_args[2:])}: first run {seconds[0]:.1f} s, re-run {seconds[1]:.1f} s")
    return {"first": first, "after_first": after_first, "second": second,
            "after_second": standin_state(lab, host, name)}


def summary(run, stages=ALL_STAGES):
    """The summary's rows (stage, host) -> states/changed/failed; one per stage, on this host."""
    rows = run.summary_rows()
    assert {stage for stage, _host in rows} == set(stages), run.text
    return rows


def assert_installed_once(install, lab, host, name, stages=ALL_STAGES):
    """The first run of ``install`` (install_distribution) converged ``stages`` with 0 failed and
    changed stage 2; the distribution's service was started once, by the host's systemd, with
    maia-salt's settings (the five OIDC flags, the bundled ingress off); its unit is active and
    enabled."""
    run = install["first"]
    assert run.returncode == 0, run.text
    rows = summary(run, stages)
    assert all(r.failed == 0 for r in rows.values()) and rows[("k8s", host)].changed > 0, run.text
    state = install["after_first"]
    assert (state["starts"], state["active"]) == (1, True), state
    unit = SERVICES[name]
    shown = lab.ssh(host, f"systemctl is-active {unit}; systemctl is-enabled {unit}; "
                          f"systemctl show -P FragmentPath {unit}").stdout.split()
    assert shown[:2] == ["active", "enabled"], shown
    if name == "k0s":
        # installed once, by `k0s install controller` told the settings file; its API server's arguments
        assert state["installs"] == 1, state
        assert state["args_at_start"] == {"config": "/etc/k0s/k0s.yaml", "data-dir": "/var/lib/k0s", "single": "true"}
        oidc = [a.removeprefix("--") for a in state["apiserver_args"] if a.startswith("--oidc-")]
        assert "oidc-ca-file=/var/lib/k0s/pki/ca.crt" in oidc
    else:
        # k3s and rke2 read their settings file, with the bundled ingress disabled
        settings = state["settings_at_start"]
        oidc = [a for a in settings["kube-apiserver-arg"] if a.startswith("oidc-")]
        assert settings["disable"] == {"k3s": ["traefik"], "rke2": ["rke2-ingress-nginx"]}[name]
    if name == "rke2":
        # the unit the release tarball ships
        assert shown[2] == "/usr/local/lib/systemd/system/rke2-server.service", shown
        assert "oidc-ca-file=/var/lib/rancher/rke2/server/tls/server-ca.crt" in oidc
    assert "oidc-client-id=maia" in oidc and len(oidc) == 5, oidc


def assert_rerun_changes_nothing_and_restarts_nothing(install, stages=ALL_STAGES):
    """The re-run of ``install`` (install_distribution): the same rows, 0 changed, 0 failed, and the
    stand-in's service was not started again (nor k0s installed again)."""
    run = install["second"]
    assert run.returncode == 0, run.text
    rows = summary(run, stages)
    assert rows.keys() == summary(install["first"], stages).keys()
    assert sum(r.changed for r in rows.values()) == 0 and all(r.failed == 0 for r in rows.values()), run.text
    assert install["after_second"]["starts"] == install["after_first"]["starts"]
    if "installs" in install["after_first"]:
        assert install["after_second"]["installs"] == install["after_first"]["installs"]
