"""
maia_kube: the Kubernetes client layer every maia-salt module uses.

The public execution-module API over the host-side library (``_utils/``,
docs/development.md, "Host-side library"), imported plainly: the client
(``maia_kube_client``: kubeconfig, cached dynamic client, discovery, error
translation), reads (``maia_kube_read``), writes (``maia_kube_write``), the
comparison (``maia_kube_compare``) and manifests and CRDs
(``maia_kube_manifests``). Each function here resolves the kubeconfig and hands
the library a connection; other host modules import the library themselves.

States talk to Kubernetes through these functions
(``__salt__["maia_kube.ensure"](...)``), never by parsing kubectl output. They
use the official ``kubernetes`` Python client's DynamicClient, so
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
import importlib.util
import logging
import os

import salt.utils.args
from salt.exceptions import CommandExecutionError

import maia_error_kinds  # _utils/: shipped and put on sys.path by Salt's loader
import maia_kube_client as kclient
import maia_kube_compare
import maia_kube_manifests as kmanifests
import maia_kube_read as kread
import maia_kube_write as kwrite

log = logging.getLogger(__name__)

__virtualname__ = "maia_kube"
__func_alias__ = {"list_": "list"}

DEFAULT_KUBECONFIG = kclient.DEFAULT_KUBECONFIG
DEFAULT_FIELD_MANAGER = kwrite.DEFAULT_FIELD_MANAGER
PATCH_TYPES = kwrite.PATCH_TYPES


def __virtual__():
    if importlib.util.find_spec("kubernetes") is None:
        return (
            False,
            "maia_kube: the Python 'kubernetes' client is not installed "
            "(apt-get install python3-kubernetes, or pip install kubernetes)",
        )
    return __virtualname__


def _conn(kubeconfig=None, context=None):
    """The library's connection: ``kubeconfig``, else ``maia:kubeconfig`` (pillar, minion
    config), checked when first used; this run's ``__context__`` and the cache folder."""
    path = kubeconfig or __salt__["config.get"]("maia:kubeconfig", DEFAULT_KUBECONFIG)
    return kclient.Connection(path, context, __context__, __opts__.get("cachedir"))


def ping(kubeconfig=None, context=None):
    """
    True when the API server answers ``/api`` with the kubeconfig's credentials,
    False otherwise (the reason is logged at debug level).

    CLI example: ``salt-call maia_kube.ping``
    """
    try:
        kread.check_credentials(_conn(kubeconfig, context))
        return True
    except CommandExecutionError as exc:
        log.debug("maia_kube.ping: %s", exc)
        return False


def version(kubeconfig=None, context=None):
    """
    The API server's ``/version`` document (gitVersion, major, minor, ...).
    Raises CommandExecutionError when unreachable or unauthorised.
    """
    return kread.version(_conn(kubeconfig, context))


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
    return kread.get(_conn(kubeconfig, context), api_version, kind, name, namespace, remember=remember)


def list_(api_version, kind, namespace=None, label_selector=None, field_selector=None, kubeconfig=None,
          context=None):
    """
    List objects of a kind as a list of dicts (each with apiVersion and kind).
    ``namespace=None`` lists a namespaced kind across all namespaces.

    CLI example: ``salt-call maia_kube.list argoproj.io/v1alpha1 Application namespace=argocd``
    """
    return kread.list_objects(_conn(kubeconfig, context), api_version, kind, namespace,
                              label_selector=label_selector, field_selector=field_selector)


def exists(api_version, kind, name, namespace=None, kubeconfig=None, context=None):
    """True when the object exists."""
    return get(api_version, kind, name, namespace, kubeconfig=kubeconfig, context=context) is not None


def create(manifest, namespace=None, dry_run=False, kubeconfig=None, context=None):
    """
    Create an object (POST); fails with HTTP 409 AlreadyExists when it exists.
    ``namespace`` is used when the manifest has none. Returns the created object.
    """
    return kwrite.write(_conn(kubeconfig, context), "create", manifest, namespace, dry_run)


def replace(manifest, namespace=None, dry_run=False, kubeconfig=None, context=None):
    """
    Replace an object (PUT). With ``metadata.resourceVersion`` set, a stale
    version fails with HTTP 409 Conflict. Returns the stored object.
    """
    return kwrite.write(_conn(kubeconfig, context), "replace", manifest, namespace, dry_run)


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
    return kwrite.patch(_conn(kubeconfig, context), api_version, kind, name, patch, namespace=namespace,
                        patch_type=patch_type, subresource=subresource, dry_run=dry_run,
                        field_manager=field_manager)


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
    return kwrite.apply(_conn(kubeconfig, context), manifest, namespace, field_manager=field_manager, force=force,
                        dry_run=dry_run, subresource=subresource)


def apply_is_noop(manifest, live, field_manager=DEFAULT_FIELD_MANAGER):
    """
    True when a server-side apply of ``manifest`` by ``field_manager`` would
    leave ``live`` as it is, decided without asking the API server
    (``maia_kube_compare.apply_is_noop``, where the rules are written).
    """
    return maia_kube_compare.apply_is_noop(manifest, live, field_manager)


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
    return kwrite.ensure(_conn(kubeconfig, context), manifest, namespace, field_manager=field_manager,
                         force=force, dry_run=dry_run)


def delete(api_version, kind, name, namespace=None, propagation_policy="Background", dry_run=False, wait=False,
           timeout=60, interval=1, kubeconfig=None, context=None):
    """
    Delete an object. Returns False when it did not exist, True when deleted
    (or deletion started: objects with finalizers stay until the finalizers are
    cleared). ``wait=True`` waits up to ``timeout`` seconds until it is gone.
    """
    return kwrite.delete(_conn(kubeconfig, context), api_version, kind, name, namespace,
                         propagation_policy=propagation_policy, dry_run=dry_run, wait=wait, timeout=timeout,
                         interval=interval)


def wait_crd_established(name, timeout=60, interval=1, kubeconfig=None, context=None):
    """
    Wait until CustomResourceDefinition ``name`` (e.g. ``applications.argoproj.io``)
    has condition Established=True. Returns True; raises CommandExecutionError
    on timeout or when the CRD does not exist.
    """
    return kmanifests.wait_crd_established(_conn(kubeconfig, context), name, timeout=timeout, interval=interval)


def load_manifests(text):
    """Parse multi-document YAML into a list of object dicts (``kind: List`` expanded)."""
    return kmanifests.load_manifests(text)


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
    return kmanifests.apply_manifests(_conn(kubeconfig, context), manifests, namespace, field_manager=field_manager,
                                      force=force, dry_run=dry_run, timeout=timeout)


def _read_source(path):
    if "://" in str(path):
        cached = __salt__["cp.cache_file"](path)
        if not cached:
            raise maia_error_kinds.error("invalid", f"cannot fetch {path}")
        path = cached
    if not os.path.isfile(path):
        raise maia_error_kinds.error("invalid", f"manifest file {path} does not exist")
    with open(path, "rb") as handle:
        return handle.read()


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
    kmanifests.check_sha256_argument(path, sha256)
    data = _read_source(path)
    digest = kmanifests.verified_digest(path, data, sha256)
    summary = apply_manifests(data.decode("utf-8"), **salt.utils.args.clean_kwargs(**kwargs))
    summary["sha256"] = digest
    return summary
