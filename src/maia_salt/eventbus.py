"""A master event bus for agentless runs, when no salt-master runs on this machine.

Salt's runners fire events on the master's event bus: every ``salt.runner`` step of
an orchestration (the preflight, the kubeconfig fetch) and ``state.orch`` itself
fire one when they start and one when they end. With salt-ssh there is usually no
salt-master running, and each of those events then waits one second for a bus
that is not there (``salt.utils.event.SaltEvent.fire_event``, timeout 1000 ms),
retrying the connection all along: measured, a one-host preflight step took 4.0 to
4.4 s without a bus and 1.7 to 2.6 s with one.

``master_bus`` runs Salt's own master event publisher (the one a salt-master runs,
``salt.transport.ipc_publish_server("master", ...)``) in a child process for the
time of a run, on the master config's ``sock_dir``. When a salt-master already
answers there it does nothing.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import socket
import time

log = logging.getLogger(__name__)

SOCKETS = ("master_event_pull.ipc", "master_event_pub.ipc")


def _pull_address(opts):
    if opts.get("ipc_mode") == "tcp":
        return socket.AF_INET, ("127.0.0.1", int(opts["tcp_master_pull_port"]))
    return socket.AF_UNIX, os.path.join(opts["sock_dir"], SOCKETS[0])


def answers(opts) -> bool:
    """Does a master event bus accept connections on this config's pull socket?"""
    family, address = _pull_address(opts)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(address)
        except OSError:
            return False
    return True


def _serve(opts):
    """The publisher's loop (in the child process until it is terminated)."""
    import asyncio

    import salt.transport
    import tornado.ioloop

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    io_loop = tornado.ioloop.IOLoop.current()
    publisher = salt.transport.ipc_publish_server("master", opts)
    loop.create_task(publisher.publisher(publisher.publish_payload, io_loop=io_loop))
    loop.run_forever()


def _remove_sockets(opts):
    if opts.get("ipc_mode") == "tcp":
        return
    for name in SOCKETS:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(opts["sock_dir"], name))


@contextlib.contextmanager
def master_bus(opts, ready_within: float = 5.0):
    """Yield True while a publisher started here serves the master event bus, False when
    a salt-master serves it already or none could be started (then events wait as before)."""
    if not opts or answers(opts):
        yield False
        return
    try:
        os.makedirs(opts["sock_dir"], mode=0o750, exist_ok=True)
        _remove_sockets(opts)  # left by a process that is gone: nobody answered on them
    except OSError as exc:
        log.debug("no event bus for this run: %s", exc)
        yield False
        return
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(opts,), name="maia-event-bus",
                                                       daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + ready_within
        while not answers(opts) and proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        ready = answers(opts)
        if not ready:
            log.debug("the event publisher did not answer within %ss", ready_within)
        yield ready
    finally:
        proc.terminate()
        proc.join(5)
        _remove_sockets(opts)
