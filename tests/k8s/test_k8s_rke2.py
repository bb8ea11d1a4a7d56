"""maia.k8s with K8S_DISTRIBUTION=rke2 converges on one control-plane host: real salt-call --local runs.

STAND-INS (docs/standins.md): rke2 cannot run on this machine, so the rke2 stand-in
(``maia_lab.standins.rke2``) is the release tarball the formula downloads (served from a local
folder with its ``sha256sum-amd64.txt``, checked by ``file.managed`` as the real release is, then
unpacked by the formula) and the ``systemctl`` of this host without systemd. Its start reads
``config.yaml`` as rke2 does, writes rke2's files (server CA, ``rke2.yaml``, its kubectl) and
registers the Node in the Kubernetes API stand-in with the server's arguments. With
MAIA_E2E_KUBECONFIG the API side is that real cluster.
"""
import base64
import json
import os
import stat
import sys

import pytest
import yaml

from k8s.conftest import site_for
from k8s.harness import changed_ids, failed
from maia_lab.standins import rke2 as rke2_standin

# written by hand on the host before maia-salt runs: must survive (the old OIDC value is replaced)
SITE_CONFIG = {"cni": "calico", "kube-apiserver-arg": ["audit-log-maxage=30", "oidc-client-id=old-client"]}


@pytest.fixture(scope="module")
def rke2(tmp_path_factory, kube_api, release_server):
    """test=True run, first run, second run of state.apply maia.k8s on an rke2 site whose
    config.yaml already holds settings of its own; then bin/rke2 changed by hand and a third run."""
    root = tmp_path_factory.mktemp("rke2") / "site"
    site = site_for(root, kube_api, release_server, {"maia": {"cluster": {"k8s_distribution": "rke2"}}})
    ca = (kube_api.ca_cert_pem, kube_api.ca_key_pem) if getattr(kube_api, "ca_cert_pem", None) else None
    site.rke2 = rke2_standin.install(kube_api.kubeconfig_text(), root / "rke2-release", fs_root="/",
                                     prefix=str(root), ca=ca, python=sys.executable)
    # no pinned sha256: the formula checks the tarball against the release's sha256sum-amd64.txt
    release = site.rke2.pillar["maia"]["k8s"]["rke2"]["release"]
    site.write_pillar({"maia": {"k8s": {"rke2": {**site.rke2.pillar["maia"]["k8s"]["rke2"],
                                                 "release": {"url": release["url"], "sha256": ""}}}}})
    site.rke2.config_file().parent.mkdir(parents=True)
    site.rke2.config_file().write_text(yaml.safe_dump(SITE_CONFIG))
    site.results = {}
    for label, test in (("test", True), ("first", False), ("second", False)):
        rc, data, proc = site.apply(test=test)
        assert data is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
        site.results[label] = (rc, data, site.rke2.state())
    binary = site.rke2.host_path(site.rke2.paths["bin"])
    binary.write_text(binary.read_text() + "# changed by hand\n")
    rc, data, proc = site.apply()
    site.results["tampered"] = (rc, data, site.rke2.state())
    return site


def test_first_run_unpacks_the_release_and_starts_rke2_once_with_oidc(rke2):
    rc, data, state = rke2.results["first"]
    assert rc == 0 and failed(data) == {}
    assert (state["starts"], state["restarts"], state["enabled"], state["active"]) == (1, 0, True, True)
    root = rke2.root
    assert stat.S_IMODE(os.stat(root / "usr/local/bin/rke2").st_mode) == 0o755
    assert (root / "usr/local/lib/systemd/system/rke2-server.service").is_file()
    settings = state["settings_at_start"]
    assert settings["disable"] == ["rke2-ingress-nginx"] and settings["cni"] == "calico"
    assert settings["kube-apiserver-arg"] == [
        "audit-log-maxage=30", "oidc-client-id=maia", "oidc-issuer-url=https://iam.maia.example.test/realms/maia",
        "oidc-username-claim=email", "oidc-groups-claim=groups",
        f"oidc-ca-file={root}/var/lib/rancher/rke2/server/tls/server-ca.crt"]
    assert settings["tls-san"] == ["maia.example.test", "198.18.0.11"]
    assert stat.S_IMODE(os.stat(rke2.rke2.config_file()).st_mode) == 0o600


def test_test_mode_predicts_the_first_run(rke2):
    rc, predicted, state = rke2.results["test"]
    assert rc == 0 and failed(predicted) == {} and state["starts"] == 0
    assert changed_ids(predicted) == changed_ids(rke2.results["first"][1])


def test_second_run_changes_nothing_and_restarts_nothing(rke2):
    rc, data, state = rke2.results["second"]
    assert rc == 0 and failed(data) == {} and changed_ids(data) == set()
    assert (state["starts"], state["restarts"]) == (1, 0)


def test_a_release_file_changed_by_hand_is_unpacked_again_and_rke2_restarts_once(rke2):
    rc, data, state = rke2.results["tampered"]
    assert rc == 0 and failed(data) == {}
    assert changed_ids(data) == {"maia-k8s-rke2-release-unpacked", "maia-k8s-rke2-running"}
    unpacked = next(v for v in data.values() if v["__id__"] == "maia-k8s-rke2-release-unpacked")
    assert unpacked["changes"]["files"]["new"] == ["bin/rke2"]
    assert "# changed by hand" not in (rke2.root / "usr/local/bin/rke2").read_text()
    assert (state["starts"], state["restarts"]) == (2, 1)


def test_node_export_and_ca_secret_from_rke2_server_tls(rke2, kube_api):
    node = kube_api.get_object("v1", "Node", "maia-node-0")
    assert node is not None
    args = json.loads(node["metadata"]["annotations"]["rke2.io/node-args"])
    assert "oidc-client-id=maia" in args and args[args.index("--disable") + 1] == "rke2-ingress-nginx"
    exported = yaml.safe_load((rke2.config_folder / "maia-test-kubeconfig.yaml").read_text())
    assert [c["cluster"]["server"] for c in exported["clusters"]] == ["https://198.18.0.11:6443"]
    ca = (rke2.config_folder / "ca.crt").read_text()
    assert ca == (rke2.root / "var/lib/rancher/rke2/server/tls/server-ca.crt").read_text()
    secret = kube_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager")
    assert base64.b64decode(secret["data"]["tls.crt"]).decode() == ca
    key = rke2.rke2.state()["ca"]["key"].splitlines()[1]
    token = rke2.rke2.state()["api"]["token"]
    text = "".join(p.stdout + p.stderr for p in rke2.runs) + rke2.log_text()
    assert key not in text and token not in text


def test_clean_stops_rke2_and_removes_what_the_install_wrote(rke2, kube_api):
    """maia.k8s.clean (last: it takes the module's site apart): the OIDC entries leave config.yaml
    first, then rke2-server is stopped and disabled and what the tarball unpacked, the cached
    tarball, settings, data and the kubeconfig files are removed."""
    rc, data, proc = rke2.apply(sls="maia.k8s.clean")
    assert rc == 0 and failed(data) == {}, proc.stdout[-2000:]
    state = rke2.rke2.state()
    assert (state["active"], state["enabled"]) == (False, False)
    for path in ("usr/local/bin/rke2", "usr/local/lib/systemd/system/rke2-server.service", "usr/local/share/rke2",
                 "var/cache/maia/rke2-v1.34.2+rke2r1.linux-amd64.tar.gz", "etc/rancher/rke2/config.yaml",
                 "etc/rancher/rke2/rke2.yaml", "var/lib/rancher/rke2", "config/maia-test-kubeconfig.yaml",
                 "config/ca.crt"):
        assert not (rke2.root / path).exists(), path
    assert kube_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager") is None
