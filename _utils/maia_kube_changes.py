"""What the Kubernetes object states of ``_states/maia_k8s.py`` report: an object's name,
its changes without values (``present``, ``<differs>``, ``<applied>``, label changes), the
return from an ``apply_manifests`` summary; and the files a Secret or ConfigMap is made of,
with the manifest each is applied as.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): plain
functions, no Salt dunders. Changes are ``{what: {"old": ..., "new": ...}}`` as Salt's own
states write them; values are never shown, only these words.
"""
import base64
import os

def ident(manifest, namespace=None):
    meta = manifest.get("metadata") or {}
    ns = meta.get("namespace") or namespace
    return f"{manifest['kind']} {ns}/{meta['name']}" if ns else f"{manifest['kind']} {meta['name']}"


PRESENT = "present"
DIFFERS = "<differs>"
APPLIED = "<applied>"


def created(what):
    return {what: {"old": None, "new": PRESENT}}


def updated(fields):
    return {field: {"old": DIFFERS, "new": APPLIED} for field in fields}


def read_files(files):
    data, missing = {}, []
    for key, path in files.items():
        if not os.path.isfile(path):
            missing.append(f"{key} ({path})")
            continue
        with open(path, "rb") as fh:
            data[key] = fh.read()
    return data, missing


def secret_manifest(name, namespace, data, secret_type="Opaque", labels=None):
    """The Secret holding ``data`` (``{key: bytes}``, as ``read_files`` reads them)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, **({"labels": labels} if labels else {})},
        "type": secret_type,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


def configmap_manifest(name, namespace, data):
    """The ConfigMap holding ``data`` (``{key: bytes}`` of UTF-8 text)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {k: v.decode("utf-8") for k, v in data.items()},
    }


def labels_change(labels, current):
    return {f"labels.{k}": {"old": current.get(k), "new": v} for k, v in sorted(labels.items())}


def applied(ret, summary, what, test):
    """The state's return from a ``maia_kube.apply_manifests`` summary."""
    created, changed = summary.get("created") or [], summary.get("changed") or []
    if not created and not changed:
        ret["comment"] = f"All {what} are in the desired state"
        return ret
    ret["changes"] = {**{ident: {"old": None, "new": PRESENT} for ident in created}, **updated(changed)}
    verb = "would be created" if test else "created"
    ret["comment"] = f"{what}: {len(created)} {verb}, {len(changed)} updated"
    if test:
        ret["result"] = None
    return ret
