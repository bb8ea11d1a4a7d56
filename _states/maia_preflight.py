"""The preflight as a state: a host checks itself as the first state of its own run.

orch.maia's one-job run (docs/orchestration.md, "One job per host on a converged site") has
no preflight job of its own: every host applies ``maia.preflight`` first (``order: 1``,
``failhard``), which runs the same read-only checks as ``maia_preflight.check`` in the
preflight job, the host's clock against the master's included. An error fails the state,
and with ``failhard`` no later state of that host runs; warnings are named in the comment.

The checks only read, so they run for real under ``test=True`` too, and the state never
reports a change.

.. code-block:: yaml

    maia-preflight-checked:
      maia_preflight.checked:
        - clock: {"at": 1765000000.0, "slack": 10, "max_skew": 5}
        - order: 1
        - failhard: true
"""
import maia_state_return  # _utils/: shipped and put on sys.path by Salt's loader

__virtualname__ = "maia_preflight"


def __virtual__():
    if "maia_preflight.check" not in __salt__:
        return False, "the maia_preflight execution module is not loaded"
    return __virtualname__


def _line(finding):
    return f"{finding['message']} (fix: {finding['fix']})"


def checked(name, flags=None, settings=None, clock=None):
    """
    The host ``name`` passes its preflight checks (``maia_preflight.check``; ``flags`` and
    ``settings`` as there, default: this run's pillar). ``clock``: ``{"at", "slack",
    "max_skew"}``, the master's clock as the orchestration sent the job, to check this
    host's clock against.
    """
    ret = maia_state_return.new(name)
    ok, report = maia_state_return.attempt(ret, __salt__["maia_preflight.check"],
                                           flags=flags, settings=settings, clock=clock)
    if not ok:
        return maia_state_return.failed(ret, f"the preflight checks could not run: {ret['comment']}")
    findings = report.get("findings") or []
    errors = [f for f in findings if f.get("level") == "error"]
    warnings = [f for f in findings if f.get("level") != "error"]
    said = []
    checks = ", ".join(report.get("checks") or [])
    if errors:
        said.append(f"preflight found {len(errors)} problem(s) on {report.get('host') or name} (checks {checks}): "
                    + "; ".join(_line(f) for f in errors))
    else:
        said.append(f"preflight checks passed ({checks})")
    if warnings:
        said.append("warnings: " + "; ".join(_line(f) for f in warnings))
    if errors:
        return maia_state_return.failed(ret, "\n".join(said))
    ret["comment"] = "\n".join(said)
    return ret
