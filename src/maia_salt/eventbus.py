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

What it does not do, for safety:

- No bus under ``ipc_mode: tcp``: Salt's TCP event transport listens on
  127.0.0.1 without authentication, so any local user could read the run's
  events and inject their own (and, binding the port first, pose as a master).
  The Unix sockets in ``sock_dir`` (0750 folder) are open to this user only.
- The child never outlives ``maia``: it asks the kernel for SIGTERM when its
  parent dies (``prctl(PR_SET_PDEATHSIG)``; elsewhere a thread watches the
  parent), and SIGTERM or SIGHUP to ``maia`` while the bus runs ends the run
  through the normal clean-up (the child stopped, the sockets removed).
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
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


PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """SIGTERM to this process when ``parent`` ends (kernel, Linux), else a thread that watches."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=watch, name="maia-event-bus-parent", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def _serve(opts, parent: int | None = None):
    """The publisher's loop (in the child process until it is terminated)."""
    import asyncio

    if parent is not None:
        _die_with_parent(parent)

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


class Terminated(SystemExit):
    """SIGTERM or SIGHUP reached ``maia`` while its event bus ran."""


@contextlib.contextmanager
def _exit_on_termination():
    """SIGTERM and SIGHUP raise Terminated (a SystemExit) in the main thread, so that the
    clean-up of the ``with`` blocks around the run happens; the old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, _frame):
        raise Terminated(128 + signum)

    previous = {sig: signal.signal(sig, terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def master_bus(opts, ready_within: float = 5.0):
    """Yield True while a publisher started here serves the master event bus, False when
    a salt-master serves it already, the config uses ``ipc_mode: tcp`` (module docstring) or
    none could be started (then events wait as before)."""
    if not opts or opts.get("ipc_mode") == "tcp":
        yield False
        return
    if answers(opts):
        yield False
        return
    try:
        os.makedirs(opts["sock_dir"], mode=0o750, exist_ok=True)
        _remove_sockets(opts)  # left by a process that is gone: nobody answered on them
    except OSError as exc:
        log.debug("no event bus for this run: %s", exc)
        yield False
        return
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(opts, os.getpid()),
                                                       name="maia-event-bus", daemon=True)
    with _exit_on_termination():
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
