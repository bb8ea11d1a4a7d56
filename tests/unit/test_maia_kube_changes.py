"""What the object states of _states/maia_k8s.py report and apply (_utils/maia_kube_changes.py):
the files a Secret or ConfigMap is made of, their manifests, changes without values."""
import base64
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_kube_changes as changes  # noqa: E402


def test_files_become_a_secret_or_a_configmap_and_a_missing_one_is_named(tmp_path):
    (tmp_path / "ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    files = {"tls.crt": str(tmp_path / "ca.crt"), "tls.key": str(tmp_path / "nowhere.key")}
    data, missing = changes.read_files(files)
    assert data == {"tls.crt": b"-----BEGIN CERTIFICATE-----\n"}
    assert missing == [f"tls.key ({tmp_path / 'nowhere.key'})"]

    secret = changes.secret_manifest("kubernetes-ca", "cert-manager", data, "kubernetes.io/tls", {"a": "b"})
    assert secret == {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                      "metadata": {"name": "kubernetes-ca", "namespace": "cert-manager", "labels": {"a": "b"}},
                      "data": {"tls.crt": base64.b64encode(data["tls.crt"]).decode()}}
    assert "labels" not in changes.secret_manifest("s", "ns", data)["metadata"]
    assert changes.secret_manifest("s", "ns", data)["type"] == "Opaque"
    configmap = changes.configmap_manifest("kube-root-ca", "maia", data)
    assert configmap == {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "kube-root-ca", "namespace": "maia"},
                         "data": {"tls.crt": "-----BEGIN CERTIFICATE-----\n"}}
    assert changes.ident(configmap) == "ConfigMap maia/kube-root-ca"


def test_changes_name_fields_never_values():
    assert changes.created("Secret ns/s") == {"Secret ns/s": {"old": None, "new": "present"}}
    assert changes.updated(["data.tls.key"]) == {"data.tls.key": {"old": "<differs>", "new": "<applied>"}}
    ret = {"name": "m", "changes": {}, "result": True, "comment": ""}
    changes.applied(ret, {"created": ["Namespace maia"], "changed": ["spec.replicas"]}, "2 objects", True)
    assert ret == {"name": "m", "result": None, "comment": "2 objects: 1 would be created, 1 updated",
                   "changes": {"Namespace maia": {"old": None, "new": "present"},
                               "spec.replicas": {"old": "<differs>", "new": "<applied>"}}}
