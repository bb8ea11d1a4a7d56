"""Salt's own warnings and log records go to a log file, never to the terminal.

Salt, once imported, writes its log records to standard error through a deferred handler that
prints them when the process ends, and its transports warn ``TransportWarning: Unclosed transport!``
with a whole stack when they are collected. A ``maia`` command's terminal output is its own: the
progress, the summary, the messages that name a fix. :func:`setup` sends Python warnings and every
log record of WARNING and above to ``$MAIA_LOG_FILE`` (default
``$XDG_STATE_HOME/maia-salt/maia.log``, i.e. ``~/.local/state/maia-salt/maia.log``) and removes
Salt's stand-by stderr handler if Salt was imported already.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ENV_VAR = "MAIA_LOG_FILE"
_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def log_path(environ=None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR])
    state = Path(environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "maia-salt" / "maia.log"


def _file_handler(path: Path) -> logging.Handler:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        handler = logging.NullHandler()  # nowhere to write: still nothing on the terminal
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(_FORMAT))
    return handler


def setup(environ=None) -> Path:
    """Route warnings and log records to the log file; returns its path. Safe to call twice."""
    root = logging.getLogger()
    path = log_path(environ)
    if not any(getattr(h, "maia_runlog", False) for h in root.handlers):
        handler = _file_handler(path)
        handler.maia_runlog = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.captureWarnings(True)
    if "salt._logging.impl" in sys.modules:  # its deferred stderr handler hands what it holds to ours
        sys.modules["salt._logging.impl"].shutdown_temp_handler()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (sys.stderr, sys.stdout):
            root.removeHandler(handler)
    return path
