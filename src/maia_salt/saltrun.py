"""`salt-run` without a new interpreter: the salt-run script's own code in a forked child.

`maia install` has imported Salt already (for the master's options and the event bus); a
`salt-run` subprocess would import it again, about 0.7 CPU-s per call on a 2-CPU machine
(measured: `python -c "import salt.runner, salt.client, salt.utils.event"`). The child runs
exactly what the `salt-run` script runs (``salt.scripts.salt_run``: its argument parsing,
signal handlers, outputters and exit codes), with its standard output and error in the files
given, so a caller treats it like a ``subprocess.Popen`` of ``salt-run``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback


class SaltRunChild:
    """A running ``salt-run ARGS...``; the subset of ``subprocess.Popen`` the callers use."""

    def __init__(self, args: list[str], stdout, stderr):
        for stream in (sys.stdout, sys.stderr):  # what is buffered here must not be written twice
            stream.flush()
        self.args = ["salt-run", *args]
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            self._child(stdout, stderr)

    def _child(self, stdout, stderr) -> None:
        code = 1
        try:
            os.dup2(stdout.fileno(), 1)
            os.dup2(stderr.fileno(), 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            # the parent's sys.stdout may not write to fd 1 (a terminal UI, pytest's capture)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # pylint: disable=consider-using-with
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # pylint: disable=consider-using-with
            signal.signal(signal.SIGINT, signal.default_int_handler)  # not the parent's Ctrl-C handler
            sys.argv = self.args
            from salt.scripts import salt_run

            salt_run()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, (int, type(None))):
                print(exc.code, file=sys.stderr)
        except BaseException:  # pylint: disable=broad-except
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # pylint: disable=broad-except
                    pass
            os._exit(code)  # no atexit handlers or finalizers of the parent's objects

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """``salt-run ARGS...`` to the end: its exit code and output as text."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = SaltRunChild(args, out, err)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(child.args, child.returncode, out.read(), err.read())
