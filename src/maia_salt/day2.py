"""Day-2 commands around ``maia install``: ``maia preflight``, ``maia reset``, ``maia remove-host``.

Each runs one orchestration of ``orch/`` with ``salt-run --out json`` and turns
its return into per-host rows of :mod:`maia_salt.summary`, like ``maia install``.
"""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field

from . import summary
from .install import InstallReport, orch_pillar, salt_bin
from .pillar_map import deep_merge

PREFLIGHT_STEP = "maia-orch-preflight"


def salt_run_orch(salt_config: str, sls: str, pillar: dict, test: bool = False, timeout: float = 3600):
    """``salt-run state.orch SLS`` as JSON: (data or None, error text, returncode, seconds)."""
    cmd = [salt_bin("salt-run"), "-c", str(salt_config), "--out", "json", "--log-level", "quiet",
           "state.orch", sls, f"pillar={json.dumps(pillar)}"]
    if test:
        cmd.append("test=True")
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None, (proc.stderr or proc.stdout).strip() or "no output", proc.returncode or 1, seconds
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]
    return data, "", proc.returncode, seconds


def orch_steps(data: dict) -> tuple[dict, list[tuple[str, str]]]:
    """{step id: step} of an orchestration's return, and its failed steps (id, comment)."""
    steps: dict = {}
    failed: list[tuple[str, str]] = []
    for value in (data or {}).values():
        if isinstance(value, list):  # the orchestration failed to render
            failed += [("orch", str(m)) for m in value]
            continue
        for key, step in sorted(value.items(), key=lambda kv: kv[1].get("__run_num__", 0) if isinstance(kv[1], dict) else 0):
            if isinstance(step, dict):
                steps[key.split("_|-")[1] if "_|-" in key else key] = step
    for step_id, step in steps.items():
        if step.get("result") is False:
            failed.append((step_id, str(step.get("comment", "")).strip()))
    return steps, failed


# ---------------------------------------------------------------- preflight


@dataclass
class PreflightReport:
    hosts: dict  # {host: {"roles", "checks", "findings"}}, the site's own under "site"
    failed_steps: list[tuple[str, str]]
    seconds: float
    returncode: int
    raw_error: str = ""
    results: list[summary.HostResult] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, dict]]:
        return [(h, f) for h, d in sorted(self.hosts.items()) for f in d["findings"] if f["level"] == "error"]

    @property
    def warnings(self) -> list[tuple[str, dict]]:
        return [(h, f) for h, d in sorted(self.hosts.items()) for f in d["findings"] if f["level"] != "error"]

    @property
    def ok(self) -> bool:
        # a step failing only because of findings is not a separate failure
        other = [s for s, _ in self.failed_steps if s != PREFLIGHT_STEP]
        return bool(self.hosts) and not self.errors and not other and not self.raw_error

    def render(self) -> str:
        text = summary.render(self.results, self.seconds)
        for host, f in self.warnings:
            text += f"\n  WARNING preflight on {host}: {f['check']}: {f['message']}\n    fix: {f['fix']}"
        for host, f in self.errors:
            text += f"\n    fix for {host} ({f['check']}): {f['fix']}"
        for step, comment in self.failed_steps:
            if step != PREFLIGHT_STEP or not self.hosts:
                text += f"\n  FAILED step {step}: {comment[:2000]}"
        if self.raw_error:
            text += f"\n  salt-run: {self.raw_error[-2000:]}"
        text += "\n" + ("preflight passed" if self.ok else f"preflight FAILED: {len(self.errors)} error(s)")
        return text


def preflight_rows(hosts: dict) -> list[summary.HostResult]:
    """One summary row per host: checks run, errors as failures (check: message)."""
    rows = []
    for host, data in sorted(hosts.items()):
        errors = [f for f in data["findings"] if f["level"] == "error"]
        rows.append(summary.HostResult(
            stage="preflight", host=host, states=len(data.get("checks", [])), changed=0, failed=len(errors),
            failures=[(f["check"], f["message"]) for f in errors],
        ))
    return rows


def run_preflight(salt_config: str, ssh: bool = False, pillar: dict | None = None) -> PreflightReport:
    data, error, returncode, seconds = salt_run_orch(salt_config, "orch.maia_preflight", orch_pillar(None, ssh, pillar))
    if data is None:
        return PreflightReport({}, [], seconds, returncode, raw_error=error)
    steps, failed = orch_steps(data)
    ret = (steps.get(PREFLIGHT_STEP, {}).get("changes") or {}).get("return")
    hosts = ret.get("hosts", {}) if isinstance(ret, dict) else {}
    return PreflightReport(hosts, failed, seconds, returncode, results=preflight_rows(hosts))


# -------------------------------------------------------------------- reset

RESET_STAGES = ("core", "k8s", "prepare")  # the order they run in: last installed, first removed


@dataclass
class RunReport(InstallReport):
    """Per-stage, per-host rows of an orchestration that runs state steps (reset, remove-host),
    like ``maia install``'s, with notes (e.g. a leaving host that did not answer)."""

    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        return super().render() + "".join(f"\n  NOTE {note}" for note in self.notes)


def _lookup_job(salt_config: str):
    def lookup(jid: str) -> dict:
        proc = subprocess.run(
            [salt_bin("salt-run"), "-c", str(salt_config), "--out", "json", "--log-level", "quiet", "jobs.lookup_jid", jid],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError:
            return {}

    return lookup


def state_steps_report(salt_config: str, sls: str, pillar: dict, stage_of_step: dict, test: bool = False) -> RunReport:
    """Run orchestration ``sls`` and summarise its state steps (``{step id: stage name}``) per host."""
    data, error, returncode, seconds = salt_run_orch(salt_config, sls, pillar, test=test)
    if data is None:
        return RunReport([], [], seconds, returncode, raw_error=error)
    steps, failed = orch_steps(data)
    lookup = _lookup_job(salt_config)
    results: list[summary.HostResult] = []
    for step_id, step in steps.items():
        stage = stage_of_step.get(step_id)
        if stage is None:
            continue
        ret = (step.get("changes") or {}).get("ret") or {}
        if not ret and step.get("__jid__"):
            ret = lookup(step["__jid__"]) or {}
        results += summary.from_state_run(stage, ret)
    return RunReport(results, failed, seconds, returncode)


def run_reset(salt_config: str, stages: list[str] | None = None, wipe_storage: bool = False, ssh: bool = False,
              pillar: dict | None = None, test: bool = False) -> RunReport:
    reset: dict = {"wipe_storage": bool(wipe_storage)}
    if stages:
        reset["stages"] = list(stages)
    extra = orch_pillar(None, ssh, {"maia": {"reset": reset}})
    extra = deep_merge(extra, pillar or {})
    return state_steps_report(salt_config, "orch.maia_reset", extra,
                              {f"maia-reset-{s}": s for s in RESET_STAGES}, test=test)


# -------------------------------------------------------------- remove-host

REMOVE_STEPS = {"maia-remove-host-leaving": "leaving", "maia-remove-host-others": "others"}


def run_remove_host(salt_config: str, name: str, ssh: bool = False, pillar: dict | None = None,
                    test: bool = False) -> RunReport:
    """orch.maia_remove_host for ``name``. The leaving host's own step may fail when the host
    is gone already: that is reported, and only that, as a note, not a failure."""
    extra = deep_merge(orch_pillar(None, ssh, {"maia": {"remove_host": {"name": name}}}), pillar or {})
    report = state_steps_report(salt_config, "orch.maia_remove_host", extra, REMOVE_STEPS, test=test)
    ran = [r for r in report.results if r.stage == "leaving" and r.error is None]
    on_it = ("maia-remove-host-leaving", "maia-remove-host-pillar-refreshed")  # the steps that target the host
    leaving = [c for s, c in report.failed_steps if s in on_it]
    others_failed = [s for s, _ in report.failed_steps if s not in on_it]
    if leaving and not ran and not others_failed:  # the host did not answer (or is gone)
        report.results = [r for r in report.results if r.stage != "leaving"]
        report.failed_steps = []
        report.notes.append(f"{name} did not answer: its NFS mount and CIFS files stay ({leaving[0][:300]})")
        if all(r.ok for r in report.results):
            report.returncode = 0
    return report
