"""`maia lab down` leaves nothing behind, also after an `up` that was killed half-way.

Real hosts (systemd-nspawn), real netns/veth/bridge, loop devices and processes;
everything is checked by listing them on this machine.
"""
from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from maia_lab.lab.core import Lab
from maia_lab.lab.util import pid_alive, ssh_banner

pytestmark = pytest.mark.lab


def _leftovers(lab: Lab, slice_: int) -> dict:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = os.listdir("/sys/class/net")
    with open("/proc/mounts") as fh:
        mounts = [line.split()[1] for line in fh if lab.dir in line]
    loops = [line for line in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout.splitlines() if lab.dir in line]
    procs = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            root = os.readlink(f"/proc/{pid}/root")
        except OSError:
            continue
        names_dir = re.search(re.escape(lab.dir) + r"(/|\s|$)", cmd) or root.startswith(lab.dir + "/")
        if names_dir and pid_alive(int(pid)):
            procs.append(cmd)
    return {
        "netns": [line for line in netns.splitlines() if f"maialab-{lab.name}-" in line],
        "links": [link for link in links if link == f"mlab{slice_}" or link.startswith(f"mlab{slice_}n")],
        "mounts": mounts,
        "loops": loops,
        "processes": procs,
        "folder": [lab.dir] if os.path.exists(lab.dir) else [],
        "nspawn": [d for d in os.listdir("/run/systemd/nspawn/propagate")] if os.path.isdir("/run/systemd/nspawn/propagate") else [],
        "cgroups": [d for d in glob.glob(f"/sys/fs/cgroup/*/maia-lab/{lab.name}") + glob.glob(f"/sys/fs/cgroup/maia-lab/{lab.name}")],
    }


def _assert_clean(lab: Lab, slice_: int) -> None:
    left = _leftovers(lab, slice_)
    left["nspawn"] = [d for d in left["nspawn"] if d.startswith(f"maialab-{lab.name}-")]
    assert left == {k: [] for k in left}, left


@pytest.fixture
def down_name(require_lab_fixture):
    from support.lab import claim_lab_name

    name, lock = claim_lab_name("pytest-down")
    yield name
    Lab(name).down()
    lock.close()


def test_down_removes_everything(down_name):
    lab = Lab(down_name).up(hosts=2, minions=True)
    slice_ = lab.slice
    before = _leftovers(lab, slice_)
    # sanity: the listing sees the lab while it runs (else the final check proves nothing)
    assert len(before["netns"]) == 2 and len(before["links"]) == 3
    assert len(before["mounts"]) >= 2 and len(before["loops"]) == 4 and before["processes"]
    assert before["cgroups"] or not os.path.isdir("/sys/fs/cgroup/systemd")
    t0 = time.monotonic()
    Lab(down_name).down()
    assert time.monotonic() - t0 < 20
    _assert_clean(lab, slice_)
    Lab(down_name).down()  # a second down is harmless
    _assert_clean(lab, slice_)


def test_down_after_a_crashed_up(down_name):
    """`up` killed with SIGKILL once its hosts run: `down` still removes every piece."""
    name = down_name
    Lab(name).down()
    proc = subprocess.Popen(
        [sys.executable, "-m", "maia_lab.lab.cli", "up", "--name", name, "--hosts", "2", "--minions"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    state_file = os.path.join(Lab(name).dir, "state.json")
    deadline = time.monotonic() + 120
    booted = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open(state_file) as fh:
                hosts = json.load(fh).get("hosts", [])
            booted = hosts and all(h.get("pid") for h in hosts) and all(ssh_banner(h["address"]) for h in hosts)
        except (OSError, ValueError):
            booted = False
        if booted:
            break
        time.sleep(0.1)
    assert booted, "hosts never booted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lab = Lab(name)
    slice_ = lab.slice
    assert not lab.is_up()
    assert _leftovers(lab, slice_)["processes"], "the crash should have left host processes running"
    lab.down()
    _assert_clean(lab, slice_)
    time.sleep(2)  # nothing the crashed `up` left running may recreate files afterwards
    _assert_clean(lab, slice_)


@pytest.fixture
def require_lab_fixture():
    from support.lab import require_lab

    require_lab()
