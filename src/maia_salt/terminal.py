"""Text a host sent, made safe to print on the admin's terminal.

State comments, state ids, error messages and Application names come from the
hosts and the cluster. Printed as they are, an escape sequence in one of them
could rewrite the terminal (move the cursor, hide lines, set the window title,
or on some terminals answer back as typed input). ``printable`` drops every
control character (C0, DEL, C1: ESC and CSI with them) except newline and tab.
"""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text) -> str:
    """``text`` as a string without control characters (newline and tab kept)."""
    return _CONTROL.sub("", str(text))
