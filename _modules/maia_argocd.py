"""ArgoCD objects over the Kubernetes API: Applications, AppProjects, repository secrets.

Everything goes through the Kubernetes API (no ``argocd`` CLI, no login, no
port-forward): Applications and AppProjects are custom resources
(``argoproj.io/v1alpha1``). This module builds, reads, compares and writes
them; ``_modules/maia_argocd_sync.py`` requests syncs and follows them
(one concern each).

Functions for people: ``salt-call maia_argocd.app_diff NAME spec`` -- what
``maia_argocd.app_present`` would change (masked); ``maia_argocd.get``, ``maia_argocd.list``.

Functions the ``maia_argocd`` state module builds on: ``build_app``,
``build_project``, ``build_repository``, ``normalize``, ``diff``,
``merge_patch``, ``compare``, ``get``, ``create``, ``patch``, ``delete``.

Secret values (keys that look secret, see ``maia_secrets``) never leave this
module unmasked: changes, comments, errors and log lines are masked or scrubbed.
Errors are ``CommandExecutionError`` with a kind (``_utils/maia_error_kinds.py``).

The code is the host-side library (``_utils/``, docs/development.md, "Host-side
library"): ``maia_argocd_objects`` (build, normalise, compare, mask) and
``maia_argocd_api`` (reads and writes over ``maia_kube_read``/``maia_kube_write``);
this module offers it as the public execution-module API. The sync half lives apart
(``maia_argocd_sync``, over ``maia_argocd_status``).

The connection comes from
``kubeconfig`` (argument), else ``maia:kubeconfig`` (pillar or minion config),
else ``/etc/maia/kubeconfig``.
"""
# _utils/: shipped and put on sys.path by Salt's loader
import maia_argocd_api as api
import maia_kube_client as kclient
from maia_argocd_objects import (  # pylint: disable=unused-import; the public functions of this module
    API_VERSION,
    APP_SPEC_KEYS,
    GROUP,
    KINDS,
    RESOURCES_FINALIZER,
    SECRET_TYPE_LABEL,
    SYNC_WAVE_ANNOTATION,
    VERSION,
    build_app,
    build_project,
    build_repository,
    compare,
    decode_secret_data,
    desired_view,
    diff,
    encode_secret_data,
    live_view,
    mask,
    masked_changes,
    merge_patch,
    normalize,
)

__virtualname__ = "maia_argocd"
__func_alias__ = {"list_": "list"}


def __virtual__():
    return __virtualname__


def _conn(kubeconfig=None):
    """The library's connection for ``kubeconfig``, else ``maia:kubeconfig`` (pillar, minion config)."""
    path = kubeconfig or __salt__["config.get"]("maia:kubeconfig", kclient.DEFAULT_KUBECONFIG)
    return kclient.Connection(path, None, __context__, __opts__.get("cachedir"))


def get(kind, name, namespace="argocd", kubeconfig=None):
    """The live object, or ``None`` when it does not exist (Secrets as the API
    returns them: ``data`` base64-encoded; keep them away from output).

    CLI example::

        salt-call maia_argocd.get Application maia-core-traefik
    """
    return api.get(_conn(kubeconfig), kind, name, namespace)


def remember_list(objs, kind, namespace, kubeconfig=None):
    """Keep ``objs`` (a list of ``kind`` in ``namespace``, as ``list`` read it) for ``recall_list``."""
    api.remember_list(_conn(kubeconfig), objs, kind, namespace)


def recall_list(kind, namespace, kubeconfig=None):
    """The list ``remember_list`` kept in this run, when no write came after it, else ``None``."""
    return api.recall_list(_conn(kubeconfig), kind, namespace)


def create(manifest, kubeconfig=None, secret_keys=None):
    """Create ``manifest``; returns the object the server stored."""
    return api.create(_conn(kubeconfig), manifest, secret_keys)


def patch(kind, name, namespace, body, kubeconfig=None, secret_keys=None):
    """JSON merge patch (RFC 7386) of one object; returns the patched object."""
    return api.patch(_conn(kubeconfig), kind, name, namespace, body, secret_keys)


def delete(kind, name, namespace="argocd", kubeconfig=None):
    """Delete one object; ``True`` when a delete was sent, ``False`` when it was gone."""
    return api.delete(_conn(kubeconfig), kind, name, namespace)


def list_(kind="Application", namespace="argocd", kubeconfig=None):
    """Every object of ``kind`` in ``namespace``."""
    return api.list_objects(_conn(kubeconfig), kind, namespace)


def app_diff(name, spec, namespace="argocd", sync_wave=None, secret_keys=None, kubeconfig=None):
    """What ``maia_argocd.app_present`` would change for this Application (masked).

    CLI example::

        salt-call maia_argocd.app_diff maia-core-tempo '{"source": {...}, "destination": {...}}'
    """
    desired = build_app(name, spec, namespace, sync_wave=sync_wave)
    live = get("Application", name, namespace, kubeconfig)
    if live is None:
        return {"exists": False, "changes": {"new": mask(desired, secret_keys)}}
    _, changes = compare("Application", live, desired, secret_keys)
    return {"exists": True, "changes": changes}
