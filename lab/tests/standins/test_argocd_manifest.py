"""The generated ArgoCD install manifest (STAND-IN for ArgoCD's release file; docs/standins.md).

The lab and the tests serve it where a site downloads ArgoCD's pinned
``install.yaml``. These tests pin what stages 2 and 3 rely on: the same bytes on
every run, the CRDs and namespace objects, and a CRD too large for a client-side
apply, so that only server-side apply gets it into a cluster (the API stand-in
enforces kube-apiserver's annotation limit).
"""
import hashlib
import json
import subprocess
import sys

import pytest
import yaml
from kubernetes import config, dynamic
from kubernetes.dynamic.exceptions import DynamicApiError

from maia_lab.standins import argocd_manifest
from maia_lab.standins.kube_api import KubeApiStandin


def test_same_bytes_on_every_run(tmp_path):
    first = argocd_manifest.write(tmp_path / "a.yaml")
    proc = subprocess.run([sys.executable, "-m", "maia_lab.standins.argocd_manifest", "-o",
                           str(tmp_path / "b.yaml")], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == first
    assert (tmp_path / "a.yaml").read_bytes() == (tmp_path / "b.yaml").read_bytes()
    assert hashlib.sha256((tmp_path / "a.yaml").read_bytes()).hexdigest() == first


def test_holds_the_objects_stages_2_and_3_use(tmp_path):
    argocd_manifest.write(tmp_path / "m.yaml")
    docs = [d for d in yaml.safe_load_all((tmp_path / "m.yaml").read_text()) if d]
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("CustomResourceDefinition", "applications.argoproj.io"),
            ("CustomResourceDefinition", "appprojects.argoproj.io"),
            ("CustomResourceDefinition", "applicationsets.argoproj.io"),
            ("Secret", "argocd-secret"), ("Deployment", "argocd-server"),
            ("StatefulSet", "argocd-application-controller"), ("ConfigMap", "argocd-cm")} <= names
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert "data" not in secret and "stringData" not in secret  # must not wipe the admin password
    assert all(d["metadata"]["labels"]["maia-salt.io/stand-in"] == "argocd-manifest" for d in docs)
    # the Application schema types the fields maia-salt writes
    app = next(d for d in docs if d["metadata"]["name"] == "applications.argoproj.io")
    spec = app["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    helm = spec["source"]["properties"]["helm"]["properties"]
    assert helm["valuesObject"]["x-kubernetes-preserve-unknown-fields"] is True
    assert spec["syncPolicy"]["properties"]["syncOptions"]["type"] == "array"


def test_applicationset_crd_needs_server_side_apply():
    crd = next(d for d in argocd_manifest.documents() if d["metadata"]["name"] == "applicationsets.argoproj.io")
    assert len(json.dumps(crd)) > argocd_manifest.ANNOTATION_LIMIT
    with KubeApiStandin() as api:
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=api.kubeconfig))
        crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
        # what `kubectl apply` (client side) sends: the object with itself in an annotation
        client_side = json.loads(json.dumps(crd))
        client_side["metadata"]["annotations"] = {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(crd)}
        with pytest.raises(DynamicApiError, match="metadata.annotations: Too long"):
            crds.create(body=client_side)
        applied = crds.server_side_apply(body=crd, name=crd["metadata"]["name"], field_manager="test")
        assert applied.metadata.name == "applicationsets.argoproj.io"
