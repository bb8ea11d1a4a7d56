"""Day-2 commands around ``maia install``: ``maia preflight``, ``maia reset``, ``maia remove-host``.

Each runs one orchestration of ``orch/`` the way ``maia install`` runs orch.maia
(:func:`maia_salt.install.run_orchestration`: live progress, per-host rows of
:mod:`maia_salt.summary`), with its own :mod:`maia_salt.orchestrations` entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import summary
from .install import InstallReport, run_orchestration
from .orchestrations import PREFLIGHT, REMOVE_HOST, RESET
from .pillar_map import deep_merge
from .progress import Progress

PREFLIGHT_STEP = "maia-orch-preflight"


def _step_return(data: dict, step_id: str):
    """The return of one runner step of an orchestration's data."""
    for value in (data or {}).values():
        if not isinstance(value, dict):
            continue
        for key, step in value.items():
            if isinstance(step, dict) and summary.state_id(key) == step_id:
                return (step.get("changes") or {}).get("return")
    return None


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


def run_preflight(salt_config: str, ssh: bool = False, pillar: dict | None = None,
                  progress: Progress | None = None) -> PreflightReport:
    run = run_orchestration(salt_config, ssh=ssh, pillar=pillar, progress=progress, orchestration=PREFLIGHT)
    if run.raw_error:
        return PreflightReport({}, [], run.seconds, run.returncode, raw_error=run.raw_error)
    ret = _step_return(run.data, PREFLIGHT_STEP)
    hosts = ret.get("hosts", {}) if isinstance(ret, dict) else {}
    return PreflightReport(hosts, run.failed_steps, run.seconds, run.returncode, results=preflight_rows(hosts))


# -------------------------------------------------------------------- reset

RESET_STAGES = ("admin", "core", "k8s", "prepare")  # the order they run in: last installed, first removed


def run_reset(salt_config: str, stages: list[str] | None = None, wipe_storage: bool = False, ssh: bool = False,
              pillar: dict | None = None, test: bool = False, progress: Progress | None = None) -> InstallReport:
    reset: dict = {"wipe_storage": bool(wipe_storage)}
    if stages:
        reset["stages"] = list(stages)
    extra = deep_merge({"maia": {"reset": reset}}, pillar or {})
    return run_orchestration(salt_config, ssh=ssh, pillar=extra, test=test, progress=progress, orchestration=RESET)


# -------------------------------------------------------------- remove-host


def run_remove_host(salt_config: str, name: str, ssh: bool = False, pillar: dict | None = None,
                    test: bool = False, progress: Progress | None = None) -> InstallReport:
    """orch.maia_remove_host for ``name``. The leaving host's own step may fail when the host
    is gone already: that is reported, and only that, as a note, not a failure."""
    extra = deep_merge({"maia": {"remove_host": {"name": name}}}, pillar or {})
    report = run_orchestration(salt_config, ssh=ssh, pillar=extra, test=test, progress=progress,
                               orchestration=REMOVE_HOST)
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
