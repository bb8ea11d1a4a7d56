"""Small helpers shared by the lab modules."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time


def echo(msg: str) -> None:
    """Progress output: one line on stderr, flushed at once."""
    print(f"[maia lab] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    proc = subprocess.run(cmd, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{(proc.stderr or '').strip()}"
        )
    return proc


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def port_open(addr: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def ssh_banner(addr: str, port: int = 22, timeout: float = 1.0) -> bool:
    """True when an SSH server answers with its banner (not just an open port): maia install's own check."""
    from maia_salt.reach import ssh_answers

    return ssh_answers(addr, port, timeout)


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def write_file(path: str, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` (parent folders made) and set its mode."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)


def signal_process(pid: int, sig: int) -> None:
    """Signal the process ``pid``, if it still exists."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group ``pid`` leads (every process the lab starts leads its own), else the process."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        signal_process(pid, sig)


def reap(pids) -> None:
    """Collect exit statuses of our own children (when `up` ran in this process) so no zombie stays."""
    for p in pids:
        try:
            os.waitpid(p, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass


def stop_processes(pids: list[int], timeout: float) -> None:
    """SIGTERM every group in ``pids``, SIGKILL those still alive after ``timeout`` seconds, reap them."""
    for p in pids:
        signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.05)
    for p in pids:
        if pid_alive(p):
            signal_group(p, signal.SIGKILL)
    reap(pids)


def package_paths() -> dict:
    """Where this Python environment and the checkout live (for binds, file_roots and the Salt tools)."""
    import maia_salt

    pkg = os.path.dirname(os.path.realpath(maia_salt.__file__))
    checkout = os.path.dirname(os.path.dirname(pkg))  # src/maia_salt -> checkout
    if not os.path.isfile(os.path.join(checkout, "setup.py")):
        checkout = ""
    return {
        "venv": os.path.realpath(sys.prefix),
        "base_python": os.path.realpath(sys.base_prefix),
        "checkout": checkout,
        "bin": os.path.dirname(os.path.abspath(sys.executable)),
    }


def tool(name: str) -> str:
    """A console script of this Python environment (salt, salt-ssh, salt-master, maia-configure)."""
    return os.path.join(package_paths()["bin"], name)


class Background:
    """Run ``fn(*args)`` in a thread; ``result()`` waits and re-raises what it raised."""

    def __init__(self, fn, *args):
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), daemon=True)
        self._thread.start()

    def _run(self, fn, *args) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # re-raised by result() in the caller's thread
            self._error = exc

    def result(self) -> None:
        self._thread.join()
        if self._error:
            raise self._error
