"""Inventory changes of a MAIA site, on the master where the CONFIG_FOLDER lives.

``drop_host``: the last step of ``orch.maia_remove_host``, once the other hosts
no longer name the host: take it out of ``CONFIG_FOLDER/inventory.yaml``
(written atomically, mode kept). The host's minion key and roster entry stay:
``salt-key -d NAME`` and ``maia roster`` when it is gone for good.

CLI example::

    salt-run maia_hosts.drop_host host=maia-node-3 config_folder=/opt/maia/config
"""
import logging
import os
from pathlib import Path

from salt.exceptions import SaltRunnerError

log = logging.getLogger(__name__)

__virtualname__ = "maia_hosts"


def __virtual__():
    return __virtualname__


def drop_host(host, config_folder):
    """Remove ``host`` from ``config_folder/inventory.yaml``; ``{"dropped": name}`` or
    ``{"dropped": None}`` when it was not there."""
    from maia_salt.files import PlannedFile, dump_yaml, load_yaml_unique, write_files_atomically
    from maia_salt.inventory import INVENTORY_FILE

    path = Path(config_folder) / INVENTORY_FILE
    try:
        data = load_yaml_unique(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SaltRunnerError(f"cannot read {path}: {exc}") from None
    hosts = data.get("hosts") or {}
    if host not in hosts:
        return {"dropped": None, "comment": f"{host} is not in {path}"}
    del hosts[host]
    mode = os.stat(path).st_mode & 0o777
    write_files_atomically(path.parent, [PlannedFile(path.name, dump_yaml(data).encode(), mode)])
    log.info("dropped %s from %s", host, path)
    return {"dropped": host, "inventory": str(path)}
