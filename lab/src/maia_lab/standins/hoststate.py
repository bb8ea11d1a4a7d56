"""What the stand-ins installed into a host share: their JSON state and their call log.

A stand-in's executables keep one JSON state file and append every call to
``calls.jsonl`` beside it; the helpers for that are written once, in ``hostcli.py``, and
:func:`build_cli` puts them into each executable it installs. ``fs_root`` is where files are on this machine (``/`` for a
local test, a lab host's root directory for the lab), ``prefix`` the path prefix the
executing host sees.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

HOSTCLI_SOURCE = Path(__file__).with_name("hostcli.py")
HOSTCLI_IMPORT = "from maia_lab.standins.hostcli import "
# the other shared parts, inlined the same way after hostcli's text: the service stand-ins' (k3s,
# k0s, rke2) servicecli, joincli (join tokens, worker Nodes), which the worker sides use, and the
# MicroK8s stand-in's cluster commands (microk8s/cluster.py)
SHARED = ("servicecli", "joincli", "microk8s.cluster")
SERVICECLI_SOURCE = Path(__file__).with_name("servicecli.py")
SERVICECLI_IMPORT = "from maia_lab.standins.servicecli import "


def _shared_import(line: str) -> str | None:
    """The shared module ``line`` imports from, if any."""
    for name in SHARED:
        if line.startswith(f"from maia_lab.standins.{name} import "):
            return name
    return None


def _inline(lines: list[str], done: set) -> str:
    """``lines`` with each import of a shared module replaced by its text (once; a module's own
    shared imports first), and hostcli's import dropped (its text is already above)."""
    out = []
    for line in lines:
        name = _shared_import(line)
        if line.startswith(HOSTCLI_IMPORT) or (name and name in done):
            continue
        if name and line.rstrip().endswith("("):
            raise ValueError(f"the import of {name} must be one line: {line.strip()}")
        if name:
            done.add(name)
            source = Path(__file__).parent.joinpath(*name.split(".")).with_suffix(".py").read_text(encoding="utf-8")
            line = _inline(source.splitlines(keepends=True), done)
        out.append(line)
    return "".join(out)


def build_cli(cli_source: Path, *, python: str, state_file: str, state_env: str) -> str:
    """The text of a stand-in executable for a host: ``cli_source`` with its shebang set to
    ``python`` and its import of ``hostcli`` replaced by hostcli's text, its ``STATE_FILE``
    and ``STATE_ENV`` filled in, and its imports of the other shared modules (``SHARED``) by
    their text. One self-contained file that needs no ``maia_lab`` on the host."""
    source = cli_source.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith(HOSTCLI_IMPORT)]
    if len(at) != 1 or not source.startswith("#!/usr/bin/env python3\n"):
        raise ValueError(f"{cli_source}: wants the python3 shebang and one line that begins {HOSTCLI_IMPORT!r}")
    shared = HOSTCLI_SOURCE.read_text(encoding="utf-8")
    for name, value in (("STATE_FILE", state_file), ("STATE_ENV", state_env)):
        shared = shared.replace(f"\n{name} = None", f"\n{name} = {json.dumps(value)}", 1)
    text = "".join(lines[:at[0]]) + shared + _inline(lines[at[0] + 1:], set())
    return f"#!{python}\n" + text[len("#!/usr/bin/env python3\n"):]


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
