"""MAIA core layer (stage 3): Salt adapter over the ``maia_salt.core`` library.

The settings, Helm values and specs are built by the plain library
``src/maia_salt/core`` (context, values, specs), which reaches this host the way
all host code does, through ``file_roots``: ``_utils/maia_layers`` (synced with
``saltutil.sync_utils`` or ``sync_all``) holds it as ``maia_layers.core``. Its
functions (``mapdata``, ``applications``, ``application``, ``project``,
``namespaces``) are defined once, in ``maia_layers.stage_api``, for this module and
the salt-ssh wrapper; this module adds where its pillar comes from and the one
cluster action of the stage, the rollout restarts.

CLI::

    salt-call maia_core.applications          # every Application spec
    salt-call maia_core.application traefik   # one
    salt-call maia_core.project
    salt-call maia_core.namespaces
    salt-call maia_core.layer admin           # stage 4's specs (maia_layers.admin)
    salt-call maia_core.restart_pending Deployment coredns kube-system <trigger>

Secrets in the returned specs are those the charts need (they end up in the
Application objects, as with the Ansible collection); states mask them.
"""
from __future__ import annotations

import datetime
import logging

from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader (top-level files: salt-ssh targets too)
import maia_kube_client as kclient
import maia_kube_read as kread
import maia_kube_write as kwrite

try:
    # on sys.path while Salt's loader loads this module: the host's synced utils folder
    from maia_layers import admin as _admin_library
    from maia_layers import core as _core_library
    from maia_layers import stage_api as _stage_api
except ImportError as _exc:  # not synced yet: say how, instead of failing to load
    _admin_library = _core_library = _stage_api = None
    _MISSING = str(_exc)

log = logging.getLogger(__name__)

__virtualname__ = "maia_core"

TRIGGER_ANNOTATION = "maia-salt/restart-trigger"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


def __virtual__():
    # loads without the library too: a salt-ssh target runs only the restarts below (the
    # specs are built on the master there), and salt-ssh ships no utils package
    return __virtualname__


class MaiaCoreConfigError(CommandExecutionError):
    """Bad or missing input; the message names every key and the fix."""


def _maia_pillar():
    """This minion's ``maia`` pillar, unmasked (Salt 3008 masks pillar values in modules)."""
    return __salt__["pillar.get"]("maia", {}, unmask=True) or {}


if _stage_api is not None:
    _stage_api.define(globals(), _core_library, "core", _maia_pillar, MaiaCoreConfigError)
    _stage_api.layer_function(globals(), {"core": _core_library, "admin": _admin_library}, _maia_pillar,
                              MaiaCoreConfigError)
else:

    def mapdata(parameters=None, pillar=None):  # pylint: disable=unused-argument
        """Unavailable: this host has not synced the library (see the error)."""
        raise CommandExecutionError(
            "maia_core needs the maia_layers library from file_roots (_utils/maia_layers): "
            f"run saltutil.sync_utils or saltutil.sync_all ({_MISSING})"
        )

    def layer(*_args, **_kwargs):
        """Unavailable: this host has not synced the library (see the error)."""
        return mapdata()


# --------------------------------------------------------------------------
# rollout restarts, used by restarts.sls (module.run + onlyif), so that a
# re-run with nothing to do makes no change
# --------------------------------------------------------------------------


def _kubeconfig(kubeconfig):
    return kubeconfig or __salt__["pillar.get"]("maia:kubeconfig", kclient.DEFAULT_KUBECONFIG, unmask=True)


def _conn(kubeconfig):
    return kclient.Connection(_kubeconfig(kubeconfig), None, __context__, __opts__.get("cachedir"))


def restart_pending(kind, name, namespace, trigger, kubeconfig=None):
    """True when ``kind/name`` exists and was not yet restarted for ``trigger``.

    CLI example::

        salt-call maia_core.restart_pending Deployment coredns kube-system 0123abcd
    """
    try:
        obj = kread.get(_conn(kubeconfig), "apps/v1", kind, name, namespace)
    except CommandExecutionError as exc:
        if __opts__.get("test"):
            # test=True before the cluster can answer (e.g. stage 2 not applied yet):
            # predict the restart rather than fail the prediction
            log.info("maia_core: cannot read %s %s/%s (%s): predicting a restart", kind, namespace, name, exc)
            return True
        raise
    if not obj:
        log.info("maia_core: %s %s/%s not found, no restart needed yet", kind, namespace, name)
        return False
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(TRIGGER_ANNOTATION) != trigger


def rollout_restart(kind, name, namespace, trigger, kubeconfig=None):
    """Rollout restart of ``kind/name`` (as ``kubectl rollout restart``),
    recording ``trigger`` in the ``maia-salt/restart-trigger`` annotation.

    CLI example::

        salt-call maia_core.rollout_restart Deployment coredns kube-system 0123abcd
    """
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {
        "metadata": {"annotations": {TRIGGER_ANNOTATION: trigger}},
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: now}}}},
    }
    kwrite.patch(_conn(kubeconfig), "apps/v1", kind, name, patch, namespace=namespace)
    return {"restarted": f"{kind.lower()}/{name}", "namespace": namespace, "trigger": trigger}
