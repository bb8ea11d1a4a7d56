"""Summaries of Salt state runs: per stage and host, states, changes, failures and time.

Input is Salt's own JSON output (``--out json``) of ``state.apply`` / ``salt-ssh``
or of ``salt-run state.orch``; nothing here talks to Salt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .orchestrations import INSTALL, Orchestration
from .terminal import printable


@dataclass
class HostResult:
    stage: str
    host: str
    states: int = 0
    changed: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (state id, comment)
    error: str | None = None  # the host did not run states at all
    busy: str | None = None  # the jid of an earlier state run still running there (nothing ran)
    # salt-ssh got no byte back from the host (a dropped session, not a state result): a transport
    # failure that a run again may clear (install.run_orchestration does so once)
    no_reply: bool = False
    # (state id, changes, comment) of each state that changed, or under test=True would change
    changes: list[tuple[str, dict, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0


def state_id(key: str) -> str:
    """The ID of a state return key (``module_|-id_|-name_|-function``)."""
    parts = key.split("_|-")
    return parts[1] if len(parts) >= 2 else key


# Salt's answer to a state run while another one runs on the host (salt.modules.state.running)
BUSY = re.compile(r'The function "(?P<fun>[\w.]+)" is running as PID (?P<pid>\d+) and was started at '
                  r'(?P<started>.+?) with jid (?P<jid>\d+)')


def host_result(stage: str, host: str, ret) -> HostResult:
    """One host's return of a state run (a dict of state results, or an error); every text a
    host sent is stripped of control characters (``terminal.printable``) before it is kept."""
    result = _host_result(stage, printable(host), ret)
    if result.error is not None:
        result.error = printable(result.error)
    result.failures = [(printable(sid), printable(comment)) for sid, comment in result.failures]
    return result


def no_reply_error(ret) -> str | None:
    """The error of a salt-ssh return that carried nothing from the host (empty stdout and
    stderr: the session ended without output), or None for any other return."""
    if ret == "":
        return "no reply from the host over ssh (nothing on stdout or stderr)"
    if (isinstance(ret, dict) and "_error" in ret and not str(ret.get("stdout") or "").strip()
            and not str(ret.get("stderr") or "").strip() and not ret.get("return")):
        return (f"no reply from the host over ssh (salt-ssh: {ret['_error']}, exit code {ret.get('retcode')}, "
                "nothing on stdout or stderr)")
    return None


def _host_result(stage: str, host: str, ret) -> HostResult:
    result = HostResult(stage, host)
    silent = no_reply_error(ret)
    if silent:
        result.error, result.no_reply = silent, True
        return result
    if isinstance(ret, dict) and "return" in ret and isinstance(ret.get("return"), (dict, list, str)):
        ret = ret["return"]  # salt-ssh / full_return wrappers
    if isinstance(ret, list):  # render errors come back as a list of messages
        result.error = "; ".join(str(x) for x in ret)
        busy = BUSY.search(result.error)
        if busy:
            result.busy = busy["jid"]
        return result
    if not isinstance(ret, dict):
        result.error = str(ret)
        return result
    if "stderr" in ret and "retcode" in ret and not any("_|-" in k for k in ret):
        result.error = (ret.get("stderr") or ret.get("stdout") or "").strip()[-2000:]
        return result
    for key, state in ret.items():
        if not isinstance(state, dict) or "result" not in state:
            continue
        result.states += 1
        result.seconds += float(state.get("duration") or 0) / 1000.0
        if state.get("changes"):
            result.changed += 1
            result.changes.append((state_id(key), state["changes"], str(state.get("comment", "")).strip()))
        if state.get("result") is False:
            result.failed += 1
            result.failures.append((state_id(key), str(state.get("comment", "")).strip()))
    return result


def part_of(sls, parts: dict[str, str]) -> str | None:
    """The row of a state from SLS ``sls``: that of the longest SLS of ``parts`` it is, or is under."""
    found = [p for p in parts if sls == p or str(sls).startswith(p + ".")]
    return parts[max(found, key=len)] if found else None


def host_results(stage: str, host: str, ret, split: dict[str, str] | None = None) -> list[HostResult]:
    """One host's rows of a state run: one row, or with ``split`` (stage SLS -> row) one row per
    stage its states came from (their ``__sls__``), in the order of ``split``; a state of none of
    them stays in ``stage``'s row, and so does a return that is no dict of state results."""
    inner = ret.get("return") if isinstance(ret, dict) and isinstance(ret.get("return"), dict) else ret
    if not split or not isinstance(inner, dict) or not any("_|-" in str(k) for k in inner):
        return [host_result(stage, host, ret)]
    groups: dict[str, dict] = {}
    for key, state in inner.items():
        row = part_of(state.get("__sls__"), split) if isinstance(state, dict) else None
        groups.setdefault(row or stage, {})[key] = state
    order = list(dict.fromkeys(list(split.values()) + [stage]))
    return [host_result(row, host, groups[row]) for row in order if row in groups]


def from_state_run(stage: str, data: dict, split: dict[str, str] | None = None) -> list[HostResult]:
    """Every host's rows, stage by stage (as the stage steps' rows come) and by host within a stage."""
    rows = [r for host, ret in sorted((data or {}).items()) for r in host_results(stage, host, ret, split)]
    order = list(dict.fromkeys(list((split or {}).values()) + [stage]))
    return sorted(rows, key=lambda r: order.index(r.stage))




def runner_error(said) -> str | None:
    """The error a runner's exception gave, out of the return Salt makes of it ("Exception
    occurred in runner ...", then the traceback): its last ``SomeError: message`` line's message."""
    if not isinstance(said, str) or "Exception occurred in runner" not in said:
        return None
    errors = [line.split(": ", 1)[1] for line in said.splitlines() if re.match(r"^[\w.]+(Error|Exception): ", line)]
    return errors[-1] if errors else None


def _step_failure(step: dict) -> str:
    """A failed step's comment; for a runner step (which only says "Runner function ... failed"),
    with the error its exception gave."""
    comment = str(step.get("comment", "")).strip()
    error = runner_error((step.get("changes") or {}).get("return"))
    if error:
        comment = f"{comment} {error}".strip()
    return printable(comment)


def from_orchestration(data: dict, lookup_job=None, orchestration: Orchestration = INSTALL
                       ) -> tuple[list[HostResult], list[tuple[str, str]]]:
    """Per-host results of every stage step of ``salt-run state.orch <orchestration> --out json``,
    and the orchestration's own failed steps (step id, comment).

    A step's output holds only the hosts that changed or failed (none at all on a
    run that changes nothing); ``lookup_job(jid, stage)`` supplies every host's
    return of the stage's job (``jid`` is None where the step does not name it). A step of
    ``orchestration.step_rows`` (a state that runs on the master) is a row of its own: one
    state, on the host the step's name gives."""
    if "data" in data and isinstance(data["data"], dict):
        data = data["data"]
    results: list[HostResult] = []
    failed_steps: list[tuple[str, str]] = []
    for steps in data.values():
        if isinstance(steps, list):  # the orchestration itself failed to render
            failed_steps += [(orchestration.sls, printable(m)) for m in steps]
            continue
        for key, step in sorted(steps.items(), key=lambda kv: kv[1].get("__run_num__", 0) if isinstance(kv[1], dict) else 0):
            if not isinstance(step, dict):
                continue
            step_id = state_id(key)
            if step.get("result") is False:
                failed_steps.append((step_id, _step_failure(step)))
            if step_id in orchestration.step_rows:  # the step's own return is its row
                results.append(host_result(orchestration.step_rows[step_id], str(step.get("name", "")), {key: step}))
                continue
            stage = orchestration.step_stage.get(step_id)
            if stage is None:
                continue
            ret = dict(lookup_job(step.get("__jid__"), stage) or {}) if lookup_job is not None else {}
            ret.update((step.get("changes") or {}).get("ret") or {})
            results += from_state_run(stage, ret, orchestration.split.get(stage))
    return results, failed_steps


def busy_hosts(results: list[HostResult]) -> dict[str, list[str]]:
    """{jid of an earlier state run: [hosts still running it]}."""
    busy: dict[str, list[str]] = {}
    for r in results:
        if r.busy and r.host not in busy.setdefault(r.busy, []):
            busy[r.busy].append(r.host)
    return busy


def render(results: list[HostResult], wall_seconds: float | None = None) -> str:
    w = max([8] + [len(r.stage) for r in results])  # the stage column fits "dashboard" too
    lines = [f"{'stage':<{w}} {'host':<16} {'states':>6} {'changed':>7} {'failed':>6} {'time':>8}"]
    for r in results:
        if r.busy:
            lines.append(f"{r.stage:<{w}} {r.host:<16} {'-':>6} {'-':>7} {'BUSY':>6} {'-':>8}")
        elif r.error is not None:
            lines.append(f"{r.stage:<{w}} {r.host:<16} {'-':>6} {'-':>7} {'ERROR':>6} {'-':>8}")
        else:
            lines.append(f"{r.stage:<{w}} {r.host:<16} {r.states:>6} {r.changed:>7} {r.failed:>6} {r.seconds:>7.1f}s")
    total_states = sum(r.states for r in results)
    total_changed = sum(r.changed for r in results)
    total_failed = sum(r.failed + (1 if r.error else 0) for r in results)
    hosts = len({r.host for r in results})
    tail = f"{hosts} hosts, {total_states} states, {total_changed} changed, {total_failed} failed"
    if wall_seconds is not None:
        tail += f", {wall_seconds:.1f}s wall time"
    lines.append(tail)
    for jid, hosts in busy_hosts(results).items():
        lines.append(f"  BUSY {', '.join(hosts)}: an earlier state run (job {jid}) is still running there")
    for r in results:
        if r.error is not None and not r.busy:
            lines.append(f"  ERROR {r.stage} on {r.host}: {r.error}")
        for state_id, comment in r.failures:
            lines.append(f"  FAILED {r.stage} on {r.host}: {state_id}: {comment}")
    return "\n".join(lines)
