"""Minion mode (`maia lab up --minions`): a salt-master on the bridge and a salt-minion in every host.

The minions run Salt from this machine's Python environment, bound read-only
into the hosts (no Salt is installed from the network). Their keys are made
here and pre-accepted on the master; ``open_mode``/``auto_accept`` stay off.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import yaml

from . import hosts
from .util import echo, package_paths, pid_alive, stop_processes, tool, write_file

if TYPE_CHECKING:
    from .core import Lab

MINION_READY = b"Minion is ready to receive requests"


def make_keys(lab: Lab) -> None:
    """The master's key pair and one per host, each host's public key accepted on the master."""
    import salt.crypt

    pki = lab.path("salt", "pki", "master")
    os.makedirs(os.path.join(pki, "minions"), exist_ok=True)
    os.chmod(pki, 0o700)
    if not os.path.exists(os.path.join(pki, "master.pem")):
        priv, pub = salt.crypt.gen_keys(2048)
        write_file(os.path.join(pki, "master.pem"), priv, 0o600)
        write_file(os.path.join(pki, "master.pub"), pub, 0o644)
    for h in lab.hosts:
        kdir = lab.path("hosts", h.name, "minionkeys")
        priv, pub = salt.crypt.gen_keys(2048)
        write_file(os.path.join(kdir, "minion.pem"), priv, 0o600)
        write_file(os.path.join(kdir, "minion.pub"), pub, 0o644)
        # pre-accepted: only this lab's hosts hold these keys
        write_file(os.path.join(pki, "minions", h.name), pub, 0o644)


def write_host_files(lab: Lab) -> None:
    """In every host's root: the minion's keys and config, and its enabled systemd unit."""
    exe = tool("salt-minion")
    for h in lab.hosts:
        top = hosts.root(lab, h)
        kdir = lab.path("hosts", h.name, "minionkeys")
        mpki = os.path.join(top, "etc/salt/pki/minion")
        os.makedirs(mpki, mode=0o700, exist_ok=True)
        shutil.copy2(os.path.join(kdir, "minion.pem"), os.path.join(mpki, "minion.pem"))
        shutil.copy2(os.path.join(kdir, "minion.pub"), os.path.join(mpki, "minion.pub"))
        shutil.copy2(lab.path("salt", "pki", "master", "master.pub"), os.path.join(mpki, "minion_master.pub"))
        write_file(
            os.path.join(top, "etc/salt/minion.d/maia-lab.conf"),
            yaml.safe_dump({"master": lab.bridge_address, "id": h.name, "acceptance_wait_time": 1, "log_level_logfile": "info"}),
        )
        write_file(
            os.path.join(top, "etc/systemd/system/salt-minion.service"),
            "[Unit]\nDescription=Salt minion (maia lab; Salt from the lab machine's Python, bound read-only)\n"
            "After=network.target\n\n[Service]\n"
            f"ExecStart={exe} -c /etc/salt\n"
            "Restart=on-failure\nRestartSec=2\nKillMode=mixed\nTimeoutStopSec=1\n\n[Install]\nWantedBy=multi-user.target\n",
        )
        wants = os.path.join(top, "etc/systemd/system/multi-user.target.wants")
        os.makedirs(wants, exist_ok=True)
        link = os.path.join(wants, "salt-minion.service")
        if not os.path.lexists(link):
            os.symlink("/etc/systemd/system/salt-minion.service", link)


def bind_ro_paths(lab: Lab) -> list[str]:
    """What a minion needs from this machine: the checkout, the venv and the Python it was made from."""
    paths = package_paths()
    pythons = [paths["base_python"]]
    if paths["base_python"] in ("/", "/usr"):
        # the distribution's Python: the host must have the very same interpreter
        exe = os.path.realpath(sys.executable)
        in_host = os.path.join(lab.state.get("base_root", "/nonexistent"), exe.lstrip("/"))
        if not os.path.exists(in_host):
            raise RuntimeError(
                f"--minions runs Salt from this machine's Python ({exe}), which the {lab.state.get('suite')} "
                "hosts do not have; use a Python installed in its own prefix (pyenv, /opt, /usr/local) "
                "for the virtualenv, or hosts of this machine's Debian release"
            )
        pythons = []
    binds: list[str] = []
    for p in (paths["checkout"], paths["venv"], *pythons):
        if p and not any(p == b or p.startswith(b + "/") for b in binds):
            binds.append(p)
    return binds


def start_master(lab: Lab) -> None:
    os.makedirs(lab.path("salt", "run"), exist_ok=True)
    os.makedirs(lab.path("salt", "log"), exist_ok=True)
    echo(f"salt-master on {lab.bridge_address}")
    out = open(lab.path("logs", "salt-master.log"), "ab")
    proc = subprocess.Popen(
        [tool("salt-master"), "-c", lab.dir, "-l", "warning"],
        stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, cwd=lab.dir, env=lab.env(),
    )
    lab.state["master_pid"] = proc.pid
    lab.save()


def _check_master(lab: Lab) -> None:
    if not pid_alive(lab.state.get("master_pid")):
        raise RuntimeError(f"salt-master exited; see {lab.path('logs', 'salt-master.log')}")


def _ready(lab: Lab, h: hosts.Host) -> bool:
    """The minion's own log says it is ready (read through the host's root: cheaper than asking Salt)."""
    try:
        with open(os.path.join(hosts.root(lab, h), "var/log/salt/minion"), "rb") as fh:
            return MINION_READY in fh.read()
    except OSError:
        return False


def wait(lab: Lab, timeout: float = 90) -> None:
    """Until every host's minion answers ``test.ping`` through the master."""
    echo("waiting for every minion to answer test.ping...")
    t0 = time.monotonic()
    want = {h.name for h in lab.hosts}
    seen: set = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_ready(lab, h) for h in lab.hosts):
        _check_master(lab)
        time.sleep(0.2)
    while time.monotonic() < deadline:
        _check_master(lab)
        proc = lab.salt("*", "test.ping", "--out=json", "--static", "-t", "5", check=False)
        try:
            seen = {k for k, v in json.loads(proc.stdout or "{}").items() if v is True}
        except ValueError:
            seen = set()
        if want <= seen:
            echo(f"all {len(want)} minions answer ({time.monotonic() - t0:.1f}s)")
            return
        time.sleep(1)
    raise RuntimeError(f"minions not answering after {timeout:.0f}s: {sorted(want - seen)}")


def restart_master(lab: Lab) -> None:
    """Restart the salt-master, e.g. after its config file changed; wait for the minions, refresh their pillar."""
    pid = lab.state.get("master_pid")
    if pid_alive(pid) and lab.owns(pid):
        stop_processes([pid], 10)
    start_master(lab)
    wait(lab)
    lab.salt("*", "saltutil.refresh_pillar", "--static", "-t", "30", check=False)
