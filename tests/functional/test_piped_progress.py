"""``maia preflight | cat``: with its standard output a pipe, the command prints plain progress
lines on standard error as the run goes (no rich live display, no control codes), even when
standard error is a terminal. Real ``maia preflight`` against a real salt-master and salt-minion
(salt-factories) on this machine; the terminal is a pseudo-terminal."""
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

STEP_LINE = re.compile(r"^\[\s*\d+\.\ds\] ", re.M)


def test_piped_preflight_prints_plain_progress_lines(salt_master, salt_minion, site):
    maia = Path(sys.executable).with_name("maia")
    controller, terminal = pty.openpty()  # standard error: a terminal, as in `maia preflight | cat`
    try:
        proc = subprocess.Popen([str(maia), "preflight", "-c", str(salt_master.config_dir)],
                                stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL,
                                env={**os.environ, "TERM": "xterm-256color"})
        os.close(terminal)
        terminal = None
        screen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the pty closes when the command ends
                break
            if not chunk:
                break
            screen += chunk
        stdout, _ = proc.communicate(timeout=600)
    finally:
        os.close(controller)
        if terminal is not None:
            os.close(terminal)
    text = screen.decode(errors="replace")
    assert "\x1b" not in text, text  # no control codes: no live table, no cursor moves
    # the module sync's step line, timed from the start (it fails there: the site's maia-node-1
    # has no minion, and the sync names it)
    assert STEP_LINE.findall(text) and "syncing modules and pillar ..." in text, text
    assert b"preflight FAILED" in stdout and b"maia-node-1" in stdout  # the summary goes to the pipe
