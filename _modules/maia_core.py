"""MAIA core layer (stage 3): Salt adapter over the ``maia_salt.core`` library.

The settings, Helm values and specs are built by the plain library
``src/maia_salt/core`` (context, values, specs); this module hands it the
defaults (``salt://maia/core/parameters/defaults.yaml``) and this minion's
``maia`` pillar, and performs the one cluster action of the stage, the
rollout restarts. On a minion without the maia-salt package the library comes
from the file server (``salt://_maia_lib``).

CLI::

    salt-call maia_core.applications          # every Application spec
    salt-call maia_core.application traefik   # one
    salt-call maia_core.project
    salt-call maia_core.namespaces
    salt-call maia_core.layer admin           # stage 4's specs (maia_salt.admin)
    salt-call maia_core.restart_pending Deployment coredns kube-system <trigger>

Secrets in the returned specs are those the charts need (they end up in the
Application objects, as with the Ansible collection); states mask them.
"""
from __future__ import annotations

import datetime
import importlib
import logging
import os
import sys

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "maia_core"

DEFAULTS_URL = "salt://maia/{layer}/parameters/defaults.yaml"
#: the ArgoCD layers built by a maia_salt library package of the same name
LAYERS = ("core", "admin")
LIBRARY_URL = "salt://_maia_lib"
TRIGGER_ANNOTATION = "maia-salt/restart-trigger"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


def __virtual__():
    return __virtualname__


class MaiaCoreConfigError(CommandExecutionError):
    """Bad or missing input; the message names every key and the fix."""


def _library(layer="core"):
    """``maia_salt.<layer>``: installed, else fetched from the file server."""
    package = f"maia_salt.{layer}"
    try:
        return importlib.import_module(package)
    except ImportError:
        pass
    saltenv = __opts__.get("saltenv") or "base"
    cached = __salt__["cp.cache_dir"](LIBRARY_URL, saltenv=saltenv) if "cp.cache_dir" in __salt__ else []
    roots = {path.split(os.sep + "_maia_lib" + os.sep)[0] + os.sep + "_maia_lib" for path in cached or []}
    for root in roots:
        if root not in sys.path:
            sys.path.insert(0, root)
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise CommandExecutionError(
            f"maia_core needs the {package} library: install maia-salt on this minion, or "
            f"serve formulas/ (with _maia_lib) from the master's file_roots ({exc})"
        ) from None


def _defaults(layer="core"):
    url = DEFAULTS_URL.format(layer=layer)
    text = __salt__["cp.get_file_str"](url, saltenv=__opts__.get("saltenv") or "base")
    if not text:
        raise MaiaCoreConfigError(f"cannot read {url}: is formulas/ in file_roots?")
    return _library().read_defaults(text)


def _maia_pillar():
    """This minion's ``maia`` pillar, unmasked (Salt 3008 masks pillar values in modules)."""
    return __salt__["pillar.get"]("maia", {}, unmask=True) or {}


def mapdata(defaults=None, pillar=None):
    """Everything ``formulas/maia/core`` applies, from defaults + pillar.

    ``defaults`` is the parsed ``parameters/defaults.yaml`` (map.jinja passes
    it); without it the file is fetched from ``salt://``. ``pillar`` (the
    ``maia`` tree) defaults to this minion's pillar. Raises with every bad key
    named when the input is incomplete.

    CLI example::

        salt-call maia_core.mapdata
    """
    lib = _library()
    try:
        return lib.mapdata(
            defaults if defaults is not None else _defaults(),
            pillar if pillar is not None else _maia_pillar(),
        )
    except lib.ConfigError as exc:
        raise MaiaCoreConfigError(str(exc)) from None


def layer(name, defaults=None, core_defaults=None, pillar=None):
    """Everything ``formulas/maia/<name>`` applies, for an ArgoCD layer of ``LAYERS``:
    ``core`` (stage 3, as :func:`mapdata`) or ``admin`` (stage 4, library
    ``maia_salt.admin``, which also reads stage 3's defaults for the distribution
    table: ``core_defaults``, fetched from ``salt://`` when not given).

    CLI example::

        salt-call maia_core.layer admin
    """
    if name not in LAYERS:
        raise CommandExecutionError(f"maia_core.layer: {name!r} is not one of {', '.join(LAYERS)}")
    if name == "core":
        return mapdata(defaults, pillar)
    lib = _library(name)
    try:
        return lib.mapdata(
            defaults if defaults is not None else _defaults(name),
            pillar if pillar is not None else _maia_pillar(),
            core_defaults if core_defaults is not None else _defaults(),
        )
    except _library().ConfigError as exc:
        raise MaiaCoreConfigError(str(exc)) from None


def applications(defaults=None, pillar=None):
    """Every enabled Application: name, spec, secret_keys, sync_wave (by wave).

    CLI example::

        salt-call maia_core.applications
    """
    return mapdata(defaults, pillar)["apps"]


def application(component, defaults=None, pillar=None):
    """One Application (``component`` as in the catalogue, e.g. ``traefik``, or its name).

    CLI example::

        salt-call maia_core.application prometheus
    """
    for app in applications(defaults, pillar):
        if component in (app["component"], app["name"]):
            return app
    raise CommandExecutionError(f"no enabled MAIA core component {component!r}")


def project(defaults=None, pillar=None):
    """The AppProject: name, namespace, spec.

    CLI example::

        salt-call maia_core.project
    """
    return mapdata(defaults, pillar)["project"]


def namespaces(defaults=None, pillar=None):
    """The namespaces of the core layer.

    CLI example::

        salt-call maia_core.namespaces
    """
    return mapdata(defaults, pillar)["namespaces"]


# --------------------------------------------------------------------------
# rollout restarts, used by restarts.sls (module.run + onlyif), so that a
# re-run with nothing to do makes no change
# --------------------------------------------------------------------------


def _kubeconfig(kubeconfig):
    return kubeconfig or __salt__["pillar.get"]("maia:kubeconfig", "/etc/maia/kubeconfig", unmask=True)


def restart_pending(kind, name, namespace, trigger, kubeconfig=None):
    """True when ``kind/name`` exists and was not yet restarted for ``trigger``.

    CLI example::

        salt-call maia_core.restart_pending Deployment coredns kube-system 0123abcd
    """
    try:
        obj = __salt__["maia_kube.get"](
            "apps/v1", kind, name, namespace=namespace, kubeconfig=_kubeconfig(kubeconfig)
        )
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
    __salt__["maia_kube.patch"](
        "apps/v1", kind, name, patch, namespace=namespace, kubeconfig=_kubeconfig(kubeconfig)
    )
    return {"restarted": f"{kind.lower()}/{name}", "namespace": namespace, "trigger": trigger}
