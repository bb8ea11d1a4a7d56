"""The plan of a ``--test`` run: per stage and host, each state that would change and how.

The states predict their changes under ``test=True`` (``{key: {"old", "new"}}``, secrets and file
contents already replaced by placeholders, docs/development.md "Contracts"). What is shown here, and
written by ``--json``, goes through :func:`masked` once more: a value under a key that names a secret
is never printed, whichever state reported it.
"""
from __future__ import annotations

import json
import re

from .summary import HostResult

MASK = "<masked>"
_SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|private|credential|bcrypt|api_?key", re.I)
_WIDTH = 160


def masked(value, secret: bool = False):
    """``value`` with every value under a secret-looking key (at any depth) replaced by ``<masked>``."""
    if isinstance(value, dict):
        return {k: masked(v, secret or bool(_SECRET_KEY.search(str(k)))) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, secret) for v in value]
    if secret and value not in (None, "", True, False) and not _placeholder(value):
        return MASK
    return value


def _placeholder(value) -> bool:
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


def _short(value) -> str:
    if isinstance(value, dict) and set(value) <= {"old", "new"} and value:
        text = f"{_short(value.get('old'))} -> {_short(value.get('new'))}"
    else:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _WIDTH else text[:_WIDTH - 3] + "..."


def render(results: list[HostResult]) -> str:
    """The plan's text: one block per state that would change, its changes one line per key."""
    lines = []
    for r in results:
        for state, changes, comment in r.changes:
            lines.append(f"  WOULD CHANGE {r.stage} on {r.host}: {state}")
            shown = masked(changes)
            for key, value in (shown.items() if isinstance(shown, dict) else [("", shown)]):
                lines.append(f"      {key}: {_short(value)}")
            if comment:
                lines.append(f"      ({_short(comment)})")
    if not lines:
        return "plan: nothing would change"
    count = sum(len(r.changes) for r in results)
    return "\n".join([f"plan: {count} state(s) would change", *lines])
