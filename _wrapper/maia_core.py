"""salt-ssh wrapper for ``maia_core``: build the MAIA core and admin specs on the master.

salt-ssh renders SLS files on the master, and a ``salt["maia_core.mapdata"]``
call in a template would otherwise run on the target through a fresh
``salt-call``, which has no pillar (salt-ssh ships pillar with state runs
only), and passing the pillar as an argument would put secrets on an ssh
command line. This wrapper runs the same library (``maia_salt.core``, installed
with maia-salt on the master) with the master's pillar and the defaults from
the master's ``file_roots``. Only the pure spec builders are wrapped;
``restart_pending``/``rollout_restart`` still run on the target.

Salt finds it one way: through the maia-salt ``salt.loader`` entry point (kind
``wrapper``) of the package installed on the master. salt-ssh 3008 loads
wrappers with the target's ``extension_modules``, so a ``saltutil.sync_wrapper``
copy on the master is never read (docs/development.md, shipping).
"""
import importlib
import os

import salt.utils.files
from salt.exceptions import CommandExecutionError

__virtualname__ = "maia_core"


def __virtual__():
    return __virtualname__


#: the ArgoCD layers built by a maia_salt library package of the same name
LAYERS = ("core", "admin")


def _library(layer="core"):
    try:
        return importlib.import_module(f"maia_salt.{layer}")
    except ImportError as exc:
        raise CommandExecutionError(f"maia_core wrapper: the maia-salt package is not installed on the master ({exc})") from None


def _defaults(layer="core"):
    relpath = _library(layer).context.DEFAULTS_RELPATH
    for roots in (__opts__.get("file_roots") or {}).values():
        for root in roots:
            path = os.path.join(root, *relpath.split("/"))
            if os.path.isfile(path):
                with salt.utils.files.fopen(path, encoding="utf-8") as handle:
                    return _library().read_defaults(handle.read())
    raise CommandExecutionError(f"{relpath} is not in the master's file_roots")


def _pillar_data():
    return __pillar__.get("maia") or {}


def mapdata(defaults=None, pillar=None):
    """See ``maia_core.mapdata`` (runs on the master under salt-ssh)."""
    lib = _library()
    try:
        return lib.mapdata(
            defaults if defaults is not None else _defaults(),
            pillar if pillar is not None else _pillar_data(),
        )
    except lib.ConfigError as exc:
        raise CommandExecutionError(str(exc)) from None


def layer(name, defaults=None, core_defaults=None, pillar=None):
    """See ``maia_core.layer`` (runs on the master under salt-ssh)."""
    if name not in LAYERS:
        raise CommandExecutionError(f"maia_core.layer: {name!r} is not one of {', '.join(LAYERS)}")
    if name == "core":
        return mapdata(defaults, pillar)
    try:
        return _library(name).mapdata(
            defaults if defaults is not None else _defaults(name),
            pillar if pillar is not None else _pillar_data(),
            core_defaults if core_defaults is not None else _defaults(),
        )
    except _library().ConfigError as exc:
        raise CommandExecutionError(str(exc)) from None


def applications(defaults=None, pillar=None):
    """See ``maia_core.applications``."""
    return mapdata(defaults, pillar)["apps"]


def application(component, defaults=None, pillar=None):
    """See ``maia_core.application``."""
    for app in applications(defaults, pillar):
        if component in (app["component"], app["name"]):
            return app
    raise CommandExecutionError(f"no enabled MAIA core component {component!r}")


def project(defaults=None, pillar=None):
    """See ``maia_core.project``."""
    return mapdata(defaults, pillar)["project"]


def namespaces(defaults=None, pillar=None):
    """See ``maia_core.namespaces``."""
    return mapdata(defaults, pillar)["namespaces"]
