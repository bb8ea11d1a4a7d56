"""Custom resources checked against their CRD's ``openAPIV3Schema``, in kube-apiserver's order.

For a write of a custom resource the apiextensions server (1) prunes: every
field the structural schema of the served version does not declare is dropped,
except under a node with ``x-kubernetes-preserve-unknown-fields: true``; map
values under ``additionalProperties`` are kept and checked against it;
``apiVersion``, ``kind`` and ``metadata`` at the root are always kept, and
``metadata`` keeps only ObjectMeta's fields. A ``null`` where the schema does not
say ``nullable: true`` is dropped too, silently. (2) The request's
``fieldValidation`` decides what a dropped field means: ``Strict`` refuses the
write (400), ``Warn`` (the default) writes and answers a ``Warning`` header per
field, ``Ignore`` writes silently. (3) What is left is validated (types,
``required``, ``enum``, bounds, patterns, ...): every problem is one cause of a
422 ``Invalid`` Status naming the field path.

Validation is done by ``jsonschema`` (Draft 4, the dialect OpenAPI 3.0 schemas
are close to) on a copy of the schema translated from OpenAPI: ``nullable``
becomes a ``null`` type, ``x-kubernetes-int-or-string`` an integer-or-string.
Not done here: defaulting (``default``), CEL rules (``x-kubernetes-validations``),
``format`` checks, list-type and map-type uniqueness, embedded resources.
"""
from __future__ import annotations

import json

import jsonschema

from .kinds import ApiError

DIRECTIVES = ("Ignore", "Warn", "Strict")
OBJECT_META_FIELDS = frozenset((
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields"))
ROOT_FIELDS = ("apiVersion", "kind", "metadata")
JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
              (list, "array"), (dict, "object"), (type(None), "null"))
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def field_validation(query):
    """The ``fieldValidation`` directive of a request (``Warn`` when not given)."""
    value = (query.get("fieldValidation") or ["Warn"])[0]
    if value not in DIRECTIVES:
        raise ApiError(400, f'fieldValidation must be one of "Ignore", "Warn" or "Strict", not {value!r}')
    return value


def version_schema(crd, version):
    """The ``openAPIV3Schema`` of ``version`` in a CRD object, or None when it has none."""
    for entry in (crd.get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            return (entry.get("schema") or {}).get("openAPIV3Schema")
    return None


def structural_problems(schema, path):
    """Why ``schema`` is not structural (kube-apiserver refuses such a CRD): a list of texts.

    Checked: every node states a ``type`` (unless it is int-or-string or keeps
    unknown fields), and no node has both ``properties`` and ``additionalProperties``.
    """
    if not isinstance(schema, dict):
        return [f"{path}: Invalid value: must be an object"]
    found = []
    if not schema.get("type") and not (schema.get("x-kubernetes-int-or-string") or _keeps_unknown(schema)):
        found.append(f"{path}.type: Required value: must not be empty for specified object fields")
    if schema.get("properties") and isinstance(schema.get("additionalProperties"), dict):
        found.append(f"{path}.additionalProperties: Forbidden: additionalProperties and properties are "
                     "mutual exclusive")
    for key, sub in (schema.get("properties") or {}).items():
        found += structural_problems(sub, f"{path}.properties[{key}]")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += structural_problems(schema[key], f"{path}.{key}")
    return found


# ---------------------------------------------------------------- pruning


def field_path(parts):
    """``spec.sources[0].helm`` from ("spec", "sources", 0, "helm"), as the apiserver writes paths."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _keeps_unknown(schema):
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def prune(value, schema, path=(), unknown=None):
    """``value`` without the fields ``schema`` does not declare; their paths are added to ``unknown``.

    Copy-on-write: ``value`` is not changed. A node whose value has another type
    than the schema's is left to validation.
    """
    if unknown is None:
        unknown = []
    if not isinstance(schema, dict):
        return value
    if isinstance(value, list):
        items = schema.get("items")
        return [prune(v, items, path + (i,), unknown) for i, v in enumerate(value)] if items else value
    if not isinstance(value, dict) or schema.get("x-kubernetes-int-or-string"):
        return value
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    out = {}
    for key, sub in value.items():
        if not path and key in ROOT_FIELDS:
            out[key] = _prune_metadata(sub, unknown) if key == "metadata" else sub
        elif key in properties or isinstance(extra, dict):
            sub_schema = properties[key] if key in properties else extra
            if sub is None and not sub_schema.get("nullable"):
                continue  # dropped before validation, as kube-apiserver does; not an unknown field
            out[key] = prune(sub, sub_schema, path + (key,), unknown)
        elif extra is True or _keeps_unknown(schema):
            out[key] = sub
        else:
            unknown.append(field_path(path + (key,)))
    return out


def _prune_metadata(meta, unknown):
    if not isinstance(meta, dict):
        return meta
    for key in meta:
        if key not in OBJECT_META_FIELDS:
            unknown.append(f"metadata.{key}")
    return {k: v for k, v in meta.items() if k in OBJECT_META_FIELDS}


# ---------------------------------------------------------------- validation


def to_json_schema(schema):
    """A JSON Schema (Draft 4) copy of an OpenAPI v3 CRD schema node."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(value)
        elif key in SUBSCHEMA_LISTS:
            out[key] = [to_json_schema(v) for v in value]
        elif key not in ("nullable", "format", "default", "example"):
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}] + out.get("anyOf", [])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    return out


def _type_name(value):
    return next(name for cls, name in JSON_TYPES if isinstance(value, cls))


def _cause(error):
    """(field, reason, message) of one jsonschema error, worded as kube-apiserver words it."""
    field = field_path(tuple(error.absolute_path))
    if error.validator == "type":
        wanted = error.validator_value
        wanted = wanted[0] if isinstance(wanted, list) else wanted
        actual = _type_name(error.instance)
        return field, "FieldValueTypeInvalid", (f'Invalid value: "{actual}": {field} in body must be of type '
                                                f'{wanted}: "{actual}"')
    if error.validator == "enum":
        supported = ", ".join(f'"{v}"' for v in error.validator_value)
        return field, "FieldValueNotSupported", (f'Unsupported value: "{error.instance}": supported values: '
                                                 f"{supported}")
    value = json.dumps(error.instance) if isinstance(error.instance, (int, float, str, bool)) else _type_name(
        error.instance)
    return field, "FieldValueInvalid", f"Invalid value: {value}: {error.message}"


def problems(obj, validator):
    """Every way ``obj`` breaks the schema of a jsonschema ``validator``: sorted (field, reason, message)."""
    found = set()
    for error in validator.iter_errors(obj):
        if error.validator == "required":
            base = tuple(error.absolute_path)
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    found.add((field_path(base + (name,)), "FieldValueRequired", "Required value"))
        else:
            found.add(_cause(error))
    return sorted(found)


class CustomResourceSchema:
    """The schema of one served version of a CRD, ready to prune and validate objects."""

    def __init__(self, openapi):
        self.openapi = openapi
        self.validator = jsonschema.Draft4Validator(to_json_schema(openapi))

    def check(self, obj, directive, warnings, invalid, unknown_error):
        """``obj`` pruned and validated; raises for what ``directive`` and the schema refuse.

        ``warnings`` gets one text per dropped field under ``Warn``; ``invalid``
        builds the 422 error from the causes (None: prune only); ``unknown_error`` the 400 error
        from the unknown field paths under ``Strict``.
        """
        unknown = []
        obj = prune(obj, self.openapi, (), unknown)
        if unknown and directive == "Strict":
            raise unknown_error(unknown)
        if directive == "Warn":
            warnings.extend(f'unknown field "{path}"' for path in unknown)
        causes = problems(obj, self.validator) if invalid else []
        if causes:
            raise invalid(causes)
        return obj


def invalid_error(kind, group, name, causes):
    """The 422 ``Invalid`` Status kube-apiserver answers for schema violations."""
    texts = [f"{field}: {message}" for field, _reason, message in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(422, f'{kind}.{group} "{name}" is invalid: {summary}',
                    details={"name": name, "group": group, "kind": kind,
                             "causes": [{"reason": reason, "message": message, "field": field}
                                        for field, reason, message in causes]})


def strict_decoding_error(kind, version, paths):
    """The 400 a create, update or patch gets under ``fieldValidation=Strict``."""
    fields = ", ".join(f'unknown field "{p}"' for p in paths)
    return ApiError(400, f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: '
                         f"{fields}")


def strict_apply_error(kind, api_version, namespace, name, paths):
    """The 400 a server-side apply gets under ``fieldValidation=Strict``."""
    where = f"{namespace}/{name}" if namespace else name
    lines = [f".{p}: field not declared in schema" for p in paths]
    detail = lines[0] if len(lines) == 1 else "errors:\n  " + "\n  ".join(lines)
    return ApiError(400, f"failed to create typed patch object ({where}; {api_version}, Kind={kind}): {detail}")
