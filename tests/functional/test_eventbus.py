"""maia_salt.eventbus: Salt's own master event publisher for agentless runs, with Salt's real
event transport on a temporary sock_dir (nothing stands in for anything here)."""
import os
import time

import pytest
import salt.config
import salt.utils.event

from maia_salt import eventbus


@pytest.fixture
def opts(tmp_path):
    opts = salt.config.master_config(None)
    opts.update({"sock_dir": str(tmp_path / "run"), "cachedir": str(tmp_path / "cache"), "ipc_mode": "ipc"})
    return opts


def fire(opts, tag="maia/test/event"):
    """(sent, seconds) of one event fired as a runner fires it."""
    started = time.monotonic()
    with salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=False) as event:
        sent = event.fire_event({"maia": "event bus test"}, tag)
    return sent, time.monotonic() - started


def test_without_a_bus_an_event_waits_a_second(opts):
    """Why the bus is there: with no salt-master, each runner event waits for one."""
    sent, seconds = fire(opts)
    assert not sent and seconds >= 0.9, (sent, seconds)


def test_master_bus_delivers_events_at_once_and_cleans_up(opts):
    os.makedirs(opts["sock_dir"])
    stale = os.path.join(opts["sock_dir"], "master_event_pull.ipc")
    open(stale, "w").close()  # left by a process that is gone
    with eventbus.master_bus(opts) as started:
        assert started is True and eventbus.answers(opts)
        with salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=True) as listener:
            listener.subscribe("maia/test")
            sent, seconds = fire(opts)
            assert sent and seconds < 0.5, (sent, seconds)
            got = listener.get_event(wait=10, tag="maia/test", full=True)
        assert got and got["tag"] == "maia/test/event" and got["data"]["maia"] == "event bus test", got
        with eventbus.master_bus(opts) as second:
            assert second is False  # a bus answers already: nothing more is started
    assert not eventbus.answers(opts)
    assert os.listdir(opts["sock_dir"]) == []


def test_no_bus_under_tcp_ipc(opts):
    """Salt's TCP event transport listens on 127.0.0.1 without authentication: no bus then."""
    opts.update({"ipc_mode": "tcp", "tcp_master_pull_port": 0, "tcp_master_pub_port": 0})
    with eventbus.master_bus(opts) as started:
        assert started is False
        assert not os.path.exists(opts["sock_dir"])


HOLDER = """
import sys, time, salt.config
from maia_salt import eventbus
opts = salt.config.master_config(None)
opts.update({"sock_dir": sys.argv[1], "cachedir": sys.argv[2], "ipc_mode": "ipc"})
with eventbus.master_bus(opts) as started:
    print("ready" if started else "no bus", flush=True)
    time.sleep(120)
"""


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM", "SIGHUP"])
def test_the_bus_child_dies_with_maia(tmp_path, sig):
    """A process that runs the bus as ``maia install --ssh`` does is killed: its bus child is gone
    within seconds (SIGKILL: the kernel's parent-death signal), and after SIGTERM or SIGHUP the
    clean-up ran (the sockets are removed)."""
    import signal
    import subprocess
    import sys

    sock_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(sock_dir), str(tmp_path / "cache")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        (child,) = _children(holder.pid)
        assert _alive(child)
        holder.send_signal(getattr(signal, sig))
        holder.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), f"the bus child {child} outlived its parent ({sig})"
        if sig != "SIGKILL":
            assert holder.returncode == 128 + getattr(signal, sig)
            assert os.listdir(sock_dir) == []
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
