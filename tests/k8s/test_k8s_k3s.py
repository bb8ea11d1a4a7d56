"""maia.k8s with K8S_DISTRIBUTION=k3s converges on one control-plane host: real salt-call --local runs.

STAND-INS (docs/standins.md): k3s cannot run on this machine, so the k3s stand-in
(``maia_lab.standins.k3s``) is the release binary the formula downloads (served from a
local folder with its sha256, checked by ``file.managed`` as the real release is) and the
``systemctl`` of this host without systemd; it registers the Node, with the server's
arguments in the ``k3s.io/node-args`` annotation as k3s does, in the Kubernetes API
stand-in. With MAIA_E2E_KUBECONFIG the API side is that real cluster (the stand-in-only
checks of the Node and the restarts then read the stand-in's own state).
"""
import json
import os
import sqlite3
import stat
import sys

import pytest
import yaml

from k8s.conftest import site_for
from k8s.harness import changed_ids, failed, sealed_snapshot
from maia_lab.standins import k3s as k3s_standin

OIDC_ARGS = [
    "oidc-issuer-url=https://iam.maia.example.test/realms/maia",
    "oidc-client-id=maia",
    "oidc-username-claim=email",
    "oidc-groups-claim=groups",
]
# written by hand on the host before maia-salt runs: must survive
SITE_SETTINGS = {
    "node-label": ["gpu=true"],
    "kube-apiserver-arg": ["audit-log-maxage=30", "oidc-client-id=old-client"],
}


def k3s_site(root, api, release_server):
    site = site_for(root, api, release_server, {"maia": {"cluster": {"k8s_distribution": "k3s"}}})
    ca = (api.ca_cert_pem, api.ca_key_pem) if getattr(api, "ca_cert_pem", None) else None
    standin = k3s_standin.install(api.kubeconfig_text(), root / "k3s-release", fs_root="/", prefix=str(root),
                                  ca=ca, python=sys.executable)
    site.k3s = standin
    site.write_pillar(standin.pillar)
    return site


@pytest.fixture(scope="module")
def k3s(tmp_path_factory, kube_api, release_server):
    """test=True run, first run, second run of state.apply maia.k8s on a k3s site whose
    config.yaml already holds settings of its own."""
    site = k3s_site(tmp_path_factory.mktemp("k3s") / "site", kube_api, release_server)
    config = site.k3s.config_file()
    config.parent.mkdir(parents=True)
    config.write_text(yaml.safe_dump(SITE_SETTINGS))
    runs = {}
    for label, test in (("test", True), ("first", False), ("second", False)):
        rc, data, proc = site.apply(test=test)
        assert data is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
        runs[label] = (rc, data)
        if label == "first":
            site.state_after_first = site.k3s.state()
    site.runs_by_label = runs
    return site


def test_first_run_converges_and_starts_k3s_once(k3s):
    rc, data = k3s.runs_by_label["first"]
    assert failed(data) == {} and rc == 0
    state = k3s.state_after_first
    assert state["active"] and state["enabled"]
    assert (state["starts"], state["restarts"]) == (1, 0)  # settings written before the one start
    assert "maia-k8s-k3s-running" in changed_ids(data)


def test_test_mode_predicts_the_first_run(k3s):
    rc, predicted = k3s.runs_by_label["test"]
    _, applied = k3s.runs_by_label["first"]
    assert rc == 0 and failed(predicted) == {}
    assert changed_ids(predicted) == changed_ids(applied)
    assert all(v["result"] is None for v in predicted.values() if v["changes"])


def test_second_run_changes_nothing_and_restarts_nothing(k3s):
    rc, data = k3s.runs_by_label["second"]
    assert rc == 0 and failed(data) == {}
    assert changed_ids(data) == set()
    state = k3s.k3s.state()
    assert (state["starts"], state["restarts"]) == (1, 0)


def test_binary_is_the_checked_release(k3s):
    binary = k3s.root / "usr" / "local" / "bin" / "k3s"
    assert binary.read_bytes() == (k3s.k3s.release_dir / "k3s").read_bytes()
    assert os.stat(binary).st_mode & 0o777 == 0o755
    unit = (k3s.root / "etc" / "systemd" / "system" / "k3s.service").read_text()
    assert f"ExecStart={binary} server --config {k3s.k3s.config_file()}" in unit


def test_settings_merged_not_replaced(k3s):
    settings = yaml.safe_load(k3s.k3s.config_file().read_text())
    assert settings["node-label"] == ["gpu=true"]
    assert settings["disable"] == ["traefik"]
    assert settings["tls-san"] == ["maia.example.test", "198.18.0.11"]
    assert settings["write-kubeconfig-mode"] == "0600"
    ca_file = f"oidc-ca-file={k3s.root}/var/lib/rancher/k3s/server/tls/server-ca.crt"
    # the site's own argument kept in place, the old client id replaced, not added
    assert settings["kube-apiserver-arg"] == ["audit-log-maxage=30", "oidc-client-id=maia",
                                              OIDC_ARGS[0], *OIDC_ARGS[2:], ca_file]
    assert stat.S_IMODE(os.stat(k3s.k3s.config_file()).st_mode) == 0o600


def test_cluster_sees_oidc_flags_and_traefik_disabled(k3s, kube_api):
    node = kube_api.get_object("v1", "Node", "maia-node-0")
    args = json.loads(node["metadata"]["annotations"]["k3s.io/node-args"])
    for arg in OIDC_ARGS:
        assert arg in args[args.index(arg) - 1:] and args[args.index(arg) - 1] == "--kube-apiserver-arg"
    assert args[args.index("traefik") - 1] == "--disable"


def test_export_has_the_api_address_and_the_k3s_ca(k3s, kube_api):
    exported = k3s.config_folder / "maia-test-kubeconfig.yaml"
    kubeconfig = yaml.safe_load(exported.read_text())
    assert [c["cluster"]["server"] for c in kubeconfig["clusters"]] == ["https://198.18.0.11:6443"]
    ca = (k3s.config_folder / "ca.crt").read_text()
    assert ca == k3s.k3s.state()["ca"]["crt"]
    for path in (exported, k3s.config_folder / "ca.crt", k3s.kubeconfig):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret = kube_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager")
    import base64

    assert base64.b64decode(secret["data"]["tls.crt"]).decode() == ca


def test_a_changed_setting_restarts_k3s_once(k3s):
    k3s.write_pillar({"maia": {"k8s": {"k3s": {"settings": {"node-label": ["maia.io/site=test"]}}}}})
    try:
        rc, predicted, _ = k3s.apply(test=True)
        assert rc == 0 and "maia-k8s-k3s-running" in changed_ids(predicted)
        assert k3s.k3s.state()["restarts"] == 0
        rc, data, _ = k3s.apply()
        assert rc == 0 and failed(data) == {}
        assert changed_ids(data) == {"maia-k8s-k3s-settings-merged", "maia-k8s-k3s-running"}
        assert yaml.safe_load(k3s.k3s.config_file().read_text())["node-label"] == ["gpu=true", "maia.io/site=test"]
        assert k3s.k3s.state()["restarts"] == 1
        rc, data, _ = k3s.apply()
        assert changed_ids(data) == set() and k3s.k3s.state()["restarts"] == 1
    finally:
        k3s.pillar["maia"]["k8s"]["k3s"].pop("settings", None)
        k3s.write_pillar()


def test_a_proxy_reaches_the_k3s_service_and_restarts_it_once(k3s):
    """proxy_ip and no_proxy_ips of the cluster YAML: the service's environment file (which the
    unit reads) holds the proxy and what bypasses it, k3s restarts once; removing proxy_ip
    removes the file and restarts it again."""
    env_file = k3s.root / "etc" / "systemd" / "system" / "k3s.service.env"
    restarts = k3s.k3s.state()["restarts"]
    k3s.write_pillar({"maia": {"cluster": {"proxy_ip": "10.253.254.250", "no_proxy_ips": "10.0.0.0/8"}}})
    try:
        rc, data, _ = k3s.apply()
        assert rc == 0 and failed(data) == {}
        assert changed_ids(data) == {"maia-k8s-k3s-proxy-environment", "maia-k8s-k3s-running"}
        lines = env_file.read_text().splitlines()
        assert "HTTPS_PROXY=http://10.253.254.250:3130" in lines
        no_proxy = next(line for line in lines if line.startswith("NO_PROXY=")).split("=", 1)[1].split(",")
        assert no_proxy[:4] == ["localhost", "127.0.0.1", "10.253.254.250", "10.0.0.0/8"]
        assert {"10.42.0.0/16", "10.43.0.0/16", ".svc", ".cluster.local"} <= set(no_proxy)
        assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
        assert k3s.k3s.state()["restarts"] == restarts + 1
    finally:
        for key in ("proxy_ip", "no_proxy_ips"):
            k3s.pillar["maia"]["cluster"].pop(key, None)
        k3s.write_pillar()
    rc, data, _ = k3s.apply()
    assert changed_ids(data) == {"maia-k8s-k3s-proxy-environment", "maia-k8s-k3s-running"}
    assert not env_file.exists() and k3s.k3s.state()["restarts"] == restarts + 2


def test_the_datastore_snapshot_holds_the_sqlite_datastore_token_and_ca_k3s_keeps(k3s, tmp_path):
    """maia_datastore.snapshot through salt-call, as `maia backup` asks it, on what the k3s stand-in's
    starts left in its data dir: its SQLite datastore (one revision of the Node's key per start),
    its token and its server CA, handed over sealed to the caller's key."""
    payload, files, members, _proc = sealed_snapshot(k3s)
    server = k3s.k3s.host_path(k3s.k3s.paths["data_dir"]) / "server"
    state = k3s.k3s.state()
    assert payload["distribution"] == "k3s"
    assert members["server/token"] == (server / "token").read_bytes()
    assert files["ca.crt"].decode() == members["server/tls/server-ca.crt"].decode() == state["ca"]["crt"]
    assert files["ca.key"].decode() == state["ca"]["key"]
    copy = tmp_path / "state.db"
    copy.write_bytes(members["server/db/state.db"])
    keys = [row[0] for row in sqlite3.connect(copy).execute("SELECT name FROM kine ORDER BY id")]
    node = state["settings_at_start"]["node-name"]
    assert keys == [f"/registry/minions/{node}"] * state["starts"], (state["starts"], state["restarts"])


def test_no_secret_in_output_or_log(k3s):
    token = k3s.k3s.state()["api"]["token"]
    key = k3s.k3s.state()["ca"]["key"].splitlines()[1]
    text = "".join(p.stdout + p.stderr for p in k3s.runs) + k3s.log_text()
    assert token not in text and key not in text


def test_a_settings_file_that_is_no_mapping_fails_before_k3s_starts(tmp_path, fresh_api, release_server):
    """A hand-edited config.yaml that is not a YAML mapping: the settings state fails naming the
    file, the file is left as it was, and k3s is neither configured nor started."""
    site = k3s_site(tmp_path / "site", fresh_api, release_server)
    config = site.k3s.config_file()
    config.parent.mkdir(parents=True)
    config.write_text("- disable: traefik\n")
    rc, data, proc = site.apply()
    assert rc != 0 and data is not None, proc.stderr[-2000:]
    fails = failed(data)
    assert "maia-k8s-k3s-settings-merged" in fails
    assert f"{config} must hold a YAML mapping" in fails["maia-k8s-k3s-settings-merged"]
    assert config.read_text() == "- disable: traefik\n"
    state = site.k3s.state()
    assert (state["starts"], state["active"]) == (0, False)
    assert not (tmp_path / "site" / "etc" / "systemd" / "system" / "k3s.service").exists()


def test_a_release_with_another_checksum_changes_nothing(tmp_path, fresh_api, release_server):
    """The downloaded binary does not match the pinned sha256: the install stops there; no
    binary, no settings, no unit, no start."""
    site = k3s_site(tmp_path / "site", fresh_api, release_server)
    site.write_pillar({"maia": {"k8s": {"k3s": {"release": {"sha256": "0" * 64}}}}})
    rc, data, _ = site.apply()
    assert rc != 0
    assert "maia-k8s-k3s-binary-installed" in failed(data)
    root = tmp_path / "site"
    for path in ("usr/local/bin/k3s", "etc/rancher/k3s/config.yaml", "etc/systemd/system/k3s.service"):
        assert not (root / path).exists(), path
    assert site.k3s.state()["starts"] == 0
