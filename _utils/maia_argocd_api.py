"""Reads and writes of ArgoCD objects (Applications, AppProjects, repository Secrets) over
the Kubernetes API, and the list of Applications a run keeps between sync waves.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): every
function takes a ``maia_kube_client.Connection`` and goes through ``maia_kube_read`` and
``maia_kube_write`` (one request per call once discovery is cached). Errors keep their
kind (``maia_error_kinds``) and lose every secret value of the request.
"""
import maia_error_kinds
import maia_kube_read as kread
import maia_kube_write as kwrite
import maia_secret_mask
from maia_argocd_objects import KINDS


def _scrubbed(call, *args, secrets=(), **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        raise maia_error_kinds.with_message(exc, maia_secret_mask.scrub(str(exc), secrets)) from None


# A list of Applications a sync wave found with nothing to do, kept for the next wave
# of the same Salt run (``remember_list``/``recall_list``): when it shows every app of
# that wave Synced and Healthy too, that wave needs no list of its own. Any write
# through this module forgets it. A state run's __context__ is its own copy
# (state.apply), so nothing here outlives the run.
LISTED = "maia_argocd.listed"


def remember_list(conn, objs, kind, namespace):
    """Keep ``objs`` (what a list of ``kind`` in ``namespace`` read) for ``recall_list``."""
    conn.cache[LISTED] = {"key": (kind, namespace, conn.kubeconfig), "objs": objs}


def recall_list(conn, kind, namespace):
    """What ``remember_list`` kept in this run, when no write came after it, else ``None``."""
    kept = conn.cache.get(LISTED)
    return kept["objs"] if kept and kept["key"] == (kind, namespace, conn.kubeconfig) else None


def _forget_list(conn):
    conn.cache.pop(LISTED, None)


def get(conn, kind, name, namespace="argocd"):
    """The live object, or ``None`` (Secrets as the API returns them: ``data`` base64-encoded)."""
    return _scrubbed(kread.get, conn, KINDS[kind][0], kind, name, namespace)


def list_objects(conn, kind="Application", namespace="argocd"):
    return _scrubbed(kread.list_objects, conn, KINDS[kind][0], kind, namespace)


def create(conn, manifest, secret_keys=None):
    _forget_list(conn)
    return _scrubbed(kwrite.write, conn, "create", manifest,
                     secrets=maia_secret_mask.collect(manifest, secret_keys))


def patch(conn, kind, name, namespace, body, secret_keys=None):
    """JSON merge patch (RFC 7386) of one object; the patched object."""
    _forget_list(conn)
    return _scrubbed(kwrite.patch, conn, KINDS[kind][0], kind, name, body, namespace=namespace,
                     patch_type="merge", secrets=maia_secret_mask.collect(body, secret_keys))


def delete(conn, kind, name, namespace="argocd"):
    """``True`` when a delete was sent, ``False`` when the object was gone."""
    _forget_list(conn)
    return _scrubbed(kwrite.delete, conn, KINDS[kind][0], kind, name, namespace)
