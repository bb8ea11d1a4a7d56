"""Hook for stand-ins (`maia lab up --standins`): services this machine cannot run for real.

The Kubernetes API stand-in is written in ``maia_lab.standins`` by another
contributor. Fill ``start_standins``/``stop_standins`` there and call them from
here; the lab gives you everything you need on the ``lab`` argument:

- ``lab.bridge_address``: an address every lab host reaches (bind servers there;
  use your own port, the lab uses 3128 for its apt proxy and 4505/4506 for Salt);
- ``lab.dir``: the lab folder (put pid files and logs under ``lab.path("standins")``
  so that ``down`` removes them; ``down`` also kills any process whose command
  line names the lab folder);
- ``lab.config_folder``: the CONFIG_FOLDER (write e.g. ``<cluster>-kubeconfig.yaml`` there);
- ``lab.hosts``: list of hosts (``.name``, ``.address``); ``lab.ssh(host, cmd)``;
- ``lab.state`` / ``lab.save()``: record what you started (e.g. ``lab.state["standins_pids"]``).

When: ``up`` calls ``start_standins(lab)`` once the bridge, the proxy, the loop
disks, every host's root (``lab.path("hosts", name, "merged")``, writable) and
the lab files (inventory, roster, master config, Saltfile) exist, but BEFORE
the hosts boot and before the salt-master starts: files put into a host's root
are there at boot, and master config added here (e.g. ``pillar_roots``) is
read when the master starts. The CONFIG_FOLDER is written while the hosts
boot, so do not rely on it here. On a lab that is already up, ``up
--standins`` calls it on the running lab and restarts the salt-master if the
master config changed. ``down`` calls ``stop_standins(lab)`` before it stops
anything else.
"""
from __future__ import annotations

from .util import echo


def start_standins(lab) -> None:
    try:
        from maia_lab.standins import lab_start  # type: ignore[attr-defined]
    except ImportError:
        echo("--standins: no stand-ins are available yet (maia_lab.standins.lab_start is missing); nothing started")
        return
    lab_start(lab)


def stop_standins(lab) -> None:
    try:
        from maia_lab.standins import lab_stop  # type: ignore[attr-defined]
    except ImportError:
        return
    lab_stop(lab)
