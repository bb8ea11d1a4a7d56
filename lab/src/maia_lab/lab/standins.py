"""`maia lab up --standins`: start and stop the stand-ins (``maia_lab.standins``, docs/standins.md).

``up`` starts them once the lab files and every host's root exist but before
the hosts boot and before the salt-master starts: files they put into a host's
root are there at boot, and master config they add (``pillar_roots``) is read
when the master starts. On a lab that is already up, the lab restarts its
salt-master when they changed its config. ``down`` stops them first.
"""
from __future__ import annotations

from typing import Callable

from maia_lab import standins

from .folder import LabFolder
from .hosts import Host
from .util import echo


def start(folder: LabFolder, bridge_address: str, hosts: list[Host],
          record_pid: Callable[[str, int], None]) -> tuple[dict, bool]:
    """Start the stand-ins; returns (what the lab records in state.json, whether they changed
    the master config)."""
    with open(folder.master_config, "rb") as fh:
        before = fh.read()
    recorded = standins.lab_start(folder, bridge_address, hosts, record_pid)
    with open(folder.master_config, "rb") as fh:
        changed = fh.read() != before
    return recorded, changed


def stop(pids: dict) -> None:
    """Stop the stand-ins ({name: pid}); a failure is reported and `down` goes on cleaning."""
    try:
        standins.lab_stop(pids)
    except Exception as exc:  # keep cleaning
        echo(f"stopping the stand-ins failed: {exc}")
