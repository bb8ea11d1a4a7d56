"""A stage's parameters, rendered once per state run (``maia_layers.map_memo``).

Each SLS file of a stage calls ``maia_map.stage`` (``maia_map.data`` with the stage's map and
variables); the first call of a state run renders ``maia/<stage>/mapdata.jinja``, later ones
reuse it. The salt-ssh wrapper of the same name does it on the master, where salt-ssh renders.

CLI::

    salt-call maia_map.stage prepare
    salt-call maia_map.data maia/prepare/mapdata.jinja '["mapdata", "maia"]'
"""
from __future__ import annotations

from salt.exceptions import CommandExecutionError

try:
    # on sys.path while Salt's loader loads this module: the host's synced utils folder
    from maia_layers import map_memo as _map_memo
except ImportError as _exc:  # not synced yet: say how, instead of failing to load
    _map_memo = None
    _MISSING = str(_exc)

__virtualname__ = "maia_map"


def __virtual__():
    if _map_memo is None:
        return False, f"maia_map: the maia_layers library is not synced ({_MISSING}): run saltutil.sync_all"
    return __virtualname__


def _maia_pillar():
    """This minion's ``maia`` pillar, for the memo key's digest only. The digest JSON-encodes it,
    and Salt 3008's masked pillar holds the plain values (it masks only their text form), so no
    unmasked copy is made: ``pillar.get(unmask=True)`` copied the whole tree on every call."""
    return __pillar__.get("maia") or {}


if _map_memo is not None:
    _map_memo.define(globals(), _maia_pillar, CommandExecutionError)
