"""salt-ssh wrapper for ``maia_map``: a stage's parameters, rendered once per state run on the master.

salt-ssh renders SLS files on the master; without this wrapper every ``salt["maia_map.data"]``
call in a ``map.jinja`` would start a ``salt-call`` on the target. The function is the host
module's, from the same definition (``maia_salt.map_memo``).
"""
from salt.exceptions import CommandExecutionError

from maia_salt import map_memo as _map_memo

__virtualname__ = "maia_map"


def __virtual__():
    return __virtualname__


def _maia_pillar():
    """The target's ``maia`` pillar as the master compiled it (salt-ssh keeps it unmasked)."""
    return __pillar__.get("maia") or {}


_map_memo.define(globals(), _maia_pillar, CommandExecutionError)
