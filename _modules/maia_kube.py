"""
maia_kube: the Kubernetes client layer every maia-salt module uses.

The comparison (would an apply change anything?) lives in the host-side
library ``_utils/maia_kube_compare.py`` and the client (kubeconfig, cached
dynamic client, discovery, error translation) in ``_utils/maia_kube_client.py``,
both imported plainly; the read, write, CRD and manifest sections are still here
(docs/development.md, "Host-side library": the next steps of the split).

Other maia-salt modules and states talk to Kubernetes only through these
functions (``__salt__["maia_kube.apply"](...)``), never by parsing kubectl
output. They use the official ``kubernetes`` Python client's DynamicClient, so
any kind the API server knows (built-in or CRD-defined) works by
``apiVersion`` + ``kind``.

Every function takes ``kubeconfig=`` (path on the minion); the default is
``config.get('maia:kubeconfig', '/etc/maia/kubeconfig')`` (pillar, then
minion config). ``context=`` selects a kubeconfig context.

Works with the ``kubernetes`` client 22.x (Debian bookworm's
``python3-kubernetes``) and 37.x, on Python 3.10+. Results are plain dicts;
errors raise ``CommandExecutionError`` with the HTTP status and the API's
message, never with an object's data, and a kind the states read
(``_utils/maia_error_kinds.py``). Secret data is never logged.

CLI examples::

    salt-call maia_kube.ping
    salt-call maia_kube.get v1 Namespace argocd
    salt-call maia_kube.list v1 ConfigMap namespace=argocd label_selector=app=x
    salt-call maia_kube.apply_manifest_file /srv/argocd-install.yaml \
        sha256=795a3a97... namespace=argocd
"""
import hashlib
import importlib.util
import json
import logging
import os
import re
import time

import salt.utils.args
import yaml
from salt.exceptions import CommandExecutionError

import maia_error_kinds  # _utils/: shipped and put on sys.path by Salt's loader
import maia_kube_client as kclient
import maia_kube_compare

log = logging.getLogger(__name__)

__virtualname__ = "maia_kube"
__func_alias__ = {"list_": "list"}

DEFAULT_KUBECONFIG = kclient.DEFAULT_KUBECONFIG
DEFAULT_FIELD_MANAGER = "maia-salt"

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}



def __virtual__():
    if importlib.util.find_spec("kubernetes") is None:
        return (
            False,
            "maia_kube: the Python 'kubernetes' client is not installed "
            "(apt-get install python3-kubernetes, or pip install kubernetes)",
        )
    return __virtualname__


# --------------------------------------------------------------------------- client


def _kubeconfig_path(kubeconfig=None):
    """The kubeconfig to use: ``kubeconfig``, else ``maia:kubeconfig`` (pillar, minion config)."""
    return kclient.kubeconfig_path(kubeconfig or __salt__["config.get"]("maia:kubeconfig", DEFAULT_KUBECONFIG))


def _client(kubeconfig=None, context=None):
    """Return a (cached for this run) DynamicClient for this kubeconfig/context."""
    return kclient.client(_kubeconfig_path(kubeconfig), context, __context__, __opts__.get("cachedir"))


def _error(kind, message):
    """The error to raise: a CommandExecutionError of ``kind`` (see ``_utils/maia_error_kinds.py``)."""
    return maia_error_kinds.error(kind, message)


def _ident(kind, name, namespace=None):
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _to_dict(obj, api_version=None, kind=None):
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        obj = obj.to_dict()
    elif isinstance(obj, (str, bytes)):
        raise _error("api", "the Kubernetes API returned a non-JSON answer")
    obj = dict(obj)
    if api_version and "apiVersion" not in obj:
        obj["apiVersion"] = api_version
    if kind and "kind" not in obj:
        obj["kind"] = kind
    return obj


def _load_manifest(manifest):
    if isinstance(manifest, (str, bytes)):
        manifest = yaml.safe_load(manifest)
    if not isinstance(manifest, dict):
        raise _error("invalid", "manifest must be a mapping (or YAML text of one)")
    for key in ("apiVersion", "kind"):
        if not manifest.get(key):
            raise _error("invalid", f"manifest has no {key}")
    if not (manifest.get("metadata") or {}).get("name") and not (
        manifest.get("metadata") or {}
    ).get("generateName"):
        raise _error("invalid", f"{manifest['kind']} manifest has no metadata.name")
    return manifest


def _raw(_client, data):
    return data


def _own_copy(manifest):
    """A copy whose top level and metadata may be changed (the rest is shared, never mutated)."""
    manifest = dict(manifest)
    manifest["metadata"] = dict(manifest.get("metadata") or {})
    return manifest


def _request(dyn, method, path, what, body=None, **params):
    """dyn.request with error translation; returns a dict (or None for 404 on GET)."""
    params.setdefault("serializer", _raw)
    if method.lower() != "get":
        _forget_reads()
    try:
        return dyn.request(method, path, body=body, **params)
    except Exception as exc:  # pylint: disable=broad-except
        raise kclient.api_error(f"{what} failed", exc) from None


# --------------------------------------------------------------------------- read

# Objects read with get(remember=True) in this Salt run, for the next _ensure of the same object:
# two states that manage fields of one object (the ArgoCD admin password, and the install manifest
# that holds the same Secret) then read it once. Each entry is used once; any write drops them all.
# A state run's __context__ is its own copy (state.apply), so nothing here outlives the run.
_REMEMBERED = "maia_kube.remembered"


def _forget_reads():
    __context__.pop(_REMEMBERED, None)


def _memo_key(api_version, kind, name, namespace, kubeconfig, context):
    return (_kubeconfig_path(kubeconfig), context, api_version, kind, namespace, name)


def _recall(api_version, kind, name, namespace, kubeconfig, context):
    """The object get(remember=True) read in this run (used once), or _UNKNOWN."""
    key = _memo_key(api_version, kind, name, namespace, kubeconfig, context)
    return (__context__.get(_REMEMBERED) or {}).pop(key, _UNKNOWN)



def ping(kubeconfig=None, context=None):
    """
    True when the API server answers ``/api`` with the kubeconfig's credentials,
    False otherwise (the reason is logged at debug level).

    CLI example: ``salt-call maia_kube.ping``
    """
    try:
        dyn = _client(kubeconfig, context)
        # /api needs credentials on a real API server (/version is public)
        _request(dyn, "get", "/api", "GET /api", serializer=_raw)
        return True
    except CommandExecutionError as exc:
        log.debug("maia_kube.ping: %s", exc)
        return False


def version(kubeconfig=None, context=None):
    """
    The API server's ``/version`` document (gitVersion, major, minor, ...).
    Raises CommandExecutionError when unreachable or unauthorised.
    """
    dyn = _client(kubeconfig, context)
    return dict(_request(dyn, "get", "/version", "GET /version", serializer=_raw))


def get(api_version, kind, name, namespace=None, kubeconfig=None, context=None, remember=False):
    """
    The object as a dict, or None when it does not exist.

    api_version
        e.g. ``v1``, ``apps/v1``, ``argoproj.io/v1alpha1``
    kind
        e.g. ``Secret``, ``Application``
    namespace
        required for namespaced kinds, ignored for cluster-scoped ones
    remember
        keep what was read for the next ``ensure`` of the same object in this
        Salt run (used once; any write through this module forgets it), so a
        second state that manages other fields of the object does not read it
        again

    CLI example: ``salt-call maia_kube.get v1 Namespace argocd``
    """
    dyn = _client(kubeconfig, context)
    res = kclient.resource(dyn, api_version, kind)
    namespace = kclient.ns_for(res, namespace, f"get {kind} {name}")
    obj = _get(dyn, res, api_version, kind, name, namespace)
    if remember:
        __context__.setdefault(_REMEMBERED, {})[_memo_key(api_version, kind, name, namespace, kubeconfig, context)] = obj
    return obj


def _get(dyn, res, api_version, kind, name, namespace):
    try:
        obj = dyn.request("get", res.path(name=name, namespace=namespace), serializer=_raw)
    except Exception as exc:  # pylint: disable=broad-except
        if kclient.http_status(exc) == 404:
            if kclient.endpoint_missing(exc):
                # the kind is gone (CRD deleted, API restarted): the discovery cache is stale
                kclient.invalidate_discovery(dyn)
                raise kclient.no_kind(api_version, kind, " any more") from None
            return None
        raise kclient.api_error(f"get {_ident(kind, name, namespace)} failed", exc) from None
    return _to_dict(obj, api_version, kind)


def list_(
    api_version,
    kind,
    namespace=None,
    label_selector=None,
    field_selector=None,
    kubeconfig=None,
    context=None,
):
    """
    List objects of a kind as a list of dicts (each with apiVersion and kind).
    ``namespace=None`` lists a namespaced kind across all namespaces.

    CLI example: ``salt-call maia_kube.list argoproj.io/v1alpha1 Application namespace=argocd``
    """
    dyn = _client(kubeconfig, context)
    res = kclient.resource(dyn, api_version, kind)
    params = {}
    if label_selector:
        params["label_selector"] = label_selector
    if field_selector:
        params["field_selector"] = field_selector
    path = res.path(namespace=namespace if res.namespaced else None)
    result = _to_dict(_request(dyn, "get", path, f"list {kind}", **params))
    return [_to_dict(item, api_version, kind) for item in (result.get("items") or [])]


def exists(api_version, kind, name, namespace=None, kubeconfig=None, context=None):
    """True when the object exists."""
    return get(api_version, kind, name, namespace, kubeconfig=kubeconfig, context=context) is not None


# --------------------------------------------------------------------------- write


def _dry(dry_run):
    return "All" if dry_run else None



def _prepare(manifest, namespace, kubeconfig, context, verb):
    """Common start of the write calls: an own copy of the manifest, the client,
    the resource, and the namespace (set in the manifest for namespaced kinds)."""
    manifest = _own_copy(_load_manifest(manifest))
    dyn = _client(kubeconfig, context)
    res = kclient.resource(dyn, manifest["apiVersion"], manifest["kind"])
    meta = manifest.setdefault("metadata", {})
    ns = kclient.ns_for(res, meta.get("namespace") or namespace, f"{verb} {manifest['kind']} {meta.get('name') or ''}".rstrip())
    if ns:
        meta["namespace"] = ns
    return manifest, dyn, res, ns

def create(manifest, namespace=None, dry_run=False, kubeconfig=None, context=None):
    """
    Create an object (POST); fails with HTTP 409 AlreadyExists when it exists.
    ``namespace`` is used when the manifest has none. Returns the created object.
    """
    return _write("create", manifest, namespace, dry_run, kubeconfig, context)


def replace(manifest, namespace=None, dry_run=False, kubeconfig=None, context=None):
    """
    Replace an object (PUT). With ``metadata.resourceVersion`` set, a stale
    version fails with HTTP 409 Conflict. Returns the stored object.
    """
    return _write("replace", manifest, namespace, dry_run, kubeconfig, context)


def _write(verb, manifest, namespace, dry_run, kubeconfig, context):
    """create (POST to the collection) or replace (PUT to the object) of one manifest."""
    manifest, dyn, res, ns = _prepare(manifest, namespace, kubeconfig, context, verb)
    meta = manifest["metadata"]
    if verb == "create":
        method, path, name = "post", res.path(namespace=ns), meta.get("name") or meta.get("generateName")
    else:
        method, path, name = "put", res.path(name=meta["name"], namespace=ns), meta["name"]
    obj = _request(
        dyn,
        method,
        path,
        f"{verb} {_ident(manifest['kind'], name, ns)}",
        body=manifest,
        content_type="application/json",
        dry_run=_dry(dry_run),
    )
    return _to_dict(obj, manifest["apiVersion"], manifest["kind"])


def patch(
    api_version,
    kind,
    name,
    patch,  # pylint: disable=redefined-outer-name
    namespace=None,
    patch_type="merge",
    subresource=None,
    dry_run=False,
    field_manager=DEFAULT_FIELD_MANAGER,
    kubeconfig=None,
    context=None,
):
    """
    Patch an object and return it.

    patch
        the patch: a dict (merge/strategic), a list of operations (json), or YAML text
    patch_type
        ``merge`` (RFC 7386, default), ``strategic``, ``json`` (RFC 6902) or ``apply``
    subresource
        e.g. ``status`` to patch ``.../status``

    CLI example: ``salt-call maia_kube.patch apps/v1 Deployment traefik '{"spec": {"replicas": 2}}' namespace=traefik``
    """
    if patch_type not in PATCH_TYPES:
        raise _error(
            "invalid", f"patch_type must be one of {', '.join(PATCH_TYPES)}, not {patch_type!r}"
        )
    if isinstance(patch, (str, bytes)):
        patch = yaml.safe_load(patch)
    dyn = _client(kubeconfig, context)
    res = kclient.resource(dyn, api_version, kind)
    namespace = kclient.ns_for(res, namespace, f"patch {kind} {name}")
    path = res.path(name=name, namespace=namespace)
    if subresource:
        path = f"{path}/{subresource}"
    params = {"content_type": PATCH_TYPES[patch_type], "dry_run": _dry(dry_run)}
    if field_manager:
        params["field_manager"] = field_manager
    if patch_type == "apply":
        patch = json.dumps(patch)  # kubernetes client 22.x cannot encode a dict as apply-patch+yaml
    obj = _request(
        dyn, "patch", path, f"patch {_ident(kind, name, namespace)}", body=patch, **params
    )
    return _to_dict(obj, api_version, kind)


def apply(manifest, namespace=None, field_manager=DEFAULT_FIELD_MANAGER, force=True, dry_run=False,
          subresource=None, kubeconfig=None, context=None):
    """
    Server-side apply (``application/apply-patch+yaml``) of one object; creates
    it when absent. Returns the resulting object (with ``dry_run=True`` the
    object as it would be, nothing stored).

    field_manager
        the SSA field manager (default ``maia-salt``)
    force
        take over fields owned by other managers instead of failing with 409

    CLI example: ``salt-call maia_kube.apply '{apiVersion: v1, kind: Namespace, metadata: {name: x}}'``
    """
    manifest, dyn, res, ns = _prepare(manifest, namespace, kubeconfig, context, "apply")
    meta = manifest["metadata"]
    path = res.path(name=meta["name"], namespace=ns)
    if subresource:
        path = f"{path}/{subresource}"
    obj = _request(
        dyn,
        "patch",
        path,
        f"apply {_ident(manifest['kind'], meta['name'], ns)}",
        # as JSON text (valid YAML): kubernetes client 22.x cannot encode a dict as apply-patch+yaml
        body=json.dumps(manifest),
        content_type=PATCH_TYPES["apply"],
        field_manager=field_manager,
        force_conflicts=bool(force),
        dry_run=_dry(dry_run),
    )
    return _to_dict(obj, manifest["apiVersion"], manifest["kind"])


def apply_is_noop(manifest, live, field_manager=DEFAULT_FIELD_MANAGER):
    """
    True when a server-side apply of ``manifest`` by ``field_manager`` would
    leave ``live`` as it is, decided without asking the API server
    (``maia_kube_compare.apply_is_noop``, where the rules are written).
    """
    return maia_kube_compare.apply_is_noop(manifest, live, field_manager)


_UNKNOWN = object()


def ensure(manifest, namespace=None, field_manager=DEFAULT_FIELD_MANAGER, force=True, dry_run=False,
           kubeconfig=None, context=None):
    """
    Server-side apply one object and say what changed: the building block for
    idempotent states (``test=True`` passes ``dry_run=True``).

    Reads the object first (one GET) and sends no apply at all when it already
    holds the manifest and ``field_manager`` owns exactly its fields
    (``apply_is_noop``): a re-run that changes nothing writes nothing.

    Returns ``{"changed": bool, "created": bool, "diff": [dotted paths], "id": "Kind ns/name",
    "object": <resulting object>}``. ``diff`` names changed fields only, never values;
    ``object`` may hold secret data: do not put it in a state's changes or comment.
    """
    return _ensure(manifest, namespace, field_manager, force, dry_run, kubeconfig, context)


def _ensure(manifest, namespace, field_manager, force, dry_run, kubeconfig, context, before=_UNKNOWN):
    """``ensure`` with the live object already read (``before``), e.g. from a list."""
    manifest = _load_manifest(manifest)
    dyn = _client(kubeconfig, context)
    res = kclient.resource(dyn, manifest["apiVersion"], manifest["kind"])
    meta = manifest["metadata"]
    ns = kclient.ns_for(res, meta.get("namespace") or namespace, f"apply {manifest['kind']} {meta.get('name')}")
    ident = _ident(manifest["kind"], meta["name"], ns)
    if before is _UNKNOWN:
        before = _recall(manifest["apiVersion"], manifest["kind"], meta["name"], ns, kubeconfig, context)
    if before is _UNKNOWN:
        before = get(
            manifest["apiVersion"], manifest["kind"], meta["name"], ns, kubeconfig=kubeconfig, context=context
        )
    if maia_kube_compare.apply_is_noop(manifest, before, field_manager):
        return {"id": ident, "created": False, "changed": False, "diff": [], "object": before}
    after = apply(manifest, namespace=ns, field_manager=field_manager, force=force, dry_run=dry_run,
                  kubeconfig=kubeconfig, context=context)
    keep_status = "status" in manifest
    diff = (
        maia_kube_compare.diff_paths(maia_kube_compare.comparable(before, keep_status),
                                     maia_kube_compare.comparable(after, keep_status))
        if before is not None
        else []
    )
    return {
        "id": ident,
        "created": before is None,
        "changed": before is None or bool(diff),
        "diff": diff,
        "object": after,
    }


def delete(
    api_version,
    kind,
    name,
    namespace=None,
    propagation_policy="Background",
    dry_run=False,
    wait=False,
    timeout=60,
    interval=1,
    kubeconfig=None,
    context=None,
):
    """
    Delete an object. Returns False when it did not exist, True when deleted
    (or deletion started: objects with finalizers stay until the finalizers are
    cleared). ``wait=True`` waits up to ``timeout`` seconds until it is gone.
    """
    dyn = _client(kubeconfig, context)
    res = kclient.resource(dyn, api_version, kind)
    namespace = kclient.ns_for(res, namespace, f"delete {kind} {name}")
    path = res.path(name=name, namespace=namespace)
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation_policy}
    if dry_run:
        body["dryRun"] = ["All"]
    _forget_reads()
    try:
        dyn.request(
            "delete",
            path,
            body=body,
            content_type="application/json",
            dry_run=_dry(dry_run),
            serializer=_raw,
        )
    except Exception as exc:  # pylint: disable=broad-except
        if kclient.http_status(exc) == 404:
            return False
        raise kclient.api_error(f"delete {_ident(kind, name, namespace)} failed", exc) from None
    if wait and not dry_run:
        deadline = time.monotonic() + float(timeout)
        while get(api_version, kind, name, namespace, kubeconfig=kubeconfig, context=context):
            if time.monotonic() > deadline:
                raise _error(
                    "api",
                    f"{_ident(kind, name, namespace)} still exists {timeout}s after deletion "
                    "(pending finalizers?)"
                )
            time.sleep(float(interval))
    return True


# --------------------------------------------------------------------------- CRDs and manifests


def _crd_established(crd):
    for cond in (crd.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Established" and cond.get("status") == "True":
            return True
    return False


def wait_crd_established(name, timeout=60, interval=1, kubeconfig=None, context=None):
    """
    Wait until CustomResourceDefinition ``name`` (e.g. ``applications.argoproj.io``)
    has condition Established=True. Returns True; raises CommandExecutionError
    on timeout or when the CRD does not exist.
    """
    deadline = time.monotonic() + float(timeout)
    while True:
        crd = get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            name,
            kubeconfig=kubeconfig,
            context=context,
        )
        if crd is not None and _crd_established(crd):
            return True
        if time.monotonic() > deadline:
            state = "does not exist" if crd is None else "is not Established"
            raise _error("no_kind" if crd is None else "api", f"CustomResourceDefinition {name} {state} after {timeout}s")
        time.sleep(float(interval))


def _read_source(path):
    if "://" in str(path):
        cached = __salt__["cp.cache_file"](path)
        if not cached:
            raise _error("invalid", f"cannot fetch {path}")
        path = cached
    if not os.path.isfile(path):
        raise _error("invalid", f"manifest file {path} does not exist")
    with open(path, "rb") as handle:
        return handle.read()


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


def _applied_first(obj):
    if obj["kind"] == "CustomResourceDefinition":
        return obj["apiVersion"].startswith("apiextensions.k8s.io/")
    return obj["kind"] == "Namespace" and obj["apiVersion"] == "v1"


def apply_manifests(
    manifests,
    namespace=None,
    field_manager=DEFAULT_FIELD_MANAGER,
    force=True,
    dry_run=False,
    timeout=120,
    kubeconfig=None,
    context=None,
):
    """
    Server-side apply a list of objects (or multi-document YAML text): CRDs and
    Namespaces first, then wait for the CRDs to be Established, then the rest.
    ``namespace`` is used for namespaced objects without one.

    Returns ``{"objects": n, "created": [ids], "changed": [ids], "unchanged": n}``
    (with ``dry_run=True`` what would happen; custom resources whose CRD is not
    installed yet count as created).
    """
    if isinstance(manifests, (str, bytes)):
        manifests = load_manifests(manifests)
    objs = [_load_manifest(m) for m in manifests]
    first = [o for o in objs if _applied_first(o)]
    rest = [o for o in objs if not any(o is f for f in first)]
    summary = {"objects": len(objs), "created": [], "changed": [], "unchanged": 0}
    established = set()

    def _one(obj, known):
        key = _key(obj, namespace)
        try:
            result = _ensure(obj, namespace, field_manager, force, dry_run, kubeconfig, context,
                             before=known.get(key, _UNKNOWN))
        except CommandExecutionError as exc:
            # in a dry run, kinds of CRDs and namespaces of the same manifest do not exist yet
            if dry_run and maia_error_kinds.kind(exc) in ("no_kind", "not_found"):
                ns = (obj.get("metadata") or {}).get("namespace") or namespace
                summary["created"].append(_ident(obj["kind"], obj["metadata"]["name"], ns))
                return
            raise
        if obj["kind"] == "CustomResourceDefinition" and _crd_established(result["object"] or {}):
            established.add(obj["metadata"]["name"])
        if result["created"]:
            summary["created"].append(result["id"])
        elif result["changed"]:
            summary["changed"].append(result["id"])
        else:
            summary["unchanged"] += 1

    known = _read_many(first, namespace, kubeconfig, context)
    for obj in first:
        _one(obj, known)
    if not dry_run:
        for obj in first:
            name = obj["metadata"]["name"]
            if obj["kind"] == "CustomResourceDefinition" and name not in established:
                wait_crd_established(name, timeout=timeout, kubeconfig=kubeconfig, context=context)
    known = _read_many(rest, namespace, kubeconfig, context)
    for obj in rest:
        _one(obj, known)
    return summary


def _key(obj, namespace):
    meta = obj.get("metadata") or {}
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or namespace, meta.get("name"))


def _read_many(objs, namespace, kubeconfig, context):
    """The live objects of ``objs`` with one list per kind and namespace that
    names two objects or more: ``{key: object or None}``. Objects left out
    (CRDs, which are large to list; a kind not served yet; a kind named once) are
    read one by one by ``_ensure``."""
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
            dyn = _client(kubeconfig, context)
            res = kclient.resource(dyn, api_version, kind)
            scope = ns if res.namespaced else None
            if res.namespaced and not ns:
                continue
            items = list_(api_version, kind, namespace=scope, kubeconfig=kubeconfig, context=context)
        except CommandExecutionError as exc:
            log.debug("maia_kube: no list of %s %s (%s); reading them one by one", kind, ns, exc)
            continue
        by_name = {(item.get("metadata") or {}).get("name"): item for item in items}
        for name in names:
            known[(api_version, kind, ns, name)] = by_name.get(name)
    return known


def apply_manifest_file(path, sha256=None, **kwargs):
    """
    Check a manifest file's sha256 (when given) before anything else, then
    server-side apply every object in it with ``apply_manifests`` (its keyword
    arguments: ``namespace``, ``field_manager``, ``force``, ``dry_run``,
    ``timeout``, ``kubeconfig``, ``context``).

    path
        local path on the minion, or a ``salt://``/``https://`` source fetched with cp.cache_file
    sha256
        expected hex digest; a mismatch raises CommandExecutionError and applies nothing

    Returns the ``apply_manifests`` summary plus ``sha256``.

    CLI example: ``salt-call maia_kube.apply_manifest_file /tmp/install.yaml sha256=795a... namespace=argocd``
    """
    if sha256 is not None and sha256 != "" and not re.match(r"^[0-9a-fA-F]{64}$", str(sha256).strip()):
        raise _error(
            "invalid",
            f"sha256 for {path} must be 64 hex digits, got {str(sha256)[:80]!r} "
            "(quote it in YAML and on the command line); nothing applied"
        )
    data = _read_source(path)
    digest = hashlib.sha256(data).hexdigest()
    if sha256 and digest != str(sha256).lower().strip():
        raise _error(
            "invalid",
            f"sha256 mismatch for {path}: expected {sha256}, got {digest}; nothing applied"
        )
    summary = apply_manifests(data.decode("utf-8"), **salt.utils.args.clean_kwargs(**kwargs))
    summary["sha256"] = digest
    return summary
