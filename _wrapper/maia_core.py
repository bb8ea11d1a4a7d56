"""salt-ssh wrapper for ``maia_core``: build the MAIA core specs on the master.

salt-ssh renders SLS files on the master, and a ``salt["maia_core.mapdata"]``
call in a template would otherwise run on the target through a fresh
``salt-call``, which has no pillar (salt-ssh ships pillar with state runs
only), and passing the pillar as an argument would put secrets on an ssh
command line. This wrapper runs the same code (``_modules/maia_core.py``, found
in the master's ``file_roots`` or the installed maia-salt package) on the
master with the master's pillar. Only the pure spec builders are wrapped;
``restart_pending``/``rollout_restart`` still run on the target.

Salt finds it through the maia-salt ``salt.loader`` entry point (kind
``wrapper``) or after ``salt-run saltutil.sync_wrapper``.
"""
import importlib.util
import os

import salt.utils.data
import salt.utils.files
import salt.utils.yaml
from salt.exceptions import CommandExecutionError

__virtualname__ = "maia_core"

_CACHE = {}


def __virtual__():
    return __virtualname__


def _in_file_roots(*parts):
    for roots in (__opts__.get("file_roots") or {}).values():
        for root in roots:
            path = os.path.join(root, *parts)
            if os.path.isfile(path):
                yield path


def _defaults():
    for path in _in_file_roots("maia", "core", "parameters", "defaults.yaml"):
        with salt.utils.files.fopen(path, encoding="utf-8") as handle:
            return salt.utils.yaml.safe_load(handle)
    raise CommandExecutionError("maia/core/parameters/defaults.yaml is not in the master's file_roots")


def _module_path():
    candidates = list(_in_file_roots("_modules", "maia_core.py"))
    try:
        from maia_salt.loader import get_salt_extension_dirs  # pylint: disable=import-outside-toplevel

        candidates.extend(os.path.join(d, "maia_core.py") for d in get_salt_extension_dirs().get("modules", []))
    except ImportError:
        pass
    return next((path for path in candidates if os.path.isfile(path)), None)


def _pillar_data():
    pillar = globals().get("__pillar__")
    if pillar is None or not hasattr(pillar, "get"):
        pillar = __opts__.get("pillar") or {}
    return pillar


def _impl():
    path = _module_path()
    if path is None:
        raise CommandExecutionError(
            "maia_core wrapper: _modules/maia_core.py is in neither the master's file_roots "
            "nor the maia-salt package"
        )
    if path not in _CACHE:
        spec = importlib.util.spec_from_file_location("maia_core_master_side", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _CACHE[path] = module
    module = _CACHE[path]
    pillar = _pillar_data()
    module.__opts__ = __opts__
    module.__salt__ = {
        "pillar.get": lambda key, default=None: salt.utils.data.traverse_dict_and_list(
            pillar, key, default, delimiter=":"
        ),
    }
    return module


def mapdata(defaults=None, pillar=None):
    """See ``maia_core.mapdata`` (runs on the master under salt-ssh)."""
    return _impl().mapdata(defaults if defaults is not None else _defaults(), pillar)


def applications(defaults=None, pillar=None):
    """See ``maia_core.applications``."""
    return _impl().applications(defaults if defaults is not None else _defaults(), pillar)


def application(component, defaults=None, pillar=None):
    """See ``maia_core.application``."""
    return _impl().application(component, defaults if defaults is not None else _defaults(), pillar)


def project(defaults=None, pillar=None):
    """See ``maia_core.project``."""
    return _impl().project(defaults if defaults is not None else _defaults(), pillar)


def namespaces(defaults=None, pillar=None):
    """See ``maia_core.namespaces``."""
    return _impl().namespaces(defaults if defaults is not None else _defaults(), pillar)


def htpasswd_bcrypt(user, password, context, rounds=10):
    """See ``maia_core.htpasswd_bcrypt``."""
    return _impl().htpasswd_bcrypt(user, password, context, rounds)
