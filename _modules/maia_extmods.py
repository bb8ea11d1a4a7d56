"""
What this minion holds from the master: its extension modules (with their
hashes) and whether its pillar in memory is the current one.

The orchestrations compare them with the master (runner
``maia_orch.sync_minions``) and sync or refresh only the minions that differ:
on a site that is already converged, no minion downloads or compares module
files, and none reloads its modules.

CLI example::

    salt '*' maia_extmods.hashes '[modules, states]'
    salt '*' maia_extmods.pillar_current
"""
import hashlib
import json
import os

import salt.pillar
import salt.utils.hashutils
from salt.exceptions import CommandExecutionError

try:
    from salt.utils.secret import expose as _expose
except ImportError:  # Salt before 3008 does not mask pillar values
    _expose = None

__virtualname__ = "maia_extmods"


def __virtual__():
    return __virtualname__


def hashes(kinds=("modules", "states", "grains", "utils"), hash_type="sha256"):
    """
    ``{"<kind>/<relative path>": hash}`` of the files under
    ``extension_modules/<kind>/`` for each of ``kinds``, hashed with
    ``hash_type``. ``saltutil.sync_<kind>`` keeps that folder a mirror of the
    master's synced files (it removes the rest), so which files count is the
    master side's business (runner ``maia_orch.sync_minions``); a stray file
    here only makes the next run sync again.
    """
    root = __opts__["extension_modules"]
    found = {}
    for kind in kinds:
        base = os.path.join(root, kind)
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                path = os.path.join(folder, name)
                found[f"{kind}/{os.path.relpath(path, base)}"] = salt.utils.hashutils.get_hash(path, hash_type)
    return found


def _digest(pillar):
    plain = {k: v for k, v in dict(pillar or {}).items() if k != "schedule"}  # the minion adds its own
    if _expose is not None:
        plain = _expose(plain)
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()


def pillar_current():
    """
    True when the pillar this minion holds in memory equals a fresh compile
    from the master. The minion matches ``I@`` targets against the pillar in
    memory, so one that is stale (e.g. taken out of the inventory and back in
    while only salt-ssh ran) silently ignores jobs the master sends it. The
    fresh compile also updates the master's cached copy, which the master
    matches ``I@`` targets against. Only the boolean leaves the minion.
    """
    fresh = salt.pillar.get_pillar(
        __opts__, dict(__grains__), __opts__["id"], saltenv=__opts__.get("saltenv"),
        pillarenv=__opts__.get("pillarenv"),
    ).compile_pillar()
    if fresh.get("_errors"):
        raise CommandExecutionError(
            f"the pillar has {len(fresh['_errors'])} error(s): see the salt-master log for this minion"
        )
    return _digest(fresh) == _digest(__opts__.get("pillar"))
