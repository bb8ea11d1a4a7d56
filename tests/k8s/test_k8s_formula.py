"""maia.k8s converges on one control-plane host: real salt-call --local state runs.

STAND-INS: MicroK8s stand-in (snap/microk8s executables, snap tree in a
temporary root) and Kubernetes API stand-in, because this machine can run
neither snapd/MicroK8s nor a kube-apiserver (see docs/standins.md). With
MAIA_E2E_KUBECONFIG the API checks run against that real cluster.
"""
import base64
import stat

import pytest
import yaml

from k8s.conftest import site_for
from k8s.harness import (
    ARGOCD_FILE,
    ARGOCD_PASSWORD,
    argocd_manifest,
    changed_ids,
    failed,
)

OIDC = {
    "--oidc-username-claim": "email",
    "--oidc-groups-claim": "groups",
    "--oidc-issuer-url": "https://iam.maia.example.test/realms/maia",
    "--oidc-client-id": "maia",
}


@pytest.fixture(scope="module")
def converged(tmp_path_factory, kube_api, release_server):
    """test=True run, first run, second run of state.apply maia.k8s on one site."""
    site = site_for(tmp_path_factory.mktemp("k8s") / "site", kube_api, release_server)
    runs = {}
    for label, test in (("test", True), ("first", False)):
        rc, data, proc = site.apply(test=test)
        assert data is not None, proc.stderr[-2000:]
        runs[label] = (rc, data, proc)
    site.starts_after_first = site.standin.state()["starts"]
    site.calls_after_first = len(site.standin.calls())
    rc, data, proc = site.apply()
    runs["second"] = (rc, data, proc)
    site.runs_by_label = runs
    return site


def test_first_run_succeeds(converged):
    rc, data, _ = converged.runs_by_label["first"]
    assert failed(data) == {}
    assert rc == 0


def test_test_mode_predicts_first_run(converged):
    rc, predicted, _ = converged.runs_by_label["test"]
    _, applied, _ = converged.runs_by_label["first"]
    assert rc == 0 and failed(predicted) == {}
    assert changed_ids(predicted) == changed_ids(applied)
    assert all(v["result"] is None for v in predicted.values() if v["changes"])


def test_second_run_has_no_changes_and_no_restart(converged):
    rc, data, _ = converged.runs_by_label["second"]
    assert rc == 0
    assert changed_ids(data) == set()
    state = converged.standin.state()
    assert state["starts"] == converged.starts_after_first
    later = [c["args"] for c in converged.standin.calls()[converged.calls_after_first:]]
    assert not [a for a in later if a[:1] in (["stop"], ["start"], ["enable"], ["install"])], later


def test_launch_config_was_in_place_before_the_snap_install(converged):
    seen = converged.standin.state()["launch_config_at_install"]
    assert seen is not None, "the launch config did not exist when `snap install` ran"
    config = yaml.safe_load(seen)
    assert config["version"] == "0.2.0"
    assert "maia.example.test" in config["extraSANs"]
    assert {"name": "dns"} in config["addons"]


def test_snap_installed_classic_on_pinned_channel_and_held(converged):
    calls = [c["args"] for c in converged.standin.calls() if c["cmd"] == "snap"]
    assert ["install", "microk8s", "--channel=1.34/stable", "--classic"] in calls
    assert ["refresh", "--hold", "microk8s"] in calls
    snap = converged.standin.state()["snaps"]["microk8s"]
    assert snap["channel"] == "1.34/stable" and snap["classic"] and snap["held"]


def test_addons_enabled_once(converged):
    enables = [c["args"] for c in converged.standin.calls() if c["args"][:1] == ["enable"]]
    assert sorted(enables) == [["enable", "hostpath-storage"], ["enable", "rbac"]]
    assert converged.standin.state()["addons"]["rbac"] is True


def test_oidc_lines_once_each(converged):
    lines = converged.standin.apiserver_args_file().read_text().splitlines()
    wanted = dict(OIDC, **{"--oidc-ca-file": f"{converged.standin.snap_root}/microk8s/current/certs/ca.crt"})
    for flag, value in wanted.items():
        assert [ln for ln in lines if ln.startswith(flag + "=")] == [f"{flag}={value}"]
    assert "--secure-port=16443" in lines  # other lines kept


def test_microk8s_restarted_once_for_oidc(converged):
    assert converged.standin.state()["stops"] == 1


def test_kubeconfig_and_ca_exported_0600(converged):
    folder = converged.config_folder
    kubeconfig = folder / "maia-test-kubeconfig.yaml"
    ca = folder / "ca.crt"
    for path in (kubeconfig, ca, converged.kubeconfig):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    cfg = yaml.safe_load(kubeconfig.read_text())
    assert cfg["clusters"][0]["cluster"]["server"] == "https://198.18.0.11:16443"
    assert ca.read_text() == converged.standin.state()["ca"]["ca.crt"]
    # the minion's own kubeconfig keeps the server `microk8s config` prints
    own = yaml.safe_load(converged.kubeconfig.read_text())
    assert own["clusters"][0]["cluster"]["server"] == converged.standin.state()["api"]["server"]


def test_node_labeled_control_plane(converged, kube_api):
    node = kube_api.get_object("v1", "Node", "maia-node-0")
    labels = node["metadata"]["labels"]
    assert labels["node-role.kubernetes.io/control-plane"] == ""
    assert labels["node-role.kubernetes.io/master"] == ""


def test_ca_secret_and_configmap(converged, kube_api):
    ca = converged.standin.state()["ca"]
    secret = kube_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager")
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.crt"]).decode() == ca["ca.crt"]
    assert base64.b64decode(secret["data"]["tls.key"]).decode() == ca["ca.key"]
    cm = kube_api.get_object("v1", "ConfigMap", "internal-ca", "istio-system")
    assert cm["data"]["ca.pem"] == ca["ca.crt"]
    for ns in ("cert-manager", "istio-system"):
        assert kube_api.get_object("v1", "Namespace", ns) is not None


def test_argocd_manifest_objects_exist(converged, kube_api):
    docs = [d for d in yaml.safe_load_all(argocd_manifest()[0].read_text()) if d]
    missing = []
    for doc in docs:
        namespaced = doc["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding")
        ns = "argocd" if namespaced else None
        if kube_api.get_object(doc["apiVersion"], doc["kind"], doc["metadata"]["name"], ns) is None:
            missing.append(f"{doc['kind']} {doc['metadata']['name']}")
    assert missing == []
    crd = kube_api.get_object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "applications.argoproj.io")
    assert {"type": "Established", "status": "True"}.items() <= {
        k: v for c in crd["status"]["conditions"] if c["type"] == "Established" for k, v in c.items()
    }.items()


def test_argocd_manifest_fetched_from_the_configured_url_only(converged, release_server):
    from k8s.harness import _QuietHandler

    assert f"/{ARGOCD_FILE}" in _QuietHandler.requests
    assert set(_QuietHandler.requests) == {f"/{ARGOCD_FILE}"}


def test_argocd_admin_password_is_bcrypt_2a_of_the_password(converged, kube_api):
    import bcrypt

    secret = kube_api.get_object("v1", "Secret", "argocd-secret", "argocd")
    hashed = base64.b64decode(secret["data"]["admin.password"]).decode()
    assert hashed.startswith("$2a$")
    assert bcrypt.checkpw(ARGOCD_PASSWORD.encode(), hashed.encode())
    assert base64.b64decode(secret["data"]["admin.passwordMtime"]).decode().endswith("Z")


def test_argocd_service_account_bound_to_admin(converged, kube_api):
    assert kube_api.get_object("v1", "ServiceAccount", "argocd-sa", "argocd") is not None
    rb = kube_api.get_object("rbac.authorization.k8s.io/v1", "RoleBinding", "argocd-sa-admin", "argocd")
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "argocd-sa", "namespace": "argocd"}]


def test_no_secret_in_output_or_log(converged):
    ca_key_body = converged.standin.state()["ca"]["ca.key"].splitlines()[1]
    bcrypt_hash = converged.pillar["maia"]["env"]["argocd_bcrypt_password"]
    token = converged.standin.state()["api"]["token"]
    texts = [p.stdout + p.stderr for _, _, p in converged.runs_by_label.values()]
    texts.append(converged.log_text())
    for text in texts:
        for secret in (ca_key_body, ARGOCD_PASSWORD, bcrypt_hash, token):
            assert secret not in text


def test_stopped_microk8s_is_started_by_a_rerun_and_only_then(fresh_api, new_site):
    """A MicroK8s stopped by hand (`microk8s stop`) is started again by the next run
    (`microk8s start`, one change), predicted under test=True; the run after that
    starts nothing. A running MicroK8s gets no start (test_second_run_has_no_changes...).
    STAND-IN: the MicroK8s stand-in's stop/start/status behave as the real CLI's."""
    import subprocess

    site = new_site(fresh_api, {"maia": {"k8s": {"install_argocd": False}}})
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    microk8s = str(site.standin.host_path(site.standin.microk8s_cmd))
    subprocess.run([microk8s, "stop"], check=True, capture_output=True)
    assert subprocess.run([microk8s, "status"], capture_output=True).returncode != 0
    starts = site.standin.state()["starts"]

    rc, predicted, _ = site.apply(test=True)
    assert rc == 0, failed(predicted)
    assert changed_ids(predicted) == {"maia-k8s-microk8s-ready"}
    ready = next(v for v in predicted.values() if v["__id__"] == "maia-k8s-microk8s-ready")
    assert ready["result"] is None and ready["changes"] == {"microk8s": {"old": "stopped", "new": "running"}}
    assert site.standin.state()["starts"] == starts and not site.standin.state()["running"]

    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    assert changed_ids(data) == {"maia-k8s-microk8s-ready"}
    assert site.standin.state()["running"] and site.standin.state()["starts"] == starts + 1

    calls = len(site.standin.calls())
    rc, data, _ = site.apply()
    assert rc == 0 and changed_ids(data) == set()
    assert not [c for c in site.standin.calls()[calls:] if c["args"][:1] in (["start"], ["stop"])]


def test_stage2_extra_commands_run_on_the_control_plane_host(fresh_api, new_site, tmp_path):
    """maia:k8s:argocd:extra_commands run inside stage 2's state run on the control-plane host
    (here the salt-call --local 'host'), after ArgoCD, with KUBECONFIG = maia:kubeconfig (the
    host's kubeconfig, not the controller's copy in CONFIG_FOLDER); `unless` makes them
    idempotent. maia:core:extra_commands run on the controller instead
    (tests/k8s/test_core_extra_commands.py). STAND-INS: MicroK8s and Kubernetes API."""
    marker = tmp_path / "stage2-ran"
    site = new_site(fresh_api, {"maia": {"k8s": {"enable_ca": False, "argocd": {"extra_commands": [
        {"name": f"sh -c 'echo \"$KUBECONFIG\" > {marker}'", "unless": f"test -e {marker}"}]}}}})
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    assert marker.read_text().strip() == str(site.kubeconfig)
    assert marker.read_text().strip() != str(site.config_folder / "maia-test-kubeconfig.yaml")
    order = sorted(data.values(), key=lambda v: v["__run_num__"])
    ids = [v["__id__"] for v in order]
    assert ids.index("maia-k8s-argocd-extra-command-1") > ids.index("maia-k8s-argocd-service-account-admin-bound")
    rc, data, _ = site.apply()
    assert rc == 0 and changed_ids(data) == set()


def test_a_proxy_reaches_microk8s_containerd_and_a_removal_restarts_once(fresh_api, new_site):
    """proxy_ip and no_proxy_ips of the cluster YAML on a MicroK8s site: maia-salt's marked block in
    args/containerd-env (the snap's own lines kept) gives containerd the proxy, with NO_PROXY
    holding MicroK8s' pod and service networks (10.1.0.0/16, 10.152.183.0/24); MicroK8s restarts
    once and starts with it, predicted under test=True; a re-run changes nothing; without proxy_ip
    the block goes (markers too) and MicroK8s restarts once more.
    STAND-IN: the MicroK8s stand-in ships the snap's containerd-env and records what its start read."""
    site = new_site(fresh_api, {"maia": {"k8s": {"install_argocd": False, "enable_ca": False}}})
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    env_file = site.standin.host_path(f"{site.standin.snap_root}/microk8s/current/args/containerd-env")
    shipped = env_file.read_text()
    assert "ulimit -n 65536 || true" in shipped and "HTTPS_PROXY" not in site.standin.state()["containerd_env_at_start"]
    starts = site.standin.state()["starts"]
    proxy_ids = {"maia-k8s-microk8s-proxy-environment", "maia-k8s-microk8s-proxy-restarted-when-changed"}

    site.write_pillar({"maia": {"cluster": {"proxy_ip": "10.253.254.250", "no_proxy_ips": "10.0.0.0/8"}}})
    try:
        rc, predicted, _ = site.apply(test=True)
        assert rc == 0 and changed_ids(predicted) == proxy_ids, failed(predicted)
        assert site.standin.state()["starts"] == starts and env_file.read_text() == shipped
        rc, data, _ = site.apply()
        assert rc == 0 and changed_ids(data) == proxy_ids, failed(data)
        state = site.standin.state()
        assert state["starts"] == starts + 1
        env = state["containerd_env_at_start"]
        assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://10.253.254.250:3130"
        no_proxy = env["NO_PROXY"].split(",")
        assert no_proxy[:4] == ["localhost", "127.0.0.1", "10.253.254.250", "10.0.0.0/8"]
        assert {"10.1.0.0/16", "10.152.183.0/24", ".svc", ".cluster.local"} <= set(no_proxy)
        assert env_file.read_text().startswith(shipped)
        rc, data, _ = site.apply()
        assert rc == 0 and changed_ids(data) == set() and site.standin.state()["starts"] == starts + 1
    finally:
        for key in ("proxy_ip", "no_proxy_ips"):
            site.pillar["maia"]["cluster"].pop(key, None)
        site.write_pillar()
    rc, data, _ = site.apply()
    assert rc == 0 and changed_ids(data) == proxy_ids, failed(data)
    assert env_file.read_text() == shipped and site.standin.state()["starts"] == starts + 2
    assert "HTTPS_PROXY" not in site.standin.state()["containerd_env_at_start"]
