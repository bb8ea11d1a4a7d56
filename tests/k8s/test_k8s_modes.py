"""Connect-only modes and clean.sls of maia.k8s (real salt-call --local runs).

STAND-INS: MicroK8s stand-in and Kubernetes API stand-in (this machine runs
neither snapd/MicroK8s nor a kube-apiserver, see docs/standins.md).
"""
import stat
import subprocess

import yaml

from k8s.harness import argocd_manifest, changed_ids, failed


def _preinstall_microk8s(site):
    """MicroK8s installed by someone else (the stand-in's own `snap install`)."""
    subprocess.run([site.standin.snap_cmd, "install", "microk8s", "--classic", "--channel=1.34/stable"],
                   check=True, capture_output=True)


def test_connect_to_microk8s_only_exports(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"k8s": {
        "install_microk8s": False, "connect_to_microk8s": True, "enable_oidc_microk8s": False,
        "enable_ca": False, "install_argocd": False}}})
    _preinstall_microk8s(site)
    calls_before = len(site.standin.calls())
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    assert changed_ids(data) == {
        "maia-k8s-microk8s-kubeconfig-written",
        "maia-k8s-microk8s-kubeconfig-exported",
        "maia-k8s-microk8s-ca-exported",
    }
    exported = site.config_folder / "maia-test-kubeconfig.yaml"
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    assert yaml.safe_load(exported.read_text())["clusters"][0]["cluster"]["server"] == "https://198.18.0.11:16443"
    later = [c["args"] for c in site.standin.calls()[calls_before:]]
    assert not [a for a in later if a[:1] in (["install"], ["enable"], ["stop"], ["start"], ["refresh"])]


def test_connect_to_argocd_checks_crds(fresh_api, new_site):
    site = new_site(fresh_api, {"maia": {"k8s": {
        "install_microk8s": False, "connect_to_microk8s": True, "enable_oidc_microk8s": False,
        "enable_ca": False, "install_argocd": False, "connect_to_argocd": True,
        "argocd": {"crd_timeout": 1}}}})
    _preinstall_microk8s(site)
    rc, data, _ = site.apply()
    assert rc != 0
    assert "applications.argoproj.io" in failed(data)["maia-k8s-argocd-crds-established"]

    from kubernetes import client, config

    api = client.ApiextensionsV1Api(config.new_client_from_config(config_file=fresh_api.kubeconfig))
    for doc in yaml.safe_load_all(argocd_manifest()[0].read_text()):
        if doc and doc["kind"] == "CustomResourceDefinition":
            api.create_custom_resource_definition(doc)
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)


def test_clean_undoes_the_install(fresh_api, new_site):
    site = new_site(fresh_api)
    rc, data, _ = site.apply()
    assert rc == 0, failed(data)
    rc, data, _ = site.apply("maia.k8s.clean")
    assert rc == 0, failed(data)
    assert "microk8s" not in site.standin.state()["snaps"]
    assert fresh_api.get_object("v1", "Namespace", "argocd") is None
    assert fresh_api.get_object("v1", "Secret", "kubernetes-ca", "cert-manager") is None
    assert not site.kubeconfig.exists()
    assert not (site.config_folder / "maia-test-kubeconfig.yaml").exists()
    rc, data, _ = site.apply("maia.k8s.clean")
    assert rc == 0 and changed_ids(data) == set(), failed(data)
