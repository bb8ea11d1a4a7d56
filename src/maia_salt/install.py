"""``maia install``: run orch.maia with Salt's own tools and print a per-stage, per-host summary.

It is a thin wrapper around ``salt-run state.orch orch.maia --out json``: the
orchestration does the work (with minions, or over salt-ssh when
``maia:orch:ssh`` is true); this module adds the closing summary and an exit
code that is non-zero when any host or step failed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import summary
from .pillar_map import deep_merge


@dataclass
class InstallReport:
    results: list[summary.HostResult]
    failed_steps: list[tuple[str, str]]
    seconds: float
    returncode: int
    raw_error: str = ""

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and not self.failed_steps
            and not self.raw_error
            and all(r.ok for r in self.results)
        )

    @property
    def changed(self) -> int:
        return sum(r.changed for r in self.results)

    def render(self) -> str:
        text = summary.render(self.results, self.seconds)
        for step, comment in self.failed_steps:
            text += f"\n  FAILED step {step}: {comment[:2000]}"
        if self.raw_error:
            text += f"\n  salt-run: {self.raw_error[-2000:]}"
        return text


def salt_bin(name: str) -> str:
    """The Salt script installed beside this interpreter (the venv's), else from PATH."""
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else name


def orch_pillar(stages: list[str] | None, ssh: bool, extra: dict | None) -> dict:
    maia: dict = {"orch": {"ssh": ssh}}
    if stages:
        maia["stages"] = list(stages)
    return deep_merge({"maia": maia}, extra or {})


def run_orchestration(
    salt_config: str,
    stages: list[str] | None = None,
    ssh: bool = False,
    pillar: dict | None = None,
    test: bool = False,
    timeout: float = 3600,
) -> InstallReport:
    cmd = [
        salt_bin("salt-run"), "-c", salt_config, "--out", "json", "--log-level", "quiet",
        "state.orch", "orch.maia", f"pillar={json.dumps(orch_pillar(stages, ssh, pillar))}",
    ]
    if test:
        cmd.append("test=True")
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return InstallReport([], [], seconds, proc.returncode or 1,
                             raw_error=(proc.stderr or proc.stdout).strip() or "no output")
    def lookup_job(jid: str) -> dict:
        job = subprocess.run(
            [salt_bin("salt-run"), "-c", salt_config, "--out", "json", "--log-level", "quiet", "jobs.lookup_jid", jid],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
        try:
            return json.loads(job.stdout)
        except json.JSONDecodeError:
            return {}

    results, failed_steps = summary.from_orchestration(data, lookup_job)
    return InstallReport(results, failed_steps, seconds, proc.returncode)


def default_salt_config() -> str:
    return os.environ.get("SALT_CONFIG_DIR", "/etc/salt")
