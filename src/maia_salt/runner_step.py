"""How the orchestrations' own states (``_orch_states/``) call a runner: as Salt's ``salt.runner``
state does (``saltutil.runner``, under the orchestration's jid, so that Salt announces the step on
the event bus and ``maia install`` shows it), and what its return says."""
from __future__ import annotations

from .summary import runner_error


def call(salt: dict, dunders: dict, fun: str, wanted: str, **kwargs) -> tuple[dict | None, str | None]:
    """``(return, None)`` of the runner ``fun``; ``(None, why)`` when it raised, failed or returned
    something other than a dict with the key ``wanted``. ``dunders``: the calling state module's
    ``globals()`` (its ``__orchestration_jid__`` and ``__env__``)."""
    out = salt["saltutil.runner"](fun, __orchestration_jid__=dunders.get("__orchestration_jid__"),
                                  __env__=dunders.get("__env__", "base"), full_return=True, **kwargs)
    said = out.get("return") if isinstance(out, dict) else out
    if not isinstance(said, dict) or wanted not in said or out.get("success") is False:
        error = runner_error(said) or (said.get("Error") if isinstance(said, dict) else None)
        return None, f"{fun} failed: {error or 'no usable return'}"
    return said, None
