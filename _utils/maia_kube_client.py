"""The Kubernetes client of maia_kube: kubeconfig, the cached dynamic client, discovery,
and the translation of the client's exceptions into the error kinds.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): plain
functions of the values they are given; the calling module passes its context dict
(the client cache) and cache folder. Messages carry HTTP status and the API's message,
never an object's data.
"""
import hashlib
import json
import logging
import os

from maia_error_kinds import error as _error

log = logging.getLogger(__name__)

DEFAULT_KUBECONFIG = "/etc/maia/kubeconfig"


def kubeconfig_path(path):
    """``path`` (or the default), checked to exist."""
    path = path or DEFAULT_KUBECONFIG
    if not os.path.isfile(path):
        raise _error(
            "no_kubeconfig", f"kubeconfig {path} does not exist: set pillar maia:kubeconfig or pass kubeconfig=PATH"
        )
    return path


def discovery_cache_file(path, context, cachedir):
    """Where the client keeps its discovery cache for this kubeconfig/context (None: no cache)."""
    if not cachedir:
        return None
    digest = hashlib.sha256(f"{path}:{context}".encode()).hexdigest()[:16]
    folder = os.path.join(cachedir, "maia_kube")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return os.path.join(folder, f"discovery-{digest}.json")


def client(path, context, cache, cachedir):
    """A DynamicClient for the kubeconfig ``path`` (checked) and ``context``, kept in the dict
    ``cache`` (the calling module's context) while the file is unchanged."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = 0
    key = ("maia_kube.client", path, context, mtime)
    if key in cache:
        return cache[key]

    from kubernetes import config as kconfig
    from kubernetes import dynamic

    try:
        api_client = kconfig.new_client_from_config(
            config_file=path, context=context, persist_config=False
        )
    except Exception as exc:  # pylint: disable=broad-except
        raise _error("invalid", f"cannot load kubeconfig {path}: {exc}") from None
    try:
        dyn = dynamic.DynamicClient(api_client, cache_file=discovery_cache_file(path, context, cachedir))
    except Exception as exc:  # pylint: disable=broad-except
        raise api_error(
            f"cannot reach the Kubernetes API at {api_client.configuration.host} (kubeconfig {path})", exc
        ) from None
    cache[key] = dyn
    return dyn


def api_error(what, exc):
    """The error for a failed call of the client: its kind from the HTTP status
    (none: the server did not answer), its message ``what: <status and message>``."""
    status = http_status(exc)
    kind = "unreachable" if status is None else "not_found" if status == 404 else "api"
    return _error(kind, f"{what}: {describe(exc)}")


def no_kind(api_version, kind, when=""):
    return _error(
        "no_kind",
        f"the Kubernetes API serves no kind {kind} in {api_version}{when} "
        "(is its CustomResourceDefinition installed and established?)",
    )


def describe(exc):
    """A one-line description of a client exception, without request/response bodies."""
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    message = None
    body = getattr(exc, "body", None)
    if body:
        try:
            if isinstance(body, bytes):
                body = body.decode("utf-8", "replace")
            message = json.loads(body).get("message")
        except Exception:  # pylint: disable=broad-except
            message = None
    if status is None:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return text[:300]
    out = f"HTTP {status}"
    if reason:
        out += f" {reason}"
    if message:
        out += f": {message[:500]}"
    return out


def http_status(exc):
    """The HTTP status of a client exception (None: the server did not answer)."""
    return getattr(exc, "status", None)


def endpoint_missing(exc):
    """A 404 for the resource type itself (not for one object): its Status has no details.name."""
    body = getattr(exc, "body", None)
    try:
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        status = json.loads(body) if body else {}
    except ValueError:
        return False
    return isinstance(status, dict) and not (status.get("details") or {}).get("name") and (
        "could not find the requested resource" in str(status.get("message", ""))
    )


def invalidate_discovery(dyn):
    try:
        dyn.resources.invalidate_cache()
    except Exception:  # pylint: disable=broad-except
        log.debug("maia_kube: could not invalidate the discovery cache", exc_info=True)


def resource(dyn, api_version, kind):
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    try:
        return dyn.resources.get(api_version=api_version, kind=kind)
    except ResourceNotFoundError:
        raise no_kind(api_version, kind) from None
    except Exception as exc:  # pylint: disable=broad-except
        raise api_error(f"discovery of {api_version} {kind} failed", exc) from None


class Connection:
    """One kubeconfig and context as a calling module uses them: ``kubeconfig`` (the path it
    resolved, checked when first used), ``context``, its context dict ``cache`` (the client, and
    the reads ``maia_kube_read`` remembers) and its cache folder."""

    def __init__(self, kubeconfig, context, cache, cachedir):
        self.kubeconfig, self.context, self.cache, self.cachedir = kubeconfig, context, cache, cachedir

    @property
    def path(self):
        return kubeconfig_path(self.kubeconfig)

    def dynamic(self):
        """The DynamicClient (built once per file version and kept in ``cache``)."""
        return client(self.path, self.context, self.cache, self.cachedir)


def ns_for(resource, namespace, what):
    if resource.namespaced:
        if not namespace:
            raise _error("invalid", f"{what}: {resource.kind} is namespaced, pass namespace=")
        return namespace
    return None
