"""maia.k8s through salt-ssh on a real Debian host of a `maia lab` (systemd-nspawn).

STAND-INS (docs/standins.md; `maia lab up --standins`): the lab host cannot
run snapd/MicroK8s, so the MicroK8s stand-in (`snap`, `microk8s`) is installed
into it by the harness; the Kubernetes API is the API stand-in on the lab
bridge; the ArgoCD release URL is a local HTTP server on the bridge serving the
v3.5.1 manifest. Everything else is real: salt-ssh with the thin on the host's
system python3, apt (python3-kubernetes, python3-bcrypt through the lab's
proxy), files, the maia ext_pillar from the lab's CONFIG_FOLDER, and the
kubeconfig runner. Stage 1 is not applied here, so UFW rules are switched off
(`maia:prepare:ufw: false`). Then, on the same host, a k3s site through `maia install
--ssh`, stages 1-4 (UFW on): the k3s stand-in is the release the lab serves, run by the
host's own systemd; then k0s and rke2, stage 2 only (see their parts below for what covers the
other stages on them): k0s' stand-in's `k0s install controller` writes the unit, the host's
systemd runs it; rke2's release tarball is unpacked, the host's systemd runs the unit it ships.

With MAIA_E2E_ROSTER (and MAIA_E2E_SALT_CONFIG, a config dir whose master
file sets the maia ext_pillar; MAIA_E2E_TARGET, default maia-node-0) the same
salt-ssh runs go to a real MicroK8s host; stand-in-only assertions are skipped.
"""
import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from k8s.harness import (STAGE2, assert_installed_once, assert_rerun_changes_nothing_and_restarts_nothing,
                         install_distribution)
from support.states import changed_ids, failed
from support.paths import BIN

pytestmark = [pytest.mark.lab, pytest.mark.slow]

@pytest.fixture(scope="module")
def runs(target):
    out = {}
    for label, test in (("test", True), ("first", False)):
        proc, data = target.apply(test=test)
        assert data is not None and isinstance(data, dict), proc.stdout[-3000:] + proc.stderr[-3000:]
        out[label] = data
    out["restarts_after_first"] = target.standin_state()["starts"] if target.lab else None
    proc, data = target.apply()
    assert isinstance(data, dict), proc.stdout[-3000:]
    out["second"] = data
    return out


def test_first_run_converges_and_test_mode_predicted_it(runs):
    assert failed(runs["first"]) == {}
    assert failed(runs["test"]) == {}
    assert changed_ids(runs["test"]) == changed_ids(runs["first"])


def test_second_run_no_changes_no_restart(runs, target):
    assert failed(runs["second"]) == {}
    assert changed_ids(runs["second"]) == set()
    if target.lab:
        assert target.standin_state()["starts"] == runs["restarts_after_first"]


def test_snap_and_oidc_on_the_host(runs, target):
    if not target.lab:
        pytest.skip("stand-in state only exists in the lab")
    state = target.standin_state()
    assert state["snaps"]["microk8s"] == {**state["snaps"]["microk8s"], "channel": "1.34/stable",
                                          "classic": True, "held": True}
    assert "extraSANs" in (state["launch_config_at_install"] or "")
    args = target.lab.ssh(target.name, "cat /var/snap/microk8s/current/args/kube-apiserver").stdout.splitlines()
    assert "--oidc-client-id=maia" in args
    assert "--oidc-issuer-url=https://iam.maia.lab.test/realms/maia" in args
    assert len([a for a in args if a.startswith("--oidc-")]) == 5


def test_kubeconfig_and_ca_fetched_to_config_folder(runs, target):
    folder = target.config_folder()
    proc = subprocess.run(
        [str(BIN / "salt-run"), "-c", target.config_dir, "--out=json", "maia_kubeconfig.fetch_kubeconfig",
         target.name, "ssh=True", f"roster_file={target.roster}"],
        capture_output=True, text=True, timeout=300, cwd=target.config_dir,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert len(result) == 2
    for path in result:
        assert Path(path).parent == folder
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    kubeconfig = next(p for p in result if p.endswith("-kubeconfig.yaml"))
    assert "token" not in proc.stdout and "BEGIN" not in proc.stdout
    # no secret of the site (the fetched token included) in the state returns of
    # the runs, the fetch's output, or the lab master's logs and job cache
    from support.secrets import JOB_DIRS, find_secrets, site_secrets

    secrets = site_secrets(folder)
    assert any(":token" in label for label in secrets)
    places = []
    if target.lab:
        places = [Path(target.lab.path("salt", "log")), *(Path(target.lab.path("salt", "cache", d)) for d in JOB_DIRS)]
    texts = {"state returns": json.dumps({k: v for k, v in runs.items() if isinstance(v, dict)}),
             "salt-run output": proc.stdout + proc.stderr}
    assert find_secrets(secrets, places, texts) == []
    # the exported kubeconfig works from this side
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=kubeconfig)
    names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
    assert {"argocd", "cert-manager", "istio-system"} <= set(names)
    secret = client.CoreV1Api(api).read_namespaced_secret("kubernetes-ca", "cert-manager")
    ca = (folder / "ca.crt").read_text()
    assert base64.b64decode(secret.data["tls.crt"]).decode() == ca
    sa = client.CoreV1Api(api).read_namespaced_service_account("argocd-sa", "argocd")
    assert sa.metadata.name == "argocd-sa"


def test_a_control_plane_returning_an_exec_kubeconfig_runs_nothing_here(runs, target, tmp_path):
    """A compromised control plane (the lab host, over real salt-ssh) exports a kubeconfig whose
    user is an ``exec`` plugin writing a marker file. The fetch fails naming the host and the field;
    the command never ran on this machine and CONFIG_FOLDER keeps the kubeconfig fetched before.
    Lab only: it plants a file on the host (never done to a real site's MAIA_E2E_TARGET)."""
    if not target.lab:
        pytest.skip("plants a hostile kubeconfig on the host: lab only")
    from support.kubeconfigs import exec_user, kubeconfig

    folder = target.config_folder()
    name = json.loads((folder / "env.json").read_text())["cluster_name"]
    before = (folder / f"{name}-kubeconfig.yaml").read_text()
    marker = tmp_path / "marker"
    server = target.lab.state["standins_pillar"]["maia"]["k8s"]["api_server_url"]
    hostile = base64.b64encode(kubeconfig(server, user=exec_user(marker)).encode()).decode()
    target.lab.ssh(target.name, f"echo {hostile} | base64 -d > {folder}/{name}-kubeconfig.yaml")
    proc = subprocess.run(
        [str(BIN / "salt-run"), "-c", target.config_dir, "--out=json", "maia_kubeconfig.fetch_kubeconfig",
         target.name, "ssh=True", f"roster_file={target.roster}"],
        capture_output=True, text=True, timeout=300, cwd=target.config_dir,
    )
    out = proc.stdout + proc.stderr
    assert f"host {target.name}" in out and "'exec'" in out and "nothing was written" in out, out[-2000:]
    assert not marker.exists()
    assert (folder / f"{name}-kubeconfig.yaml").read_text() == before


# ---- k3s through `maia install --ssh`, on the same lab host ---------------------------------------
# STAND-IN: the k3s stand-in (maia_lab.standins.k3s) is the release binary the lab serves beside the
# ArgoCD manifest; the host's own systemd runs the unit maia-salt writes (Type=notify: the stand-in
# answers READY=1). Run after the MicroK8s tests above on the same host and API stand-in (no new lab):
# the site is switched to k3s in its cluster YAML, as a site admin does, and all four stages run.
# The same installs with minions, all stages of each distribution: test_k8s_lab_minions.py.


@pytest.fixture(scope="module")
def k3s_install(runs, target):
    if not target.lab:
        pytest.skip("the k3s stand-in is installed by the lab (MAIA_E2E_TARGET runs its own distribution)")
    from support.lab import quick_argocd_controller

    quick_argocd_controller(target.lab)
    return install_distribution(target.lab, target.name, "k3s", "--ssh")


def test_k3s_site_installs_all_stages_over_salt_ssh(k3s_install, target):
    assert_installed_once(k3s_install, target.lab, target.name, "k3s")


def test_k3s_site_rerun_changes_nothing_and_restarts_nothing(k3s_install):
    assert_rerun_changes_nothing_and_restarts_nothing(k3s_install)


# ---- k0s through `maia install --ssh --stages k8s`, on the same lab host, after k3s ----------------
# STAND-IN: the k0s stand-in (maia_lab.standins.k0s) is the release the lab serves; its `k0s install
# controller` writes k0scontroller.service and enables it through the host's own systemd, which then
# runs `k0s controller --config=...`: the stand-in reads the settings file that unit names. k3s stays
# as the k3s part left it (its stand-in holds no port a k0s stand-in needs; on a real host, switching
# distributions means `maia reset --stages k8s` first, while the site still names the old one).
# Stage 2 only (CI time), as for rke2 below: k3s ran all four stages over salt-ssh on this host just
# before, and test_k8s_lab_minions.py runs all stages of k0s and rke2 with minions; on k0s stages 1,
# 3 and 4 differ from k3s only in what the site's distribution selects, which other tests cover:
# stage 1 in the heal beacon's unit (`k0scontroller`, with maia:heal on;
# tests/prepare/test_render.py) and nothing else (the CIFS plugin folder is kubelet's default, k3s'
# too); stages 3 and 4 in the distribution table's entry, whose storage and ingress classes are
# k3s' own (`local-path`, `maia-core-traefik`) and whose GPU operator values name k0s' containerd:
# tests/core/test_maia_core_specs.py (test_distribution), tests/core/test_parity.py (site `k0s`) and
# tests/admin/test_parity.py (k0s in every TLS mode, `k0s-storage-class`) check them against the
# reference. The k0s formula itself: tests/k8s/test_k8s_k0s.py (salt-call --local).


@pytest.fixture(scope="module")
def k0s_install(k3s_install, target):
    return install_distribution(target.lab, target.name, "k0s", "--ssh", "--stages", ",".join(STAGE2))


def test_k0s_site_installs_stage2_over_salt_ssh(k0s_install, target):
    assert_installed_once(k0s_install, target.lab, target.name, "k0s", STAGE2)


def test_k0s_site_rerun_changes_nothing_and_restarts_nothing(k0s_install):
    assert_rerun_changes_nothing_and_restarts_nothing(k0s_install, STAGE2)


# ---- rke2 through `maia install --ssh --stages k8s`, on the same lab host, after k0s --------------
# STAND-IN: the rke2 stand-in (maia_lab.standins.rke2) is the release tarball the lab serves; the
# formula unpacks it into /usr/local, and the host's own systemd runs the rke2-server.service it
# ships, which reads /etc/rancher/rke2/config.yaml. k0s stays as the k0s part left it, as k3s does
# for k0s (its stand-in holds no port an rke2 stand-in needs; on a real host, switching
# distributions means `maia reset --stages k8s` first, while the site still names the old one).
# Stage 2 only (CI time), as for k0s: stage 1 ran for k3s on this host, and stages 3-4 differ on
# rke2 only in the core layer's choices (ingress-nginx instead of Traefik, ingress class `nginx`,
# its GPU operator values), which tests/core/test_maia_core_specs.py (test_distribution) and the
# parity tests of tests/core and tests/admin check per distribution; test_k8s_lab_minions.py runs
# them on rke2 with minions.


@pytest.fixture(scope="module")
def rke2_install(k0s_install, target):
    return install_distribution(target.lab, target.name, "rke2", "--ssh", "--stages", ",".join(STAGE2))


def test_rke2_site_installs_stage2_over_salt_ssh(rke2_install, target):
    assert_installed_once(rke2_install, target.lab, target.name, "rke2", STAGE2)


def test_rke2_site_rerun_changes_nothing_and_restarts_nothing(rke2_install):
    assert_rerun_changes_nothing_and_restarts_nothing(rke2_install, STAGE2)
