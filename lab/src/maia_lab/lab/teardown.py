"""`maia lab down`: stop and remove everything a lab made, from its state.json and from names.

It works after an `up` that crashed or was killed (state.json is written before
each piece is made, and what state.json misses is found by name: netns
``maialab-<lab>-*``, links ``mlab<slice>*``, processes naming the lab folder or
marked ``MAIA_LAB_DIR=<lab folder>``), and running it twice is harmless.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import time

from . import disks, hosts, network
from .hosts import Host
from .util import pid_alive, run, stop_processes, wait_for

NSPAWN_PROPAGATE = "/run/systemd/nspawn/propagate"


def _cmdline(pid: int | str) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\0", b" ").decode(errors="replace")


def names_dir(lab_dir: str, cmd: str) -> bool:
    """True when a command line names the lab folder or a path inside it (not /lab-other)."""
    return re.search(re.escape(lab_dir) + r"(/|\s|$)", cmd) is not None


def owns(lab_dir: str, pid: int) -> bool:
    """A recorded pid may have been reused: only signal it when its command line names the lab."""
    try:
        return names_dir(lab_dir, _cmdline(pid))
    except OSError:
        return False


def _pids_using_dir(lab_dir: str) -> set[int]:
    """Processes whose root is inside the lab folder, whose command line names it, or that
    the lab started (MAIA_LAB_DIR in their environment, e.g. maia-configure)."""
    found = set()
    me = os.getpid()
    marker = f"MAIA_LAB_DIR={lab_dir}\0".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.readlink(f"/proc/{entry}/root").startswith(lab_dir + "/") or names_dir(lab_dir, _cmdline(entry)):
                found.add(int(entry))
                continue
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if marker in fh.read() + b"\0":
                    found.add(int(entry))
        except OSError:
            continue
    return found


def _kill_strays(lab_dir: str, lab_name: str, netns: list[str]) -> None:
    """Anything left running in the lab's netns, its cgroups or inside a host root (crashed `up`)."""
    stray = set()
    for ns in netns:
        out = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        stray.update(int(p) for p in out if p.isdigit())
    stray.update(_pids_using_dir(lab_dir))
    stray.update(hosts.cgroup_pids(hosts.cgroup_dirs(lab_name)))
    stray.discard(os.getpid())
    for p in stray:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if stray:
        wait_for(lambda: not any(pid_alive(p) for p in stray), 10, what="lab processes to exit")


def _remove_cgroups(lab_name: str) -> None:
    """rmdir the lab's cgroups bottom-up (cgroupfs folders go with rmdir only, once empty)."""
    for top in hosts.cgroup_dirs(lab_name):
        if not os.path.isdir(top):
            continue
        for root, _dirs, _files in os.walk(top, topdown=False):
            for _ in range(20):
                try:
                    os.rmdir(root)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # a process may still be leaving it
        try:
            os.rmdir(os.path.dirname(top))  # .../maia-lab, when no other lab uses it
        except OSError:
            pass


def _unmount(lab_dir: str, lab_name: str) -> None:
    """Every mount under the lab folder (deepest first), and nspawn's per-machine propagation folders."""
    with open("/proc/mounts", encoding="utf-8") as fh:
        mounts = [m for m in (line.split()[1].encode().decode("unicode_escape") for line in fh) if m.startswith(lab_dir + "/")]
    for mnt in sorted(mounts, key=len, reverse=True):
        if run(["umount", mnt], check=False).returncode != 0:
            run(["umount", "-l", mnt], check=False)
    # nspawn leaves an empty mount-propagation folder per machine when /run is not a tmpfs
    if os.path.isdir(NSPAWN_PROPAGATE):
        for entry in os.listdir(NSPAWN_PROPAGATE):
            if re.fullmatch(rf"maialab-{re.escape(lab_name)}-\d+", entry):
                shutil.rmtree(os.path.join(NSPAWN_PROPAGATE, entry), ignore_errors=True)


def down(lab_dir: str, lab_name: str, pids: list[int | None], hosts_: list[Host], slice_: int | None,
         timeout: float) -> None:
    """Remove the lab in ``lab_dir``: ``pids`` are the processes it recorded (each leads its own
    session), ``hosts_`` its recorded hosts, ``slice_`` its network slice (None before it got one)."""
    # 1. processes the lab started
    stop_processes([p for p in pids + [h.pid for h in hosts_] if pid_alive(p) and owns(lab_dir, p)], timeout)
    # 2. what a crashed `up` left running
    netns = network.netns_names(lab_name, hosts_)
    _kill_strays(lab_dir, lab_name, netns)
    _remove_cgroups(lab_name)
    # 3. mounts, 4. network, 5. loop devices, 6. the lab folder
    _unmount(lab_dir, lab_name)
    network.remove(netns, slice_)
    disks.detach(lab_dir)
    if os.path.isdir(lab_dir):
        shutil.rmtree(lab_dir, ignore_errors=True)
