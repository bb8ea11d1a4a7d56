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
