"""The formulas' parameter files, read from Python.

Every default lives once, in YAML under ``formulas/maia`` (the stack is
described in ``formulas/maia/map.jinja`` and docs/development.md,
"Parameters"): ``maia/parameters/defaults.yaml`` for the site-wide keys
(``stages``, ``kubeconfig``) and ``maia/<stage>/parameters/defaults.yaml`` for
each stage. Python that needs a default (the ext_pillar's inventory check)
reads the same file through :func:`defaults`: from the Salt file roots it is
given (the master's ``file_roots``), else from this checkout's ``formulas/``.
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

#: ``formulas/`` of the checkout this package runs from (``pip install -e``)
CHECKOUT_ROOT = Path(__file__).resolve().parents[2] / "formulas"


class ParametersError(FileNotFoundError):
    """A parameter file is in none of the roots; the message says where it was looked for."""


def relpath(stage: str | None = None) -> str:
    """The file's path relative to a Salt file root (its ``salt://`` path)."""
    return f"maia/{stage}/parameters/defaults.yaml" if stage else "maia/parameters/defaults.yaml"


def defaults(stage: str | None = None, roots=()) -> dict:
    """The parsed defaults of ``stage`` (None: the site-wide ones)."""
    rel = relpath(stage)
    searched = [Path(root) for root in roots or ()] + [CHECKOUT_ROOT]
    for root in searched:
        path = root / rel
        if path.is_file():
            stat = path.stat()
            # a copy: callers may change what they get; the cache key changes with the file
            return copy.deepcopy(_parsed(str(path), stat.st_mtime_ns, stat.st_size))
    raise ParametersError(
        f"{rel} is in none of {', '.join(map(str, searched))}: serve maia-salt's formulas/ from file_roots"
    )



@functools.lru_cache(maxsize=32)
def _parsed(path: str, _mtime_ns: int, _size: int) -> dict:
    """One parse per version of a file per process (the master's workers compile a pillar per host)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader) or {}
