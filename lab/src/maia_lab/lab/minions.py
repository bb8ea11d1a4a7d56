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

import yaml

from .folder import LabFolder
from .hosts import Host
from .util import echo, package_paths, pid_alive, run, tool, write_file

MINION_READY = b"Minion is ready to receive requests"


def make_keys(folder: LabFolder, hosts: list[Host]) -> None:
    """The master's key pair and one per host, each host's public key accepted on the master."""
    import salt.crypt

    pki = folder.path("salt", "pki", "master")
    os.makedirs(os.path.join(pki, "minions"), exist_ok=True)
    os.chmod(pki, 0o700)
    if not os.path.exists(os.path.join(pki, "master.pem")):
        priv, pub = salt.crypt.gen_keys(2048)
        write_file(os.path.join(pki, "master.pem"), priv, 0o600)
        write_file(os.path.join(pki, "master.pub"), pub, 0o644)
    for h in hosts:
        kdir = folder.host_dir(h.name, "minionkeys")
        priv, pub = salt.crypt.gen_keys(2048)
        write_file(os.path.join(kdir, "minion.pem"), priv, 0o600)
        write_file(os.path.join(kdir, "minion.pub"), pub, 0o644)
        # pre-accepted: only this lab's hosts hold these keys
        write_file(os.path.join(pki, "minions", h.name), pub, 0o644)


def write_host_files(folder: LabFolder, hosts: list[Host], master_address: str) -> None:
    """In every host's root: the minion's keys and config, and its enabled systemd unit."""
    exe = tool("salt-minion")
    for h in hosts:
        top = folder.host_root(h.name)
        kdir = folder.host_dir(h.name, "minionkeys")
        mpki = os.path.join(top, "etc/salt/pki/minion")
        os.makedirs(mpki, mode=0o700, exist_ok=True)
        shutil.copy2(os.path.join(kdir, "minion.pem"), os.path.join(mpki, "minion.pem"))
        shutil.copy2(os.path.join(kdir, "minion.pub"), os.path.join(mpki, "minion.pub"))
        shutil.copy2(folder.path("salt", "pki", "master", "master.pub"), os.path.join(mpki, "minion_master.pub"))
        write_file(
            os.path.join(top, "etc/salt/minion.d/maia-lab.conf"),
            yaml.safe_dump({"master": master_address, "id": h.name, "acceptance_wait_time": 1, "log_level_logfile": "info"}),
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


def bind_ro_paths(base_root: str | None, suite: str | None) -> list[str]:
    """What a minion needs from this machine: the checkout, the venv and the Python it was made from
    (``base_root``, ``suite``: the hosts' base root and Debian release)."""
    paths = package_paths()
    pythons = [paths["base_python"]]
    if paths["base_python"] in ("/", "/usr"):
        # the distribution's Python: the host must have the very same interpreter
        exe = os.path.realpath(sys.executable)
        in_host = os.path.join(base_root or "/nonexistent", exe.lstrip("/"))
        if not os.path.exists(in_host):
            raise RuntimeError(
                f"--minions runs Salt from this machine's Python ({exe}), which the {suite} "
                "hosts do not have; use a Python installed in its own prefix (pyenv, /opt, /usr/local) "
                "for the virtualenv, or hosts of this machine's Debian release"
            )
        pythons = []
    binds: list[str] = []
    for p in (paths["checkout"], paths["venv"], *pythons):
        if p and not any(p == b or p.startswith(b + "/") for b in binds):
            binds.append(p)
    return binds


def start_master(folder: LabFolder, address: str, env: dict) -> subprocess.Popen:
    """The lab's salt-master (its config: ``folder``'s master file) listening on ``address``;
    the caller records the pid."""
    os.makedirs(folder.path("salt", "run"), exist_ok=True)
    os.makedirs(folder.path("salt", "log"), exist_ok=True)
    echo(f"salt-master on {address}")
    out = open(folder.log("salt-master"), "ab")
    return subprocess.Popen(
        [tool("salt-master"), "-c", folder.dir, "-l", "warning"],
        stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, cwd=folder.dir, env=env,
    )


def _check_master(folder: LabFolder, master_pid: int | None) -> None:
    if not pid_alive(master_pid):
        raise RuntimeError(f"salt-master exited; see {folder.log('salt-master')}")


def _ready(folder: LabFolder, h: Host) -> bool:
    """The minion's own log says it is ready (read through the host's root: cheaper than asking Salt)."""
    try:
        with open(os.path.join(folder.host_root(h.name), "var/log/salt/minion"), "rb") as fh:
            return MINION_READY in fh.read()
    except OSError:
        return False


def salt(folder: LabFolder, *args: str, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess:
    """`salt -c LABDIR ARGS`, run from the lab folder."""
    return run([tool("salt"), "-c", folder.dir, *args], check=check, cwd=folder.dir, timeout=timeout)


def wait(folder: LabFolder, hosts: list[Host], master_pid: int | None, timeout: float = 90) -> None:
    """Until every host's minion answers ``test.ping`` through the master."""
    echo("waiting for every minion to answer test.ping...")
    t0 = time.monotonic()
    want = {h.name for h in hosts}
    seen: set = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(_ready(folder, h) for h in hosts):
        _check_master(folder, master_pid)
        time.sleep(0.2)
    while time.monotonic() < deadline:
        _check_master(folder, master_pid)
        proc = salt(folder, "*", "test.ping", "--out=json", "--static", "-t", "5", check=False)
        try:
            seen = {k for k, v in json.loads(proc.stdout or "{}").items() if v is True}
        except ValueError:
            seen = set()
        if want <= seen:
            echo(f"all {len(want)} minions answer ({time.monotonic() - t0:.1f}s)")
            return
        time.sleep(1)
    raise RuntimeError(f"minions not answering after {timeout:.0f}s: {sorted(want - seen)}")
