"""Manifests and CRDs for maia_kube: parse multi-document YAML, check a file's sha256,
apply a set of objects (CRDs and Namespaces first, then wait for the CRDs, then the rest,
reading the live objects with one list per kind and namespace), wait for a CRD.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): every
function that talks to the API takes a ``maia_kube_client.Connection``.
"""
import hashlib
import logging
import re
import time

import maia_error_kinds
import maia_kube_client as kclient
import maia_kube_read as kread
import maia_kube_write as kwrite
import yaml
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

_error = maia_error_kinds.error

CRD_API_VERSION = "apiextensions.k8s.io/v1"


def crd_established(crd):
    for cond in (crd.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Established" and cond.get("status") == "True":
            return True
    return False


def wait_crd_established(conn, name, timeout=60, interval=1):
    """Wait until CustomResourceDefinition ``name`` has condition Established=True."""
    deadline = time.monotonic() + float(timeout)
    while True:
        crd = kread.get(conn, CRD_API_VERSION, "CustomResourceDefinition", name)
        if crd is not None and crd_established(crd):
            return True
        if time.monotonic() > deadline:
            state = "does not exist" if crd is None else "is not Established"
            raise _error("no_kind" if crd is None else "api", f"CustomResourceDefinition {name} {state} after {timeout}s")
        time.sleep(float(interval))


def load_manifests(text):
    """Parse multi-document YAML into a list of object dicts (``kind: List`` expanded)."""
    docs = []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 20x faster on big manifests
    for doc in yaml.load_all(text, Loader=loader):
        if not doc:
            continue
        if not isinstance(doc, dict):
            raise _error("invalid", "a manifest document is not a mapping")
        if doc.get("kind") == "List" or (
            str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list)
        ):
            docs.extend(item for item in doc.get("items") or [] if item)
        else:
            docs.append(doc)
    return docs


def check_sha256_argument(path, sha256):
    """Refuse a ``sha256`` that is not 64 hex digits, before anything is read."""
    if sha256 is not None and sha256 != "" and not re.match(r"^[0-9a-fA-F]{64}$", str(sha256).strip()):
        raise _error(
            "invalid",
            f"sha256 for {path} must be 64 hex digits, got {str(sha256)[:80]!r} "
            "(quote it in YAML and on the command line); nothing applied"
        )


def verified_digest(path, data, sha256):
    """The sha256 of ``data``; a mismatch with ``sha256`` (when given) is an error."""
    digest = hashlib.sha256(data).hexdigest()
    if sha256 and digest != str(sha256).lower().strip():
        raise _error("invalid", f"sha256 mismatch for {path}: expected {sha256}, got {digest}; nothing applied")
    return digest


def _applied_first(obj):
    if obj["kind"] == "CustomResourceDefinition":
        return obj["apiVersion"].startswith("apiextensions.k8s.io/")
    return obj["kind"] == "Namespace" and obj["apiVersion"] == "v1"


def _key(obj, namespace):
    meta = obj.get("metadata") or {}
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or namespace, meta.get("name"))


def apply_manifests(conn, manifests, namespace=None, field_manager=kwrite.DEFAULT_FIELD_MANAGER, force=True,
                    dry_run=False, timeout=120):
    """Server-side apply a list of objects (or multi-document YAML text); returns
    ``{"objects": n, "created": [ids], "changed": [ids], "unchanged": n}``."""
    if isinstance(manifests, (str, bytes)):
        manifests = load_manifests(manifests)
    objs = [kwrite.load_manifest(m) for m in manifests]
    first = [o for o in objs if _applied_first(o)]
    rest = [o for o in objs if not any(o is f for f in first)]
    summary = {"objects": len(objs), "created": [], "changed": [], "unchanged": 0}
    established = set()

    def _one(obj, known):
        try:
            result = kwrite.ensure(conn, obj, namespace, field_manager, force, dry_run,
                                   before=known.get(_key(obj, namespace), kread.UNKNOWN))
        except CommandExecutionError as exc:
            # in a dry run, kinds of CRDs and namespaces of the same manifest do not exist yet
            if dry_run and maia_error_kinds.kind(exc) in ("no_kind", "not_found"):
                ns = (obj.get("metadata") or {}).get("namespace") or namespace
                summary["created"].append(kread.ident(obj["kind"], obj["metadata"]["name"], ns))
                return
            raise
        if obj["kind"] == "CustomResourceDefinition" and crd_established(result["object"] or {}):
            established.add(obj["metadata"]["name"])
        if result["created"]:
            summary["created"].append(result["id"])
        elif result["changed"]:
            summary["changed"].append(result["id"])
        else:
            summary["unchanged"] += 1

    known = _read_many(conn, first, namespace)
    for obj in first:
        _one(obj, known)
    if not dry_run:
        for obj in first:
            name = obj["metadata"]["name"]
            if obj["kind"] == "CustomResourceDefinition" and name not in established:
                wait_crd_established(conn, name, timeout=timeout)
    known = _read_many(conn, rest, namespace)
    for obj in rest:
        _one(obj, known)
    return summary


def _read_many(conn, objs, namespace):
    """The live objects of ``objs`` with one list per kind and namespace that
    names two objects or more: ``{key: object or None}``. Objects left out
    (CRDs, which are large to list; a kind not served yet; a kind named once) are
    read one by one by ``ensure``."""
    groups = {}
    for obj in objs:
        if obj["kind"] == "CustomResourceDefinition" or not (obj.get("metadata") or {}).get("name"):
            continue
        api_version, kind, ns, name = _key(obj, namespace)
        groups.setdefault((api_version, kind, ns), []).append(name)
    known = {}
    for (api_version, kind, ns), names in groups.items():
        if len(names) < 2:
            continue
        try:
            res = kclient.resource(conn.dynamic(), api_version, kind)
            if res.namespaced and not ns:
                continue
            items = kread.list_objects(conn, api_version, kind, namespace=ns if res.namespaced else None)
        except CommandExecutionError as exc:
            log.debug("maia_kube: no list of %s %s (%s); reading them one by one", kind, ns, exc)
            continue
        by_name = {(item.get("metadata") or {}).get("name"): item for item in items}
        for name in names:
            known[(api_version, kind, ns, name)] = by_name.get(name)
    return known
