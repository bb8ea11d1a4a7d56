"""Custom resources checked against their CRD's openAPIV3Schema by the Kubernetes API stand-in.

STAND-IN: this machine runs no kube-apiserver (docs/standins.md); these tests pin
the stand-in to what kube-apiserver does with a custom resource: unknown fields
pruned (a ``Warning`` header by default, 400 under ``fieldValidation=Strict``,
silence under ``Ignore``), wrong types and missing required fields refused with
a 422 ``Invalid`` Status naming the field path, ``x-kubernetes-preserve-unknown-fields``
and ``additionalProperties`` kept, non-structural schemas refused. The last test
sends the objects maia-salt's stage 3 writes to ArgoCD's CRDs under ``Strict``.
"""
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from maia_salt.core.specs import mapdata
from maia_lab.standins.kube_api import KubeApiStandin
from support import argocd_manifest

from core.helpers import DEFAULTS_FILE, site_pillar
from support.modules import load_salt_module

GROUP = "schema.maia.io"
BASE = f"/apis/{GROUP}/v1/namespaces/default/gauges"
SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size", "mode"],
            "properties": {
                "size": {"type": "integer", "minimum": 0},
                "mode": {"type": "string", "enum": ["fast", "slow"]},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "comment": {"type": "string"},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def _crd(schema, plural="gauges", kind="Gauge"):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}"},
            "spec": {"group": GROUP, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"status": {}}, "schema": {"openAPIV3Schema": schema}}]}}


class Http:
    """Raw requests (the kubernetes client does not show Warning headers): (status, headers, body)."""

    def __init__(self, api):
        self.api = api
        self.ctx = ssl.create_default_context(cafile=str(api.tls_dir / "ca.crt"))

    def __call__(self, method, path, body=None, content_type="application/json", **query):
        url = self.api.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.api.token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, context=self.ctx) as resp:
                return resp.status, resp.headers.get_all("Warning") or [], json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get_all("Warning") or [], json.loads(exc.read())


@pytest.fixture(scope="module")
def http():
    with KubeApiStandin() as api:
        call = Http(api)
        status, _, body = call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _crd(SCHEMA))
        assert status == 201, body
        yield call


def _gauge(name, **spec):
    return {"apiVersion": f"{GROUP}/v1", "kind": "Gauge", "metadata": {"name": name},
            "spec": dict({"size": 1, "mode": "fast"}, **spec)}


def _stored(http, name):
    return http.api.get_object(f"{GROUP}/v1", "Gauge", name, "default")


# ------------------------------------------------------------------ types and required fields


def test_wrong_types_are_refused_with_422_naming_each_field(http):
    status, _, body = http("POST", BASE, _gauge("typo", size="three", items=[{"name": 7}]))
    assert status == 422 and body["reason"] == "Invalid"
    causes = {c["field"]: c for c in body["details"]["causes"]}
    assert set(causes) == {"spec.size", "spec.items[0].name"}
    assert causes["spec.size"]["reason"] == "FieldValueTypeInvalid"
    assert causes["spec.size"]["message"] == ('Invalid value: "string": spec.size in body must be of type '
                                              'integer: "string"')
    assert body["details"] == dict(body["details"], name="typo", group=GROUP, kind="Gauge")
    assert body["message"].startswith(f'Gauge.{GROUP} "typo" is invalid: [')
    assert _stored(http, "typo") is None


def test_missing_required_fields_are_refused(http):
    gauge = _gauge("partial")
    del gauge["spec"]["mode"]
    status, _, body = http("POST", BASE, gauge)
    assert status == 422
    assert body["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                          "field": "spec.mode"}]
    assert body["message"] == f'Gauge.{GROUP} "partial" is invalid: spec.mode: Required value'


def test_enum_and_bounds_are_checked(http):
    status, _, body = http("POST", BASE, _gauge("bounds", size=-1, mode="medium"))
    assert status == 422
    reasons = {c["field"]: c["reason"] for c in body["details"]["causes"]}
    assert reasons == {"spec.size": "FieldValueInvalid", "spec.mode": "FieldValueNotSupported"}


def test_updates_patches_and_applies_are_validated_too(http):
    assert http("POST", BASE, _gauge("upd"))[0] == 201
    before = _stored(http, "upd")
    status, _, body = http("PATCH", f"{BASE}/upd", {"spec": {"size": "big"}},
                           content_type="application/merge-patch+json")
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.size"
    status, _, body = http("PATCH", f"{BASE}/upd", [{"op": "remove", "path": "/spec/mode"}],
                           content_type="application/json-patch+json")
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.mode"
    replaced = dict(before, spec={"size": 2, "mode": 3})
    status, _, body = http("PUT", f"{BASE}/upd", replaced)
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.mode"
    status, _, body = http("PATCH", f"{BASE}/upd", _gauge("upd", size=True), fieldManager="t",
                           content_type="application/apply-patch+yaml")
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.size"
    status, _, body = http("PATCH", f"{BASE}/upd/status", {"status": {"phase": 1}},
                           content_type="application/merge-patch+json")
    assert status == 422 and body["details"]["causes"][0]["field"] == "status.phase"
    assert _stored(http, "upd") == before


# ------------------------------------------------------------------ unknown fields and fieldValidation


def test_unknown_fields_are_pruned_with_a_warning_by_default(http):
    gauge = _gauge("warn", foo=1, items=[{"name": "a", "extra": True}])
    gauge["metadata"]["bogus"] = "x"
    gauge["extraTop"] = {}
    status, warnings, body = http("POST", BASE, gauge)
    assert status == 201
    assert sorted(warnings) == sorted([
        '299 - "unknown field \\"spec.foo\\""', '299 - "unknown field \\"spec.items[0].extra\\""',
        '299 - "unknown field \\"metadata.bogus\\""', '299 - "unknown field \\"extraTop\\""'])
    stored = _stored(http, "warn")
    assert stored["spec"] == {"size": 1, "mode": "fast", "items": [{"name": "a"}]}
    assert "bogus" not in stored["metadata"] and "extraTop" not in stored and "foo" not in body["spec"]
    # a merge patch adding an unknown field: pruned and warned about as well
    status, warnings, _ = http("PATCH", f"{BASE}/warn", {"spec": {"bar": 2}},
                               content_type="application/merge-patch+json")
    assert status == 200 and warnings == ['299 - "unknown field \\"spec.bar\\""']
    assert "bar" not in _stored(http, "warn")["spec"]


def test_strict_field_validation_refuses_unknown_fields_with_400(http):
    status, _, body = http("POST", BASE, _gauge("strict", foo=1), fieldValidation="Strict")
    assert status == 400 and body["reason"] == "BadRequest"
    assert body["message"] == ('Gauge in version "v1" cannot be handled as a Gauge: strict decoding error: '
                               'unknown field "spec.foo"')
    assert _stored(http, "strict") is None
    assert http("POST", BASE, _gauge("strict"), fieldValidation="Strict")[0] == 201
    status, _, body = http("PATCH", f"{BASE}/strict", {"spec": {"foo": 1}}, fieldValidation="Strict",
                           content_type="application/merge-patch+json")
    assert status == 400 and 'unknown field "spec.foo"' in body["message"]
    status, _, body = http("PATCH", f"{BASE}/strict", _gauge("strict", foo=1), fieldValidation="Strict",
                           fieldManager="t", content_type="application/apply-patch+yaml")
    assert status == 400 and body["message"].endswith(".spec.foo: field not declared in schema")
    assert "foo" not in _stored(http, "strict")["spec"]


def test_ignore_prunes_silently_and_apply_owns_no_pruned_field(http):
    status, warnings, _ = http("PATCH", f"{BASE}/quiet", _gauge("quiet", foo=1), fieldValidation="Ignore",
                               fieldManager="t", content_type="application/apply-patch+yaml")
    assert status == 201 and warnings == []
    stored = _stored(http, "quiet")
    assert "foo" not in stored["spec"]
    owned = stored["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    assert set(owned) == {"f:size", "f:mode"}


def test_unknown_directive_is_a_bad_request(http):
    status, _, body = http("POST", BASE, _gauge("directive"), fieldValidation="Loose")
    assert status == 400 and "fieldValidation" in body["message"]


def test_preserved_maps_int_or_string_and_nullable_are_kept(http):
    spec = {"values": {"any": {"deep": [1, {"x": None}]}}, "tags": {"team": "maia"}, "port": "http",
            "note": None}
    status, warnings, _ = http("POST", BASE, _gauge("kept", **spec), fieldValidation="Strict")
    assert status == 201 and warnings == []
    assert _stored(http, "kept")["spec"] == dict({"size": 1, "mode": "fast"}, **spec)
    assert http("POST", BASE, _gauge("port", port=8080))[0] == 201
    status, _, body = http("POST", BASE, _gauge("port2", port=1.5))
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.port"
    status, _, body = http("POST", BASE, _gauge("tags", tags={"n": 1}))
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.tags.n"
    # a null where the schema does not allow one is dropped, silently, as kube-apiserver does
    status, warnings, _ = http("POST", BASE, _gauge("nulls", comment=None), fieldValidation="Strict")
    assert status == 201 and warnings == [] and "comment" not in _stored(http, "nulls")["spec"]


def test_a_crd_with_a_non_structural_schema_is_refused(http):
    schema = {"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}
    status, _, body = http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                           _crd(schema, plural="loose", kind="Loose"))
    assert status == 422
    assert ("spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value"
            in body["message"])


# ------------------------------------------------------------------ maia-salt's own objects


def _argocd_modules():
    """The product's ArgoCD execution modules, loaded from their files: ``maia_argocd`` builds the
    objects stage 3 writes, ``maia_argocd_sync`` the sync operation it patches in."""
    return (load_salt_module("_modules/maia_argocd.py", "_standins_maia_argocd"),
            load_salt_module("_modules/maia_argocd_sync.py", "_standins_maia_argocd_sync"))


def _every_component_on():
    defaults = yaml.safe_load(DEFAULTS_FILE.read_text())
    apps = {name: {"enabled": True} for name in defaults["apps"]}
    return mapdata(defaults, site_pillar(core={"apps": apps}))


def test_stage_3_objects_pass_argocd_crds_under_strict_validation():
    """The AppProject and Applications stage 3 writes, and the sync operation it patches in, are accepted
    by the CRDs of the ArgoCD manifest with ``fieldValidation=Strict`` and stored with no field pruned."""
    argocd, argocd_sync = _argocd_modules()
    data = _every_component_on()
    assert len(data["apps"]) > 5
    with KubeApiStandin() as api:
        http = Http(api)
        assert http("POST", "/api/v1/namespaces", {"metadata": {"name": "argocd"}})[0] == 201
        for crd in argocd_manifest.crds():
            assert http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)[0] == 201
        base = "/apis/argoproj.io/v1alpha1/namespaces/argocd"
        project = data["project"]
        objects = [("appprojects", argocd.build_project(project["name"], project["spec"], project["namespace"]))]
        objects += [("applications", argocd.build_app(app["name"], app["spec"], data["argocd_namespace"],
                                                      sync_wave=app["sync_wave"])) for app in data["apps"]]
        for plural, obj in objects:
            status, warnings, body = http("POST", f"{base}/{plural}", obj, fieldValidation="Strict")
            assert (status, warnings) == (201, []), body
            assert body["spec"] == obj["spec"]
        app = objects[-1][1]
        operation = argocd_sync._sync_operation(app, "0123", prune=True)
        status, warnings, body = http("PATCH", f"{base}/applications/{app['metadata']['name']}",
                                      {"operation": operation}, fieldValidation="Strict",
                                      content_type="application/merge-patch+json")
        assert (status, warnings) == (200, []), body
        assert body["operation"] == operation
