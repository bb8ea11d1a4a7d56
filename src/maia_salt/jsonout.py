"""``--json``: one result document per command, for CI pipelines and a site's own automation.

The document's shape is ``schemas/result.schema.json`` (JSON Schema 2020-12), shipped in the package
and described in docs/json-output.md. Changes are masked (:func:`maia_salt.plan.masked`). Exit codes:
0 done, 1 a host or step failed (or the check found errors), 2 bad input (then no document: the
message is on standard error), 3 (``maia drift`` only) a host drifted, 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import json
from importlib import resources

from .plan import masked
from .summary import HostResult

SCHEMA_VERSION = 1
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def schema() -> dict:
    """The shipped JSON Schema of the document."""
    return json.loads(resources.files("maia_salt").joinpath("schemas/result.schema.json").read_text(encoding="utf-8"))


def host_row(r: HostResult) -> dict:
    return {
        "host": r.host,
        "stage": r.stage,
        "ok": r.ok,
        "states": r.states,
        "changed": r.changed,
        "failed": r.failed + (1 if r.error else 0),
        "seconds": round(r.seconds, 3),
        "error": r.error,
        "busy": r.busy,
        "changes": [{"state": s, "changes": masked(c), "comment": m} for s, c, m in r.changes],
        "failures": [{"state": s, "comment": c} for s, c in r.failures],
    }


def document(command: str, *, ok: bool, exit_code: int, seconds: float = 0.0, test: bool = False,
             results=(), failed_steps=(), findings=(), notes=()) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "ok": bool(ok),
        "exit_code": exit_code,
        "seconds": round(max(seconds, 0.0), 3),
        "test": bool(test),
        "hosts": [row if isinstance(row, dict) else host_row(row) for row in results],
        "failed_steps": [{"step": s, "comment": c} for s, c in failed_steps],
        "findings": list(findings),
        "notes": [str(n) for n in notes],
    }


def of_run(command: str, report, test: bool = False) -> dict:
    """An InstallReport (install, reset, remove-host)."""
    notes = list(getattr(report, "notes", []))
    if report.raw_error:
        notes.append(f"salt-run: {report.raw_error[-2000:]}")
    return document(command, ok=report.ok, exit_code=EXIT_OK if report.ok else EXIT_FAILED, seconds=report.seconds,
                    test=test, results=report.results, failed_steps=report.failed_steps, notes=notes)


def of_drift(report, exit_code: int) -> dict:
    """``maia drift``: a run document of orch.maia under test=True whose exit code says whether
    something drifted (:func:`maia_salt.drift.exit_code`: 0, 1 or 3); ``ok`` only with 0."""
    doc = of_run("drift", report, test=True)
    doc.update(ok=exit_code == EXIT_OK, exit_code=exit_code)
    return doc


def of_preflight(report) -> dict:
    findings = [
        {"host": host, "level": "error" if f["level"] == "error" else "warning", "check": str(f.get("check", "")),
         "message": str(f.get("message", "")), "fix": str(f.get("fix", ""))}
        for host, data in sorted(report.hosts.items()) for f in data.get("findings", [])
    ]
    notes = [f"salt-run: {report.raw_error[-2000:]}"] if report.raw_error else []
    return document("preflight", ok=report.ok, exit_code=EXIT_OK if report.ok else EXIT_FAILED,
                    seconds=report.seconds, results=report.results, failed_steps=report.failed_steps,
                    findings=findings, notes=notes)


def of_validation(report) -> dict:
    return document("validate", ok=report.ok, exit_code=EXIT_OK if report.ok else EXIT_BAD_INPUT,
                    findings=[f.to_dict() for f in report.findings])


def of_status(rows, answers: dict) -> dict:
    """``maia status``: the last run per host and stage (``when``, ``jid``), and ``answers`` per host
    (a row of stage ``-`` for a host with no stage run yet)."""
    out = []
    seen = set()
    for r in rows:
        row = host_row(r)
        row.update(when=getattr(r, "when", None), jid=getattr(r, "jid", None), answers=answers.get(r.host))
        out.append(row)
        seen.add(r.host)
    for host in sorted(set(answers) - seen):
        row = host_row(HostResult("-", host))
        row.update(when=None, jid=None, answers=answers[host])
        out.append(row)
    ok = all(a is not False for a in answers.values()) and all(r.ok for r in rows)
    return document("status", ok=ok, exit_code=EXIT_OK if ok else EXIT_FAILED, results=out)


def interrupted(command: str, message: str, test: bool = False) -> dict:
    return document(command, ok=False, exit_code=EXIT_INTERRUPTED, test=test, notes=[message])


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, default=str)
