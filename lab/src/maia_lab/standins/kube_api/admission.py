"""What the API stand-in checks on every written object, whatever its kind.

Names (RFC 1123, or RBAC's path segments), labels and annotations (strings, at
most 256 KiB of annotations), Secrets (``stringData`` folded into base64
``data``) and CustomResourceDefinitions. Custom resources are also checked
against their CRD's schema: see ``schema.py``.
"""
from __future__ import annotations

import base64
import binascii

from .kinds import ANNOTATIONS_LIMIT, CRD_GROUP, DNS_LABEL, DNS_SUBDOMAIN, ApiError
from .schema import structural_problems


def check_object(rtype, version, ns, obj, name=None):
    """Checks every kind gets: identity, name, labels, annotations; Secret and CRD rules. Returns the name."""
    if not isinstance(obj, dict):
        raise ApiError(400, "the body is not an object")
    expected = rtype.api_version(version)
    if obj.get("apiVersion") and obj["apiVersion"] != expected or obj.get("kind") and obj["kind"] != rtype.kind:
        raise ApiError(400, f"the API version in the data ({obj.get('apiVersion')}) or kind "
                            f"({obj.get('kind')}) does not match the expected {expected} {rtype.kind}")
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise ApiError(400, "metadata must be an object")
    if name is not None and meta.get("name") not in (None, name):
        raise ApiError(400, f"the name of the object ({meta.get('name')}) does not match the name on "
                            f"the URL ({name})")
    if meta.get("namespace") and ns and meta["namespace"] != ns:
        raise ApiError(400, "the namespace of the provided object does not match the namespace sent on "
                            "the request")
    obj_name = name or meta.get("name")
    if not obj_name:
        raise ApiError(422, f"{rtype.kind} is invalid: metadata.name: Required value: name or "
                            "generateName is required", details=rtype.details(""))
    if rtype.group == "rbac.authorization.k8s.io":  # RBAC names are path segments ("system:x")
        ok = "/" not in obj_name and "%" not in obj_name and obj_name not in (".", "..")
    elif rtype.kind == "Namespace":
        ok = bool(DNS_LABEL.match(obj_name)) and len(obj_name) <= 63
    else:
        ok = bool(DNS_SUBDOMAIN.match(obj_name)) and len(obj_name) <= 253
    if not ok:
        raise ApiError(422, f'{rtype.kind} "{obj_name}" is invalid: metadata.name: Invalid value: '
                            f'"{obj_name}": must be a lowercase RFC 1123 name', details=rtype.details(obj_name))
    if rtype.kind == "Secret":
        normalise_secret(obj, rtype)
    if rtype.kind == "CustomResourceDefinition":
        validate_crd(obj, obj_name)
    for key in ("labels", "annotations"):
        for k, v in (meta.get(key) or {}).items():
            if not isinstance(v, str):
                raise ApiError(422, f'{rtype.kind} "{obj_name}" is invalid: metadata.{key}.{k}: '
                                    "Invalid value: must be a string", details=rtype.details(obj_name))
    # as kube-apiserver: all annotations together (keys and values) fit in 256 KiB, which is
    # why a client-side `kubectl apply` of a large CRD fails and server-side apply is needed
    size = sum(len(k) + len(v) for k, v in (meta.get("annotations") or {}).items())
    if size > ANNOTATIONS_LIMIT:
        raise ApiError(422, f'{rtype.kind} "{obj_name}" is invalid: metadata.annotations: Too long: '
                            f"must have at most {ANNOTATIONS_LIMIT} bytes", details=rtype.details(obj_name))
    return obj_name


def normalise_secret(obj, rtype):
    """stringData folds into data (base64) as the real API server does; data must be base64."""
    string_data = obj.pop("stringData", None) or {}
    data = dict(obj.get("data") or {})
    name = obj.get("metadata", {}).get("name", "")
    for key, value in data.items():
        try:
            base64.b64decode(value or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ApiError(422, f'Secret "{name}" is invalid: data[{key}]: Invalid value: must be base64 '
                                "(value not shown)", details=rtype.details(name)) from None
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data or "data" in obj:
        obj["data"] = data


def validate_crd(obj, name):
    """A CRD's own rules: names, scope, one storage version, structural schemas."""
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    problems = []
    for field, value in (("spec.group", spec.get("group")), ("spec.names.plural", names.get("plural")),
                         ("spec.names.kind", names.get("kind")), ("spec.versions", spec.get("versions"))):
        if not value:
            problems.append(f"{field}: Required value")
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        problems.append("spec.scope: Unsupported value: must be Namespaced or Cluster")
    if not problems and name != f"{names['plural']}.{spec['group']}":
        problems.append(f'metadata.name: Invalid value: "{name}": must be spec.names.plural+"."+spec.group')
    if not problems and sum(1 for v in spec["versions"] if v.get("storage")) != 1:
        problems.append("spec.versions: Invalid value: must have exactly one version marked as storage version")
    for index, version in enumerate(spec.get("versions") or [] if not problems else []):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is not None:  # a CRD without a schema is taken as it is (see docs/standins.md)
            problems += structural_problems(schema, f"spec.versions[{index}].schema.openAPIV3Schema")
    if problems:
        raise ApiError(422, f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: '
                            + "; ".join(problems),
                       details={"name": name, "group": CRD_GROUP, "kind": "CustomResourceDefinition"})
