"""Unit tests of the Kubernetes API stand-in (maia_lab.standins.kube_api).

STAND-IN: this machine cannot run a kube-apiserver (see docs/standins.md), so
the tests of maia-salt's Kubernetes code run against this stand-in. These
tests pin the stand-in's behaviour to what a real API server does, through the
official ``kubernetes`` client (typed APIs and DynamicClient), so that code
tested against it behaves the same against a real cluster.
"""
import base64
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, ResourceNotFoundError

from maia_lab.standins.kube_api import KubeApiStandin, json_patch, merge_patch, parse_label_selector

CRD_V1 = "apiextensions.k8s.io/v1"


def _crd(group="example.maia.io", kind="Widget", plural="widgets", scope="Namespaced", status=False):
    version = {"name": "v1", "served": True, "storage": True,
               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    if status:
        version["subresources"] = {"status": {}}
    return {"apiVersion": CRD_V1, "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope, "versions": [version],
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"}}}


@pytest.fixture(scope="module")
def api():
    with KubeApiStandin() as server:
        yield server


@pytest.fixture(scope="module")
def api_client(api):
    return config.new_client_from_config(config_file=api.kubeconfig, persist_config=False)


@pytest.fixture(scope="module")
def dyn(api_client):
    return dynamic.DynamicClient(api_client)


@pytest.fixture()
def ns(dyn):
    name = f"t-{uuid.uuid4().hex[:8]}"
    dyn.resources.get(api_version="v1", kind="Namespace").create(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _text(exc):
    body = exc.body
    return body.decode() if isinstance(body, bytes) else body


def _status_body(exc):
    return json.loads(_text(exc))


def res(dyn, api_version, kind):
    return dyn.resources.get(api_version=api_version, kind=kind)


def ssa(dyn, resource, body, field_manager, **kwargs):
    """Server-side apply as JSON text: the 22.x client cannot encode a dict as apply-patch+yaml."""
    meta = body["metadata"]
    return dyn.patch(resource, body=json.dumps(body), name=meta["name"], namespace=meta.get("namespace"),
                     content_type="application/apply-patch+yaml", field_manager=field_manager, **kwargs)


# ------------------------------------------------------------------ discovery, auth, TLS


def test_discovery_documents(api_client):
    core = client.CoreApi(api_client).get_api_versions()
    assert core.versions == ["v1"]
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    for group in ("apps", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "networking.k8s.io"):
        assert group in groups
    assert groups["apps"].preferred_version.group_version == "apps/v1"
    resources = {r.name: r for r in client.CoreV1Api(api_client).get_api_resources().resources}
    assert resources["namespaces"].namespaced is False
    assert resources["namespaces"].kind == "Namespace"
    assert resources["secrets"].namespaced is True
    assert "create" in resources["secrets"].verbs and "patch" in resources["secrets"].verbs
    assert "namespaces/status" in resources
    rbac = {r.name: r for r in client.RbacAuthorizationV1Api(api_client).get_api_resources().resources}
    assert rbac["clusterroles"].namespaced is False and rbac["roles"].namespaced is True
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.")


def test_bearer_token_required(api):
    import urllib.error
    import urllib.request
    import ssl

    ctx = ssl.create_default_context(cafile=str(api.tls_dir / "ca.crt"))
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        req = urllib.request.Request(api.url + "/api/v1/namespaces", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, context=ctx)
        assert info.value.code == 401
        body = json.loads(info.value.read())
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
    req = urllib.request.Request(api.url + "/api/v1/namespaces", headers={"Authorization": f"Bearer {api.token}"})
    with urllib.request.urlopen(req, context=ctx) as resp:
        assert resp.status == 200
    with urllib.request.urlopen(api.url + "/version", context=ctx) as resp:  # public, as in a real cluster
        assert json.loads(resp.read())["major"] == "1"


def test_kubeconfig_is_private_and_verifies_tls(api):
    assert os.stat(api.kubeconfig).st_mode & 0o777 == 0o600
    kc = yaml.safe_load(open(api.kubeconfig))
    assert kc["clusters"][0]["cluster"]["server"] == api.url and api.url.startswith("https://")
    assert base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"]).decode() == api.ca_cert_pem
    assert "BEGIN" in api.ca_key_pem
    # a client that trusts another CA is refused
    other = client.Configuration()
    other.host, other.verify_ssl = api.url, True
    other.api_key = {"authorization": f"Bearer {api.token}"}
    with pytest.raises(Exception) as info:
        client.CoreV1Api(client.ApiClient(other)).list_namespace(_request_timeout=5)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) or "certificate verify failed" in str(info.value)


# ------------------------------------------------------------------ CRUD


def test_cluster_scoped_namespace_create_get_list(api_client):
    core = client.CoreV1Api(api_client)
    name = f"ns-{uuid.uuid4().hex[:6]}"
    created = core.create_namespace({"metadata": {"name": name, "labels": {"team": "maia"}}})
    assert created.metadata.name == name and created.status.phase == "Active"
    assert created.metadata.uid and created.metadata.resource_version
    assert core.read_namespace(name).metadata.labels == {"team": "maia"}
    assert name in [n.metadata.name for n in core.list_namespace().items]
    assert "kube-system" in [n.metadata.name for n in core.list_namespace().items]


def test_create_conflict_and_not_found_status_bodies(api_client, ns):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    body = _status_body(info.value)
    assert info.value.status == 409 and body["reason"] == "AlreadyExists" and body["kind"] == "Status"
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("nope", ns)
    body = _status_body(info.value)
    assert info.value.status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "nope" not found'
    assert body["details"] == {"name": "nope", "group": "", "kind": "configmaps"}


def test_namespaced_object_needs_existing_namespace(api_client):
    with pytest.raises(ApiException) as info:
        client.CoreV1Api(api_client).create_namespaced_secret("no-such-ns", {"metadata": {"name": "s"}})
    assert info.value.status == 404 and 'namespaces "no-such-ns" not found' in _status_body(info.value)["message"]


def test_invalid_objects_get_422_and_400(api_client, dyn, ns):
    core = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "Bad_Name"}})
    assert info.value.status == 422 and _status_body(info.value)["reason"] == "Invalid"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, {"metadata": {}})
    assert info.value.status == 422
    with pytest.raises(ApiException) as info:
        core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "data": {"k": "not base64!"}})
    assert info.value.status == 422 and "not base64!" not in _text(info.value)
    with pytest.raises(Exception) as info:
        dyn.request("post", f"/api/v1/namespaces/{ns}/configmaps",
                    body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}},
                    content_type="application/json")
    assert getattr(info.value, "status", None) == 400
    with pytest.raises(ApiException) as info:
        core.create_namespace({"metadata": {"name": "UPPER"}})
    assert info.value.status == 422


def test_secret_string_data_is_folded_into_data(api_client, ns):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}})
    secret = core.read_namespaced_secret("s", ns)
    assert secret.data == {"password": base64.b64encode(b"hunter2").decode()}
    assert secret.string_data is None and secret.type == "Opaque"


def test_put_with_resource_version_conflicts(api_client, ns):
    core = client.CoreV1Api(api_client)
    first = core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    body = client.ApiClient().sanitize_for_serialization(client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="c", resource_version=first.metadata.resource_version),
        data={"a": "2"}))
    second = core.replace_namespaced_config_map("c", ns, body)
    assert second.data == {"a": "2"}
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    stale = dict(body, data={"a": "3"})  # still carries the first resourceVersion
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("c", ns, stale)
    assert info.value.status == 409 and _status_body(info.value)["reason"] == "Conflict"
    assert "the object has been modified" in _status_body(info.value)["message"]
    # an identical write is a no-op and keeps the resourceVersion
    same = core.replace_namespaced_config_map("c", ns, {"metadata": {"name": "c"}, "data": {"a": "2"}})
    assert same.metadata.resource_version == second.metadata.resource_version
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("missing", ns, {"metadata": {"name": "missing"}})
    assert info.value.status == 404


def test_label_and_field_selectors(api_client, ns):
    core = client.CoreV1Api(api_client)
    for name, labels in (("a", {"app": "x", "tier": "web"}), ("b", {"app": "y"}), ("c", {})):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})

    def names(**kw):
        return sorted(i.metadata.name for i in core.list_namespaced_config_map(ns, **kw).items)

    assert names() == ["a", "b", "c"]
    assert names(label_selector="app=x") == ["a"]
    assert names(label_selector="app==x,tier=web") == ["a"]
    assert names(label_selector="app!=x") == ["b", "c"]
    assert names(label_selector="app") == ["a", "b"]
    assert names(label_selector="!app") == ["c"]
    assert names(label_selector="app in (x, y)") == ["a", "b"]
    assert names(label_selector="app notin (x)") == ["b", "c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    every = [i.metadata.name for i in core.list_config_map_for_all_namespaces(label_selector="app=y").items]
    assert "b" in every


def test_label_selector_parser_rejects_garbage():
    assert parse_label_selector("a=b")({"a": "b"})
    with pytest.raises(Exception):
        parse_label_selector("a b c")


# ------------------------------------------------------------------ patches and SSA


def test_merge_strategic_and_json_patch(api_client, dyn, ns):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})
    cm = res(dyn, "v1", "ConfigMap")
    merged = cm.patch(name="c", namespace=ns, body={"data": {"a": None, "c": "3"}},
                      content_type="application/merge-patch+json")
    assert merged.to_dict()["data"] == {"b": "2", "c": "3"}
    strategic = core.patch_namespaced_config_map("c", ns, {"metadata": {"labels": {"l": "v"}}})
    assert strategic.metadata.labels == {"l": "v"} and strategic.data == {"b": "2", "c": "3"}
    patched = cm.patch(name="c", namespace=ns, content_type="application/json-patch+json",
                       body=[{"op": "replace", "path": "/data/b", "value": "20"},
                             {"op": "add", "path": "/data/d", "value": "4"},
                             {"op": "remove", "path": "/data/c"}])
    assert patched.to_dict()["data"] == {"b": "20", "d": "4"}
    with pytest.raises(Exception) as info:
        cm.patch(name="c", namespace=ns, content_type="application/json-patch+json",
                 body=[{"op": "test", "path": "/data/b", "value": "nope"}])
    assert info.value.status == 422


def test_patch_helpers():
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}
    assert json_patch({"l": [1, 2]}, [{"op": "add", "path": "/l/-", "value": 3},
                                      {"op": "move", "from": "/l", "path": "/m"}]) == {"m": [1, 2, 3]}


def test_server_side_apply_create_noop_prune_and_conflicts(dyn, ns):
    cm = res(dyn, "v1", "ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": ns},
            "data": {"a": "1", "b": "2"}}
    first = ssa(dyn, cm, body, field_manager="maia-salt")
    managers = {m.manager: m.operation for m in first.metadata.managedFields}
    assert managers == {"maia-salt": "Apply"}
    again = ssa(dyn, cm, body, field_manager="maia-salt")
    assert again.metadata.resourceVersion == first.metadata.resourceVersion  # no-op apply
    pruned = ssa(dyn, cm, dict(body, data={"a": "1"}), field_manager="maia-salt")
    assert pruned.to_dict()["data"] == {"a": "1"}  # the field this manager dropped is removed
    # another manager changes a field owned by maia-salt: conflict unless forced
    other = dict(body, data={"a": "other"})
    with pytest.raises(ConflictError) as info:
        ssa(dyn, cm, other, field_manager="someone-else")
    status = _status_body(info.value)
    assert status["reason"] == "Conflict" and status["details"]["causes"][0]["field"] == ".data.a"
    forced = ssa(dyn, cm, other, field_manager="someone-else", force_conflicts=True)
    assert forced.to_dict()["data"] == {"a": "other"}
    owners = {m["manager"]: m["fieldsV1"] for m in forced.to_dict()["metadata"]["managedFields"]}
    assert "f:a" in json.dumps(owners["someone-else"]) and "maia-salt" not in owners
    # a field set by another manager survives our apply
    cm.patch(name="ssa", namespace=ns, body={"data": {"z": "kept"}}, content_type="application/merge-patch+json",
             field_manager="kubectl-edit")
    after = ssa(dyn, cm, dict(body, data={"a": "1"}), field_manager="maia-salt",
                                  force_conflicts=True)
    assert after.to_dict()["data"] == {"a": "1", "z": "kept"}


def test_apply_requires_field_manager_and_dry_run_stores_nothing(dyn, ns):
    cm = res(dyn, "v1", "ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry", "namespace": ns}, "data": {"a": "1"}}
    with pytest.raises(Exception) as info:
        dyn.patch(cm, body=json.dumps(body), name="dry", namespace=ns, content_type="application/apply-patch+yaml")
    assert info.value.status == 400
    predicted = ssa(dyn, cm, body, field_manager="m", dry_run="All")
    assert predicted.to_dict()["data"] == {"a": "1"}
    with pytest.raises(NotFoundError):
        cm.get(name="dry", namespace=ns)
    ssa(dyn, cm, body, field_manager="m")
    changed = ssa(dyn, cm, dict(body, data={"a": "2"}), field_manager="m", dry_run="All")
    assert changed.to_dict()["data"] == {"a": "2"}
    assert cm.get(name="dry", namespace=ns).to_dict()["data"] == {"a": "1"}
    cm.create(body=dict(body, metadata={"name": "dry2", "namespace": ns}), dry_run="All")
    with pytest.raises(NotFoundError):
        cm.get(name="dry2", namespace=ns)


def test_status_subresource_and_generation(api_client, dyn, ns):
    apps = client.AppsV1Api(api_client)
    dep = {"metadata": {"name": "d"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                                               "template": {"metadata": {"labels": {"a": "b"}},
                                                            "spec": {"containers": [{"name": "c", "image": "i"}]}}},
           "status": {"replicas": 99}}
    created = apps.create_namespaced_deployment(ns, dep)
    assert created.metadata.generation == 1 and created.status is None or created.status.replicas is None
    apps.patch_namespaced_deployment_status("d", ns, {"status": {"readyReplicas": 1, "replicas": 1}})
    live = apps.read_namespaced_deployment("d", ns)
    assert live.status.ready_replicas == 1 and live.metadata.generation == 1
    # the main resource ignores status; a spec change bumps generation
    patched = apps.patch_namespaced_deployment("d", ns, {"spec": {"replicas": 3}, "status": {"readyReplicas": 7}})
    assert patched.spec.replicas == 3 and patched.status.ready_replicas == 1 and patched.metadata.generation == 2
    # status writes leave the spec alone
    after = apps.patch_namespaced_deployment_status("d", ns, {"spec": {"replicas": 9}, "status": {"replicas": 3}})
    assert after.spec.replicas == 3 and after.status.replicas == 3
    labelled = apps.patch_namespaced_deployment("d", ns, {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 2


# ------------------------------------------------------------------ CRDs


def test_crd_becomes_established_and_served(dyn, ns):
    crd_res = res(dyn, CRD_V1, "CustomResourceDefinition")
    with pytest.raises(ResourceNotFoundError):
        res(dyn, "example.maia.io/v1", "Widget")
    crd = crd_res.create(body=_crd(status=True))
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.acceptedNames.kind == "Widget"
    widget = res(dyn, "example.maia.io/v1", "Widget")
    assert widget.namespaced and "status" in widget.subresources
    obj = widget.create(namespace=ns, body={"apiVersion": "example.maia.io/v1", "kind": "Widget",
                                            "metadata": {"name": "w1", "labels": {"k": "v"}}, "spec": {"size": 1}})
    assert obj.spec.size == 1 and obj.kind == "Widget"
    assert [w.metadata.name for w in widget.get(namespace=ns, label_selector="k=v").items] == ["w1"]
    status = dyn.request("patch", widget.path(name="w1", namespace=ns) + "/status",
                         body={"status": {"phase": "Ready"}}, content_type="application/merge-patch+json")
    assert status.status.phase == "Ready"
    # a custom resource needs its resourceVersion on PUT
    with pytest.raises(Exception) as info:
        widget.replace(namespace=ns, body={"apiVersion": "example.maia.io/v1", "kind": "Widget",
                                           "metadata": {"name": "w1"}, "spec": {"size": 2}})
    assert info.value.status == 422
    # deleting the CRD takes its objects and endpoints with it
    crd_res.delete(name="widgets.example.maia.io")
    with pytest.raises(Exception) as info:
        dyn.request("get", f"/apis/example.maia.io/v1/namespaces/{ns}/widgets/w1")
    assert info.value.status == 404


def test_cluster_scoped_crd_and_invalid_crd(dyn):
    crd_res = res(dyn, CRD_V1, "CustomResourceDefinition")
    crd_res.create(body=_crd(group="c.maia.io", kind="Gadget", plural="gadgets", scope="Cluster"))
    gadget = res(dyn, "c.maia.io/v1", "Gadget")
    assert gadget.namespaced is False
    gadget.create(body={"apiVersion": "c.maia.io/v1", "kind": "Gadget", "metadata": {"name": "g"}})
    assert gadget.get(name="g").metadata.name == "g"
    bad = _crd(group="d.maia.io", kind="Thing", plural="things")
    bad["metadata"]["name"] = "wrong.d.maia.io"
    with pytest.raises(Exception) as info:
        crd_res.create(body=bad)
    assert info.value.status == 422


def test_crd_establish_delay():
    with KubeApiStandin(crd_establish_delay=0.6) as api:
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=api.kubeconfig))
        crd_res = res(dyn, CRD_V1, "CustomResourceDefinition")
        crd = crd_res.create(body=_crd())
        assert {c.type: c.status for c in crd.status.conditions}["Established"] == "False"
        with pytest.raises(Exception):
            dyn.request("get", "/apis/example.maia.io/v1/widgets")
        time.sleep(0.8)
        crd = crd_res.get(name="widgets.example.maia.io")
        assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
        assert dyn.request("get", "/apis/example.maia.io/v1/widgets").items == []


# ------------------------------------------------------------------ deletion


def test_delete_with_finalizers_then_clear(dyn, ns):
    cm = res(dyn, "v1", "ConfigMap")
    cm.create(namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "f", "finalizers": ["example.io/hold"]}})
    cm.delete(name="f", namespace=ns)
    live = cm.get(name="f", namespace=ns)
    assert live.metadata.deletionTimestamp and live.metadata.finalizers == ["example.io/hold"]
    cm.patch(name="f", namespace=ns, body={"metadata": {"finalizers": None}},
             content_type="application/merge-patch+json")
    with pytest.raises(NotFoundError):
        cm.get(name="f", namespace=ns)
    cm.create(namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}})
    cm.delete(name="plain", namespace=ns)
    with pytest.raises(NotFoundError):
        cm.delete(name="plain", namespace=ns)


def test_namespace_deletion_takes_its_objects(api_client, ns):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "held", "finalizers": ["x/y"]}})
    core.delete_namespace(ns)
    assert core.read_namespace(ns).status.phase == "Terminating"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "new"}})
    assert info.value.status == 403
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("c", ns)
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as info:
        core.read_namespace(ns)
    assert info.value.status == 404


# ------------------------------------------------------------------ request log and CLI


def test_request_log_counts_each_request(api, api_client, ns):
    api.reset_requests()
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    core.read_namespaced_config_map("c", ns)
    core.read_namespaced_config_map("c", ns)
    counts = api.request_counts()
    assert counts[f"GET /api/v1/namespaces/{ns}/configmaps/c"] == 2
    assert counts[f"POST /api/v1/namespaces/{ns}/configmaps"] == 1
    assert sum(counts.values()) == 3
    assert api.request_log[-1]["status"] == 200 and api.request_log[0]["status"] == 201


def test_cli_serves_and_writes_kubeconfig(tmp_path):
    out = tmp_path / "out" / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "maia_lab.standins.kube_api", "--host", "127.0.0.1", "--port", "0",
         "--tls-dir", str(tmp_path / "tls"), "--kubeconfig", str(out), "--token", "cli-token"],
        stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["kubeconfig"] == str(out) and os.stat(out).st_mode & 0o777 == 0o600
        assert yaml.safe_load(out.read_text())["users"][0]["user"]["token"] == "cli-token"
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(out)))
        core.create_namespace({"metadata": {"name": "from-cli"}})
        assert "from-cli" in [n.metadata.name for n in core.list_namespace().items]
        assert (tmp_path / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_request_log_over_http_and_plain_http_mode():
    import urllib.request

    with KubeApiStandin(tls=False, server_address="localhost") as api:
        assert api.url == f"http://localhost:{api.port}"
        core = client.CoreV1Api(config.new_client_from_config(config_file=api.kubeconfig))
        core.list_namespace()
        headers = {"Authorization": f"Bearer {api.token}"}
        req = urllib.request.Request(api.url + "/_standin/requests", headers=headers, method="DELETE")
        with urllib.request.urlopen(req) as resp:
            logged = json.loads(resp.read())["requests"]
        assert [(e["method"], e["path"], e["status"]) for e in logged] == [("GET", "/api/v1/namespaces", 200)]
        assert logged[0]["user_agent"].startswith("OpenAPI-Generator/")
        assert api.request_log == []


def test_dry_runs_and_status_writes_leave_stored_objects_alone(api, dyn, ns):
    """Writes share unchanged parts with stored objects (copy-on-write): make sure nothing leaks back."""
    cm = res(dyn, "v1", "ConfigMap")
    cm.create(namespace=ns, body={"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "cow", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}})
    before = api.get_object("v1", "ConfigMap", "cow", ns)
    cm.patch(name="cow", namespace=ns, body={"metadata": {"labels": {"a": None, "c": "3"}}, "data": {"k": "w"}},
             content_type="application/merge-patch+json", dry_run="All")
    ssa(dyn, cm, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cow", "namespace": ns,
                                                                        "labels": {"b": "9"}}},
        field_manager="other", force_conflicts=True, dry_run="All")
    cm.patch(name="cow", namespace=ns, content_type="application/json-patch+json", dry_run="All",
             body=[{"op": "remove", "path": "/metadata/labels/b"}])
    assert api.get_object("v1", "ConfigMap", "cow", ns) == before
    apps = res(dyn, "apps/v1", "Deployment")
    apps.create(namespace=ns, body={"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": "cow", "labels": {"x": "1"}},
                                    "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {}}})
    dyn.request("patch", apps.path(name="cow", namespace=ns) + "/status", content_type="application/merge-patch+json",
                body={"metadata": {"labels": {"x": "changed"}}, "status": {"replicas": 1}})
    live = api.get_object("apps/v1", "Deployment", "cow", ns)
    assert live["metadata"]["labels"] == {"x": "1"} and live["status"] == {"replicas": 1}


def test_state_file_keeps_objects_across_restarts(tmp_path):
    state = tmp_path / "state.json"
    kwargs = {"tls_dir": tmp_path / "tls", "token": "t0k3n", "state_file": state}
    with KubeApiStandin(**kwargs) as api:
        core = client.CoreV1Api(config.new_client_from_config(config_file=api.kubeconfig))
        core.create_namespace({"metadata": {"name": "kept"}})
        core.create_namespaced_secret("kept", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=api.kubeconfig))
        res(dyn, CRD_V1, "CustomResourceDefinition").create(body=_crd())
        rv = core.read_namespaced_secret("s", "kept").metadata.resource_version
        ca = api.ca_cert_pem
    assert state.stat().st_mode & 0o777 == 0o600
    with KubeApiStandin(**kwargs) as api:
        assert api.ca_cert_pem == ca  # the CA is kept, so old kubeconfigs still verify
        core = client.CoreV1Api(config.new_client_from_config(config_file=api.kubeconfig))
        secret = core.read_namespaced_secret("s", "kept")
        assert secret.data == {"k": base64.b64encode(b"v").decode()} and secret.metadata.resource_version == rv
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=api.kubeconfig))
        assert res(dyn, "example.maia.io/v1", "Widget").namespaced
        core.create_namespaced_config_map("kept", {"metadata": {"name": "after"}})
        assert int(core.read_namespaced_config_map("after", "kept").metadata.resource_version) > int(rv)
