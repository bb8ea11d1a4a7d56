# The shared part of the stand-in executables installed into a host (hostcli.py).
# STAND-IN helpers. Standard library only: it runs with the host's system python3.
# The installer (maia_lab.standins.hoststate.build_cli) puts this text in place of the
# CLI's import line of this module, so each installed executable
# stays one self-contained file (the k3s release is downloaded as one file), and fills
# in STATE_FILE and STATE_ENV.
import json
import os
import re
import sys
import time

STATE_FILE = None  # the state file's path as the host sees it, set by the installer
STATE_ENV = None  # the environment variable that may name another state file, set by the installer


def state_path():
    return (STATE_ENV and os.environ.get(STATE_ENV)) or STATE_FILE


def load():
    with open(state_path(), encoding="utf-8") as fh:
        return json.load(fh)


def save(state):
    tmp = state_path() + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)
    os.replace(tmp, state_path())


SECRET_FLAGS = ("--token", "-t")
MASK = "<masked>"


def masked(argv):
    """``argv`` without secrets: the value of a token flag (``--token T``, ``--token=T``) and the
    token of a join address (``HOST:PORT/TOKEN[/HASH]``, MicroK8s' `join`) are masked."""
    out, hide = [], False
    for arg in argv:
        if hide:
            out.append(MASK)
        elif arg.startswith("--token="):
            out.append("--token=" + MASK)
        elif re.match(r"^[^/\s]+:\d+/.+", arg):
            out.append(arg.split("/", 1)[0] + "/" + MASK)
        else:
            out.append(arg)
        hide = arg in SECRET_FLAGS
    return out


def record(prog, argv):
    """Append the call to `calls.jsonl` beside the state file, its secrets masked."""
    with open(os.path.join(os.path.dirname(state_path()), "calls.jsonl"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"cmd": prog, "args": masked(argv), "time": time.time()}) + "\n")


def fail(msg, code=1):
    sys.stderr.write(msg.rstrip() + "\n")
    sys.exit(code)
