"""Writes of Kubernetes objects for maia_kube: create, replace, patch, server-side apply,
ensure (apply only what differs, say what changed) and delete.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): every
function takes a ``maia_kube_client.Connection``; reads go through ``maia_kube_read``, the
decision whether an apply would change anything through ``maia_kube_compare``. A write
forgets the reads the run remembered.
"""
import json
import time

import maia_kube_client as kclient
import maia_kube_compare
import maia_kube_read as kread
import yaml
from maia_error_kinds import error as _error

DEFAULT_FIELD_MANAGER = "maia-salt"

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


def _dry(dry_run):
    return "All" if dry_run else None


def load_manifest(manifest):
    """``manifest`` (a mapping or YAML text of one), checked to name apiVersion, kind and name."""
    if isinstance(manifest, (str, bytes)):
        manifest = yaml.safe_load(manifest)
    if not isinstance(manifest, dict):
        raise _error("invalid", "manifest must be a mapping (or YAML text of one)")
    for key in ("apiVersion", "kind"):
        if not manifest.get(key):
            raise _error("invalid", f"manifest has no {key}")
    meta = manifest.get("metadata") or {}
    if not meta.get("name") and not meta.get("generateName"):
        raise _error("invalid", f"{manifest['kind']} manifest has no metadata.name")
    return manifest


def _own_copy(manifest):
    """A copy whose top level and metadata may be changed (the rest is shared, never mutated)."""
    manifest = dict(manifest)
    manifest["metadata"] = dict(manifest.get("metadata") or {})
    return manifest


def _prepare(conn, manifest, namespace, verb):
    """Common start of the writes: an own copy of the manifest, the resource, and the
    namespace (set in the manifest for namespaced kinds)."""
    manifest = _own_copy(load_manifest(manifest))
    meta = manifest["metadata"]
    what = f"{verb} {manifest['kind']} {meta.get('name') or ''}".rstrip()
    res, ns = kread.resource(conn, manifest["apiVersion"], manifest["kind"], meta.get("namespace") or namespace, what)
    if ns:
        meta["namespace"] = ns
    return manifest, res, ns


def write(conn, verb, manifest, namespace=None, dry_run=False):
    """``create`` (POST to the collection) or ``replace`` (PUT to the object) of one manifest."""
    manifest, res, ns = _prepare(conn, manifest, namespace, verb)
    meta = manifest["metadata"]
    if verb == "create":
        method, path, name = "post", res.path(namespace=ns), meta.get("name") or meta.get("generateName")
    else:
        method, path, name = "put", res.path(name=meta["name"], namespace=ns), meta["name"]
    obj = kread.request(conn, method, path, f"{verb} {kread.ident(manifest['kind'], name, ns)}",
                        body=manifest, content_type="application/json", dry_run=_dry(dry_run))
    return kread.to_dict(obj, manifest["apiVersion"], manifest["kind"])


def patch(conn, api_version, kind, name, body, namespace=None, patch_type="merge", subresource=None,
          dry_run=False, field_manager=DEFAULT_FIELD_MANAGER):
    """Patch one object (``merge``, ``strategic``, ``json`` or ``apply``) and return it."""
    if patch_type not in PATCH_TYPES:
        raise _error("invalid", f"patch_type must be one of {', '.join(PATCH_TYPES)}, not {patch_type!r}")
    if isinstance(body, (str, bytes)):
        body = yaml.safe_load(body)
    res, namespace = kread.resource(conn, api_version, kind, namespace, f"patch {kind} {name}")
    path = res.path(name=name, namespace=namespace)
    if subresource:
        path = f"{path}/{subresource}"
    params = {"content_type": PATCH_TYPES[patch_type], "dry_run": _dry(dry_run)}
    if field_manager:
        params["field_manager"] = field_manager
    if patch_type == "apply":
        body = json.dumps(body)  # kubernetes client 22.x cannot encode a dict as apply-patch+yaml
    obj = kread.request(conn, "patch", path, f"patch {kread.ident(kind, name, namespace)}", body=body, **params)
    return kread.to_dict(obj, api_version, kind)


def apply(conn, manifest, namespace=None, field_manager=DEFAULT_FIELD_MANAGER, force=True, dry_run=False,
          subresource=None):
    """Server-side apply of one object (created when absent); the resulting object."""
    manifest, res, ns = _prepare(conn, manifest, namespace, "apply")
    meta = manifest["metadata"]
    path = res.path(name=meta["name"], namespace=ns)
    if subresource:
        path = f"{path}/{subresource}"
    obj = kread.request(
        conn,
        "patch",
        path,
        f"apply {kread.ident(manifest['kind'], meta['name'], ns)}",
        # as JSON text (valid YAML): kubernetes client 22.x cannot encode a dict as apply-patch+yaml
        body=json.dumps(manifest),
        content_type=PATCH_TYPES["apply"],
        field_manager=field_manager,
        force_conflicts=bool(force),
        dry_run=_dry(dry_run),
    )
    return kread.to_dict(obj, manifest["apiVersion"], manifest["kind"])


def ensure(conn, manifest, namespace=None, field_manager=DEFAULT_FIELD_MANAGER, force=True, dry_run=False,
           before=kread.UNKNOWN):
    """Apply one object only when it differs and say what changed:
    ``{"changed", "created", "diff": [dotted paths], "id", "object"}``. ``before`` is the live
    object when the caller has read it already (e.g. from a list)."""
    manifest = load_manifest(manifest)
    meta = manifest["metadata"]
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    _, ns = kread.resource(conn, api_version, kind, meta.get("namespace") or namespace,
                           f"apply {kind} {meta.get('name')}")
    if before is kread.UNKNOWN:
        before = kread.recall(conn, api_version, kind, meta["name"], ns)
    if before is kread.UNKNOWN:
        before = kread.get(conn, api_version, kind, meta["name"], ns)
    ident = kread.ident(kind, meta["name"], ns)
    if maia_kube_compare.apply_is_noop(manifest, before, field_manager):
        return {"id": ident, "created": False, "changed": False, "diff": [], "object": before}
    after = apply(conn, manifest, namespace=ns, field_manager=field_manager, force=force, dry_run=dry_run)
    keep_status = "status" in manifest
    diff = (
        maia_kube_compare.diff_paths(maia_kube_compare.comparable(before, keep_status),
                                     maia_kube_compare.comparable(after, keep_status))
        if before is not None
        else []
    )
    return {"id": ident, "created": before is None, "changed": before is None or bool(diff), "diff": diff,
            "object": after}


def delete(conn, api_version, kind, name, namespace=None, propagation_policy="Background", dry_run=False,
           wait=False, timeout=60, interval=1):
    """Delete one object: False when it did not exist, True when deleted (or deletion
    started); ``wait`` waits up to ``timeout`` seconds until it is gone."""
    res, namespace = kread.resource(conn, api_version, kind, namespace, f"delete {kind} {name}")
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation_policy}
    if dry_run:
        body["dryRun"] = ["All"]
    dyn = conn.dynamic()
    kread.forget_reads(conn)
    try:
        dyn.request("delete", res.path(name=name, namespace=namespace), body=body,
                    content_type="application/json", dry_run=_dry(dry_run), serializer=kread.raw)
    except Exception as exc:  # pylint: disable=broad-except
        if kclient.http_status(exc) == 404:
            return False
        raise kclient.api_error(f"delete {kread.ident(kind, name, namespace)} failed", exc) from None
    if wait and not dry_run:
        deadline = time.monotonic() + float(timeout)
        while kread.get(conn, api_version, kind, name, namespace):
            if time.monotonic() > deadline:
                raise _error("api", f"{kread.ident(kind, name, namespace)} still exists {timeout}s after deletion "
                             "(pending finalizers?)")
            time.sleep(float(interval))
    return True
