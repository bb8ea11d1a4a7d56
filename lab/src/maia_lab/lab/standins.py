"""`maia lab up --standins`: start and stop the stand-ins (``maia_lab.standins``, docs/standins.md).

``up`` starts them once the lab files and every host's root exist but before
the hosts boot and before the salt-master starts: files they put into a host's
root are there at boot, and master config they add (``pillar_roots``) is read
when the master starts. On a lab that is already up, the salt-master is
restarted when they changed its config. ``down`` stops them first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from maia_lab import standins

from . import minions
from .util import echo, pid_alive

if TYPE_CHECKING:
    from .core import Lab


def start(lab: Lab) -> None:
    with open(lab.master_config, "rb") as fh:
        before = fh.read()
    lab.state["standins"] = True  # recorded first: `down` then stops them
    lab.save()
    standins.lab_start(lab)
    lab.load()  # the stand-ins record their pids in state.json
    lab.state["standins"] = True
    lab.save()
    with open(lab.master_config, "rb") as fh:
        changed = fh.read() != before
    if changed and lab.state.get("minions") and pid_alive(lab.state.get("master_pid")):
        # a running master reads its config only at start (e.g. pillar_roots added by the stand-ins)
        echo("master config changed by the stand-ins: restarting the salt-master")
        minions.restart_master(lab)


def stop(lab: Lab) -> None:
    """Stop the stand-ins; a failure is reported and `down` goes on cleaning."""
    try:
        standins.lab_stop(lab)
    except Exception as exc:  # keep cleaning
        echo(f"stopping the stand-ins failed: {exc}")
