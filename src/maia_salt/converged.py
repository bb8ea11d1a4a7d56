"""orch.maia's record of its last finished run: the sha256 of that run's inputs, in the master's
cachedir. orch.maia reads it when it renders (orch/steps.jinja, ``converged_record``) and runs one
job per host when this run's inputs have the same digest (docs/orchestration.md, "One job per host
on a converged site"); its last step writes it (``_orch_states/maia_orch.py``,
``converged_recorded``)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from .files import write_new

# under the master's cachedir; orch/steps.jinja names the same path
RECORD = os.path.join("maia-salt", "converged.sha256")
DIGEST = re.compile(r"[0-9a-f]{64}")


def record(cachedir: str, digest: str) -> str:
    """Write ``digest`` (64 hex digits, anything else raises ValueError) to the record under
    ``cachedir``, readable by its owner only, replacing the old one in one step; returns its path."""
    digest = str(digest).strip()
    if not DIGEST.fullmatch(digest):
        raise ValueError(f"not a sha256 digest: {digest[:80]!r}")
    path = os.path.join(cachedir, RECORD)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    part = Path(f"{path}.{os.getpid()}")
    part.unlink(missing_ok=True)  # a crashed write's leftover: write_new never writes over a file
    write_new(part, (digest + "\n").encode("ascii"), 0o600)
    os.replace(part, path)
    return path
