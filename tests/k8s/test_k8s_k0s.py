"""maia.k8s with K8S_DISTRIBUTION=k0s converges on one control-plane host: real salt-call --local runs.

STAND-INS (docs/standins.md): k0s cannot run on this machine, so the k0s stand-in
(``maia_lab.standins.k0s``) is the release binary the formula downloads (served from a local
folder with its sha256, checked by ``file.managed`` as the real release is) and the
``systemctl`` of this host without systemd. Its `k0s install controller` writes the unit as
k0s does, and its start reads the settings file that unit names (none named: k0s'
defaults), so the tests see whether k0s was told to read /etc/k0s/k0s.yaml. It registers the
Node in the Kubernetes API stand-in and keeps the API server's arguments in its state. With
MAIA_E2E_KUBECONFIG the API side is that real cluster.
"""
import base64
import os
import stat
import sys

import pytest
import yaml

from k8s.conftest import site_for
from k8s.harness import changed_ids, failed, sealed_snapshot
from maia_lab.standins import k0s as k0s_standin

OIDC_ARGS = ["--oidc-client-id=maia", "--oidc-groups-claim=groups",
             "--oidc-issuer-url=https://iam.maia.example.test/realms/maia", "--oidc-username-claim=email"]
# written by hand on the host before maia-salt runs: must survive
SITE_CONFIG = {"spec": {"api": {"extraArgs": {"audit-log-maxage": "30", "oidc-client-id": "old-client"}},
                        "network": {"provider": "calico"}}}


def k0s_site(root, api, release_server, site_config=None):
    """A control-plane 'host' of a k0s site, the stand-in release served, ``site_config`` in k0s.yaml."""
    site = site_for(root, api, release_server, {"maia": {"cluster": {"k8s_distribution": "k0s"}}})
    ca = (api.ca_cert_pem, api.ca_key_pem) if getattr(api, "ca_cert_pem", None) else None
    site.k0s = k0s_standin.install(api.kubeconfig_text(), root / "k0s-release", fs_root="/", prefix=str(root),
                                   ca=ca, python=sys.executable)
    site.write_pillar(site.k0s.pillar)
    if site_config is not None:
        site.k0s.config_file().parent.mkdir(parents=True)
        site.k0s.config_file().write_text(yaml.safe_dump(site_config))
    return site


def unit_of(site):
    return (site.root / "etc" / "systemd" / "system" / "k0scontroller.service").read_text()


@pytest.fixture(scope="module")
def k0s(tmp_path_factory, kube_api, release_server):
    """test=True run, first run, second run of state.apply maia.k8s on a k0s site whose k0s.yaml
    already holds settings of its own."""
    site = k0s_site(tmp_path_factory.mktemp("k0s") / "site", kube_api, release_server, SITE_CONFIG)
    site.results = {}
    for label, test in (("test", True), ("first", False), ("second", False)):
        rc, data, proc = site.apply(test=test)
        assert data is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
        site.results[label] = (rc, data, site.k0s.state())
    return site


def test_installer_is_given_the_settings_file_and_k0s_starts_once_with_it(k0s):
    rc, data, state = k0s.results["first"]
    assert rc == 0 and failed(data) == {}
    assert (state["installs"], state["starts"], state["restarts"]) == (1, 1, 0)
    assert state["enabled"] and state["active"]
    config = str(k0s.k0s.config_file())
    assert f"controller --config={config} --data-dir={k0s.root}/var/lib/k0s --single=true" in unit_of(k0s)
    assert state["args_at_start"]["config"] == config
    # the API server started with the OIDC flags (CA: k0s' own) and the site's own argument
    assert state["apiserver_args"] == ["--audit-log-maxage=30", f"--oidc-ca-file={k0s.root}/var/lib/k0s/pki/ca.crt",
                                       *OIDC_ARGS]
    assert state["sans"] == ["maia.example.test", "198.18.0.11"]


def test_test_mode_predicts_the_first_run(k0s):
    rc, predicted, state = k0s.results["test"]
    assert rc == 0 and failed(predicted) == {} and state.get("installs", 0) == 0
    assert changed_ids(predicted) == changed_ids(k0s.results["first"][1])


def test_second_run_changes_nothing_and_restarts_nothing(k0s):
    rc, data, state = k0s.results["second"]
    assert rc == 0 and failed(data) == {} and changed_ids(data) == set()
    assert (state["installs"], state["starts"], state["restarts"]) == (1, 1, 0)


def test_settings_merged_not_replaced(k0s):
    settings = yaml.safe_load(k0s.k0s.config_file().read_text())
    assert settings["kind"] == "ClusterConfig" and settings["spec"]["network"] == {"provider": "calico"}
    assert settings["spec"]["api"]["extraArgs"]["audit-log-maxage"] == "30"
    assert settings["spec"]["api"]["extraArgs"]["oidc-client-id"] == "maia"
    assert stat.S_IMODE(os.stat(k0s.k0s.config_file()).st_mode) == 0o600


def test_node_export_and_ca_secret_from_k0s_pki(k0s, kube_api):
    assert kube_api.get_object("v1", "Node", "maia-node-0") is not None
    exported = yaml.safe_load((k0s.config_folder / "maia-test-kubeconfig.yaml").read_text())
    assert [c["cluster"]["server"] for c in exported["clusters"]] == ["https://198.18.0.11:6443"]
    ca = (k0s.config_folder / "ca.crt").read_text()
    assert ca == k0s.k0s.state()["ca"]["crt"] == (k0s.root / "var/lib/k0s/pki/ca.crt").read_text()
    secret = kube_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager")
    assert base64.b64decode(secret["data"]["tls.crt"]).decode() == ca
    key = k0s.k0s.state()["ca"]["key"].splitlines()[1]
    token = k0s.k0s.state()["api"]["token"]
    text = "".join(p.stdout + p.stderr for p in k0s.runs) + k0s.log_text()
    assert key not in text and token not in text


def test_the_datastore_snapshot_is_k0s_backups_archive_with_the_ca(k0s):
    """maia_datastore.snapshot through salt-call, as `maia backup` asks it: `k0s backup` of the
    stand-in's running controller (a real gzip tar of its pki/ and the node config it started
    with), and the CA of <data dir>/pki, handed over sealed to the caller's key only."""
    payload, files, members, proc = sealed_snapshot(k0s)
    state = k0s.k0s.state()
    assert payload["distribution"] == "k0s"
    assert files["ca.crt"].decode() == members["pki/ca.crt"].decode() == state["ca"]["crt"]
    assert files["ca.key"].decode() == state["ca"]["key"]
    assert yaml.safe_load(members["k0s.yaml"]) == state["settings_at_start"]
    assert [c["args"][1] for c in k0s.k0s.calls() if c["args"][:1] == ["backup"]][-1].startswith("--save-path=")
    assert state["ca"]["key"].splitlines()[1] not in proc.stdout + proc.stderr


def test_a_proxy_reaches_k0scontroller_and_leaves_k0s_networks_alone(k0s):
    """proxy_ip and no_proxy_ips of the cluster YAML: a drop-in beside the unit k0s wrote gives
    k0scontroller (and the containerd it runs) the proxy; NO_PROXY holds the collection's list
    plus k0s' own default pod and service networks (10.244.0.0/16, 10.96.0.0/12), which the
    collection's k3s list lacks. k0s restarts once; without proxy_ip the drop-in goes and it
    restarts again."""
    drop_in = k0s.root / "etc" / "systemd" / "system" / "k0scontroller.service.d" / "maia-proxy.conf"
    restarts = k0s.k0s.state()["restarts"]
    k0s.write_pillar({"maia": {"cluster": {"proxy_ip": "10.253.254.250", "no_proxy_ips": "10.0.0.0/8"}}})
    try:
        rc, data, _ = k0s.apply()
        assert rc == 0 and failed(data) == {}
        assert changed_ids(data) == {"maia-k8s-k0s-proxy-environment", "maia-k8s-k0s-running"}
        env = dict(line[len('Environment="'):-1].split("=", 1) for line in drop_in.read_text().splitlines()
                   if line.startswith("Environment="))
        assert env["HTTPS_PROXY"] == "http://10.253.254.250:3130"
        no_proxy = env["NO_PROXY"].split(",")
        assert no_proxy[:4] == ["localhost", "127.0.0.1", "10.253.254.250", "10.0.0.0/8"]
        assert {"10.42.0.0/16", "10.43.0.0/16", ".svc", "10.244.0.0/16", "10.96.0.0/12"} <= set(no_proxy)
        assert len(no_proxy) == len(set(no_proxy))
        assert stat.S_IMODE(os.stat(drop_in).st_mode) == 0o600
        assert k0s.k0s.state()["restarts"] == restarts + 1
    finally:
        for key in ("proxy_ip", "no_proxy_ips"):
            k0s.pillar["maia"]["cluster"].pop(key, None)
        k0s.write_pillar()
    rc, data, _ = k0s.apply()
    assert changed_ids(data) == {"maia-k8s-k0s-proxy-environment", "maia-k8s-k0s-running"}
    assert not drop_in.exists() and k0s.k0s.state()["restarts"] == restarts + 2


def test_clean_stops_k0s_and_removes_what_the_install_wrote(k0s, kube_api):
    """maia.k8s.clean (last: it takes the module's site apart): the OIDC arguments leave k0s.yaml
    first, then k0scontroller is stopped and disabled and its binary, unit, settings, data and the
    kubeconfig files are removed."""
    rc, data, proc = k0s.apply(sls="maia.k8s.clean")
    assert rc == 0 and failed(data) == {}, proc.stdout[-2000:]
    state = k0s.k0s.state()
    assert (state["active"], state["enabled"]) == (False, False)
    for path in ("usr/local/bin/k0s", "etc/systemd/system/k0scontroller.service", "etc/k0s/k0s.yaml", "var/lib/k0s",
                 "config/maia-test-kubeconfig.yaml", "config/ca.crt"):
        assert not (k0s.root / path).exists(), path
    assert kube_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager") is None


def test_a_unit_installed_without_the_settings_file_is_installed_again(tmp_path, fresh_api, release_server):
    """The collection's weakness: `k0s install controller --single` without --config, so k0s never
    reads k0s.yaml. maia-salt writes the unit again with --config (--force) and restarts k0s once,
    now with the OIDC flags; the run after that changes nothing."""
    site = k0s_site(tmp_path / "site", fresh_api, release_server)
    rc, data, _ = site.apply()
    assert rc == 0 and failed(data) == {}
    unit = unit_of(site)
    (site.root / "etc/systemd/system/k0scontroller.service").write_text(
        unit.replace(f" --config={site.k0s.config_file()}", ""))
    rc, data, _ = site.apply()
    assert rc == 0 and failed(data) == {}
    assert changed_ids(data) == {"maia-k8s-k0s-unit-installed", "maia-k8s-k0s-running"}
    state = site.k0s.state()
    assert (state["installs"], state["restarts"]) == (2, 1)
    assert "--oidc-client-id=maia" in state["apiserver_args"] and unit_of(site) == unit
    assert changed_ids(site.apply()[1]) == set()


def test_a_settings_file_that_is_no_mapping_fails_before_k0s_is_installed(tmp_path, fresh_api, release_server):
    site = k0s_site(tmp_path / "site", fresh_api, release_server)
    site.k0s.config_file().parent.mkdir(parents=True)
    site.k0s.config_file().write_text("- api\n")
    rc, data, _ = site.apply()
    assert rc != 0 and f"{site.k0s.config_file()} must hold a YAML mapping" in failed(data)["maia-k8s-k0s-settings-merged"]
    assert site.k0s.config_file().read_text() == "- api\n"
    assert not (site.root / "etc/systemd/system/k0scontroller.service").exists()
    assert (site.k0s.state().get("installs", 0), site.k0s.state()["starts"]) == (0, 0)
