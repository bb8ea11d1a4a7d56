"""salt-ssh wrapper for ``maia_core``: build the MAIA core specs on the master.

salt-ssh renders SLS files on the master, and a ``salt["maia_core.mapdata"]``
call in a template would otherwise run on the target through a fresh
``salt-call``, which has no pillar (salt-ssh ships pillar with state runs
only), and passing the pillar as an argument would put secrets on an ssh
command line. This wrapper gives the master side the functions the host module
has, from the same definition (``maia_salt.stage_api``, over the library
``maia_salt.core`` of the maia-salt package installed on the master), with the
master's pillar. ``restart_pending``/``rollout_restart`` are not wrapped: they
run on the target.

Salt finds it one way: through the maia-salt ``salt.loader`` entry point (kind
``wrapper``) of the package installed on the master. salt-ssh 3008 loads
wrappers with the target's ``extension_modules``, so a ``saltutil.sync_wrapper``
copy on the master is never read (docs/development.md, shipping).
"""
from salt.exceptions import CommandExecutionError

from maia_salt import admin as _admin_library
from maia_salt import core as _core_library
from maia_salt import stage_api as _stage_api

__virtualname__ = "maia_core"


def __virtual__():
    return __virtualname__


def _maia_pillar():
    """The target's ``maia`` pillar as the master compiled it (salt-ssh keeps it unmasked)."""
    return __pillar__.get("maia") or {}


_stage_api.define(globals(), _core_library, "core", _maia_pillar, CommandExecutionError)
_stage_api.layer_function(globals(), {"core": _core_library, "admin": _admin_library}, _maia_pillar,
                          CommandExecutionError)
