"""What the stand-ins installed into a host share: their JSON state and their call log.

A stand-in's executables keep one JSON state file and append every call to
``calls.jsonl`` beside it. ``fs_root`` is where files are on this machine (``/`` for a
local test, a lab host's root directory for the lab), ``prefix`` the path prefix the
executing host sees.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class HostStandin:
    fs_root: Path
    prefix: str
    state_rel: str

    def host_path(self, path: str) -> Path:
        """Where `path` (as the host sees it) is on this machine."""
        return self.fs_root / path.lstrip("/")

    @property
    def state_file(self) -> Path:
        return self.host_path(f"{self.prefix}/{self.state_rel}")

    def write_state(self, state: dict) -> None:
        """The first state: in a folder only root reads (0700), the file 0600 (it holds a token)."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_file.parent, 0o700)
        self.state_file.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        os.chmod(self.state_file, 0o600)

    def state(self) -> dict:
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def update_state(self, **values) -> None:
        st = self.state()
        st.update(values)
        self.state_file.write_text(json.dumps(st, indent=1, sort_keys=True), encoding="utf-8")

    def calls(self) -> list[dict]:
        path = self.state_file.with_name("calls.jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
