"""saltext-kubernetes (the `kubernetes` execution module, typed client APIs) against the API stand-in.

STAND-IN: maia_lab.standins.kube_api replaces a kube-apiserver this machine
cannot run; this shows Salt's own Kubernetes module works against it, loaded by
the real Salt loader.
"""
import base64

import pytest

from maia_lab.standins.kube_api import KubeApiStandin

pytest.importorskip("saltext.kubernetes", reason="saltext-kubernetes is not installed")


@pytest.fixture(scope="module")
def kube_mods(tmp_path_factory):
    import salt.config
    import salt.loader

    root = tmp_path_factory.mktemp("minion")
    with KubeApiStandin() as api:
        opts = salt.config.minion_config(None)
        opts.update({"id": "maia-node-0", "file_client": "local", "cachedir": str(root / "cache"),
                     "pki_dir": str(root / "pki"), "kubernetes.kubeconfig": api.kubeconfig,
                     "kubernetes.context": "maia-standin"})
        yield salt.loader.minion_mods(opts), api


def test_saltext_kubernetes_crud(kube_mods):
    mods, api = kube_mods
    assert mods["kubernetes.ping"]() is True
    mods["kubernetes.create_namespace"]("skn")
    assert "skn" in mods["kubernetes.namespaces"]()
    mods["kubernetes.create_secret"]("s", "skn", data={"k": "v"})
    assert api.get_object("v1", "Secret", "s", "skn")["data"] == {"k": base64.b64encode(b"v").decode()}
    assert mods["kubernetes.show_secret"]("s", "skn", decode=True)["data"] == {"k": "v"}
    mods["kubernetes.create_configmap"]("c", "skn", data={"a": "b"})
    mods["kubernetes.replace_configmap"]("c", {"a": "c"}, namespace="skn")
    assert mods["kubernetes.show_configmap"]("c", "skn")["data"] == {"a": "c"}
    spec = {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    mods["kubernetes.create_deployment"]("d", "skn", metadata={}, spec=spec, source=None, template=None,
                                         saltenv="base")
    assert mods["kubernetes.deployments"]("skn") == ["d"]
    mods["kubernetes.delete_secret"]("s", "skn")
    assert mods["kubernetes.show_secret"]("s", "skn") is None
    counts = api.request_counts()
    assert counts["POST /api/v1/namespaces/skn/secrets"] == 1
    assert counts["POST /apis/apps/v1/namespaces/skn/deployments"] == 1
