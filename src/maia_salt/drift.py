"""``maia drift``: does every host still match the site's configuration?

A drift check is the install's own dry run: orch.maia with ``test=True``
(:func:`maia_salt.install.run_orchestration`), so each stage's states compare what they manage
with what the site asks for and predict, without changing anything, what a run would put back.
A host drifted when one of its states would change; what would change is the plan of
:mod:`maia_salt.plan` (masked there). This module only adds what a check needs on top of
that: its exit code and its closing lines.
"""
from __future__ import annotations

from .install import InstallReport
from .summary import HostResult

EXIT_DRIFTED = 3  # the check ran and a host differs from the site's configuration


def drifted(results: list[HostResult]) -> list[HostResult]:
    """The rows (host and stage) with at least one state that would change."""
    return [r for r in results if r.changes]


def exit_code(report: InstallReport) -> int:
    """1 when the check itself failed somewhere (a host did not answer, a state failed: what it
    says about drift is incomplete), else 3 when something drifted, else 0."""
    if not report.ok:
        return 1
    return EXIT_DRIFTED if drifted(report.results) else 0


def verdict(report: InstallReport) -> str:
    """The closing line: nothing drifted, or which host drifted in which stage."""
    rows = drifted(report.results)
    if not report.ok:
        return "drift check FAILED: see the errors above; the hosts it did not check may have drifted too"
    if not rows:
        return "no drift: every host matches the site's configuration"
    states = sum(len(r.changes) for r in rows)
    where = ", ".join(f"{r.host} ({r.stage})" for r in rows)
    return f"DRIFT: {states} state(s) differ from the site's configuration on {where}; `maia install` puts them back"
