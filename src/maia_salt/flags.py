"""A switch as a site writes it (pillar, YAML, env.json, the command line), read as a bool."""
from __future__ import annotations

from typing import Any


def as_bool(value: Any) -> bool:
    """True for ``True``, a non-zero number, or the strings 1/true/yes/on (any case)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
