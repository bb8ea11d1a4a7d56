"""
The extension modules this minion holds, with their hashes.

orch.maia compares them with the master's file server (runner
``maia_orch.sync_minions``) and syncs only the minions that differ: on a site
that is already converged, no minion downloads or compares module files.

CLI example::

    salt '*' maia_extmods.hashes '[modules, states]'
"""
import os

import salt.utils.hashutils

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
