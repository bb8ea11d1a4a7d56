"""``maia status``: the last run of each stage on each host, from the master's job cache, and
whether each host answers now.

A stage is a ``state.sls maia.<stage>`` job (what orch.maia and ``maia install`` start, with
minions or over salt-ssh: both return to the master's job cache). Dry runs (``test=True``) are
left out: they changed nothing. The scheduled drift check of each minion (``maia_drift.check``,
pillar ``maia:drift:interval``) is a row of stage ``drift``: the states that would change, per
stage. Nothing here changes a host.
"""
from __future__ import annotations

from .summary import HostResult, host_result
from .terminal import printable

from .checks import INSTALL_STAGES as STAGES
MAX_JOBS = 50  # newest stage jobs read per run of the command
LOG_HINT = "salt-run -c <salt config> jobs.list_jobs shows it"


class StatusError(RuntimeError):
    """The job cache cannot be read; the message says why."""


DRIFT, DRIFT_CHECK = "drift", "maia_drift.check"


def _stage_of(job: dict) -> str | None:
    if job.get("Function") == DRIFT_CHECK:
        return DRIFT
    if job.get("Function") not in ("state.sls", "state.apply"):
        return None
    args = job.get("Arguments") or []
    sls = args[0] if args and isinstance(args[0], str) else None
    for arg in args:
        if isinstance(arg, dict) and arg.get("test") in (True, "True", "true"):
            return None
    if sls and sls.startswith("maia.") and sls.split(".", 1)[1] in STAGES:
        return sls.split(".", 1)[1]
    return None


def stage_jobs(runner) -> list[tuple[str, str, str, str]]:
    """(jid, stage, start time, target) of the newest stage jobs, newest first; ``runner(fun, **kw)``
    is a Salt runner call (``salt.runner.RunnerClient.cmd``)."""
    # no search_function: Salt's filter fails on a job of several functions (the module sync's),
    # whose Function is a list; _stage_of picks the stage jobs
    jobs = runner("jobs.list_jobs") or {}
    if not isinstance(jobs, dict):  # the runner's own error text: its exception's line, not Salt's stack dump
        lines = [line.strip() for line in str(jobs).strip().splitlines() if line.strip()] or ["no answer"]
        reason = lines[-1] if "Traceback (most recent call last)" in lines[0] else lines[0]
        raise StatusError(f"the master's job cache cannot be read: {reason[:300]} (the whole error: {LOG_HINT})")
    found = [(jid, stage, str(job.get("StartTime", "")), str(job.get("Target", ""))) for jid, job in jobs.items()
             if isinstance(job, dict) and (stage := _stage_of(job))]
    return sorted(found, key=lambda item: item[0], reverse=True)[:MAX_JOBS]  # jids sort by time


def last_runs(runner, hosts: list[str] | None = None) -> list[HostResult]:
    """One row per host and stage: the newest stage job that has a return of that host."""
    rows: dict[tuple[str, str], HostResult] = {}
    for jid, stage, when, target in stage_jobs(runner):
        if stage == DRIFT and (DRIFT, target) in rows:
            continue  # a minion's own scheduled job targets itself: its newest check is read already
        returns = runner("jobs.lookup_jid", jid=jid) or {}
        if isinstance(returns, dict) and "outputter" in returns and isinstance(returns.get("data"), dict):
            returns = returns["data"]  # a state job's returns come with the outputter's name
        if not isinstance(returns, dict):
            continue
        for host, ret in returns.items():
            if (stage, host) in rows or (hosts and host not in hosts):
                continue
            row = drift_row(host, ret) if stage == DRIFT else host_result(stage, host, ret)
            row.jid, row.when = jid, when  # type: ignore[attr-defined]
            rows[(stage, host)] = row
    order = {stage: index for index, stage in enumerate((*STAGES, DRIFT))}
    return [rows[key] for key in sorted(rows, key=lambda k: (order[k[0]], k[1]))]


def drift_row(host: str, ret) -> HostResult:
    """A host's last ``maia_drift.check``: its states, the drifted ones (``<stage>: <state id>``)
    as changes, a stage whose check failed as a failure."""
    if isinstance(ret, dict) and "return" in ret and "stages" not in ret:
        ret = ret["return"]
    if not isinstance(ret, dict) or not isinstance(ret.get("stages"), dict):
        return host_result(DRIFT, host, ret if isinstance(ret, (list, str)) else f"unexpected return: {ret!r:.200}")
    row = HostResult(DRIFT, printable(host))
    for stage, checked in sorted(ret["stages"].items()):
        checked = checked if isinstance(checked, dict) else {}
        row.states += int(checked.get("states") or 0)
        drifted = [str(s) for s in checked.get("drifted") or []]
        row.changes += [(printable(f"{stage}: {state}"), {}, "would change") for state in drifted]
        if checked.get("error"):
            row.failures.append((printable(stage), printable(str(checked["error"]))))
    row.changed, row.failed = len(row.changes), len(row.failures)
    return row


def render(rows: list[HostResult], answers: dict[str, bool | None]) -> str:
    lines = [f"{'stage':<8} {'host':<16} {'last run':<26} {'states':>6} {'changed':>7} {'failed':>6}"]
    for r in rows:
        result = "ERROR" if r.error else str(r.failed)
        lines.append(f"{r.stage:<8} {r.host:<16} {getattr(r, 'when', ''):<26} {r.states:>6} {r.changed:>7} {result:>6}")
        if r.stage == DRIFT:
            lines += [f"  DRIFT on {r.host}: {state}" for state, _, _ in r.changes]
    if not rows:
        lines.append("(no stage run in the job cache)")
    for host, answer in sorted(answers.items()):
        state = "answers" if answer else ("DOES NOT ANSWER" if answer is False else "not asked (--ssh)")
        lines.append(f"host {host}: {state}")
    return "\n".join(lines)
