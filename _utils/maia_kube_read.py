"""Reads of Kubernetes objects for maia_kube: ping, version, get (and the reads a run
remembers for the next ensure), list; and the one request helper the writes use too.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): every
function takes a ``maia_kube_client.Connection`` (the calling module's kubeconfig, context
dict and cache folder). Results are plain dicts; errors are ``CommandExecutionError`` with a
kind (``maia_error_kinds``) and the API's message, never an object's data.
"""
import maia_kube_client as kclient
from maia_error_kinds import error as _error

# Objects read with get(remember=True) in this Salt run, for the next ensure of the same object:
# two states that manage fields of one object (the ArgoCD admin password, and the install manifest
# that holds the same Secret) then read it once. Each entry is used once; any write drops them all.
# A state run's __context__ is its own copy (state.apply), so nothing here outlives the run.
REMEMBERED = "maia_kube.remembered"

# what recall returns when nothing was remembered
UNKNOWN = object()


def ident(kind, name, namespace=None):
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def to_dict(obj, api_version=None, kind=None):
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


def raw(_client, data):
    """The client's serializer that keeps the answer as it came (a dict)."""
    return data


def forget_reads(conn):
    conn.cache.pop(REMEMBERED, None)


def _memo_key(conn, api_version, kind, name, namespace):
    return (conn.path, conn.context, api_version, kind, namespace, name)


def recall(conn, api_version, kind, name, namespace):
    """The object get(remember=True) read in this run (used once), or ``UNKNOWN``."""
    return (conn.cache.get(REMEMBERED) or {}).pop(_memo_key(conn, api_version, kind, name, namespace), UNKNOWN)


def request(conn, method, path, what, body=None, **params):
    """One request with error translation; any request but a GET forgets the remembered reads."""
    params.setdefault("serializer", raw)
    dyn = conn.dynamic()
    if method.lower() != "get":
        forget_reads(conn)
    try:
        return dyn.request(method, path, body=body, **params)
    except Exception as exc:  # pylint: disable=broad-except
        raise kclient.api_error(f"{what} failed", exc) from None


def resource(conn, api_version, kind, namespace, what):
    """``(resource, namespace)``: the API resource of the kind, and the namespace to use
    (None for a cluster-scoped kind; required for a namespaced one)."""
    res = kclient.resource(conn.dynamic(), api_version, kind)
    return res, kclient.ns_for(res, namespace, what)


def version(conn):
    return dict(request(conn, "get", "/version", "GET /version"))


def check_credentials(conn):
    """Ask ``/api``, which needs credentials on a real API server (``/version`` is public)."""
    request(conn, "get", "/api", "GET /api")


def get(conn, api_version, kind, name, namespace=None, remember=False):
    """The object as a dict, or None when it does not exist; ``remember`` keeps it for
    ``recall`` (the next ensure of the same object in this run)."""
    res, namespace = resource(conn, api_version, kind, namespace, f"get {kind} {name}")
    dyn = conn.dynamic()
    try:
        obj = dyn.request("get", res.path(name=name, namespace=namespace), serializer=raw)
    except Exception as exc:  # pylint: disable=broad-except
        if kclient.http_status(exc) == 404:
            if kclient.endpoint_missing(exc):
                # the kind is gone (CRD deleted, API restarted): the discovery cache is stale
                kclient.invalidate_discovery(dyn)
                raise kclient.no_kind(api_version, kind, " any more") from None
            obj = None
        else:
            raise kclient.api_error(f"get {ident(kind, name, namespace)} failed", exc) from None
    obj = to_dict(obj, api_version, kind)
    if remember:
        conn.cache.setdefault(REMEMBERED, {})[_memo_key(conn, api_version, kind, name, namespace)] = obj
    return obj


def list_objects(conn, api_version, kind, namespace=None, label_selector=None, field_selector=None):
    """Objects of a kind as dicts (each with apiVersion and kind); ``namespace=None`` lists a
    namespaced kind across all namespaces."""
    res = kclient.resource(conn.dynamic(), api_version, kind)
    params = {}
    if label_selector:
        params["label_selector"] = label_selector
    if field_selector:
        params["field_selector"] = field_selector
    path = res.path(namespace=namespace if res.namespaced else None)
    result = to_dict(request(conn, "get", path, f"list {kind}", **params))
    return [to_dict(item, api_version, kind) for item in (result.get("items") or [])]
