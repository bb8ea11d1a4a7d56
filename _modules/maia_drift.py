"""The drift check a minion's scheduler runs (pillar ``maia:drift:interval``): this host's stages
with ``test=True``, and the states that would change.

``check`` applies each stage this host runs (``maia.prepare`` everywhere; ``maia.k8s``,
``maia.core`` and ``maia.admin`` on the control plane) with ``test=True``, so nothing changes,
and returns per stage the IDs of the states that would change (IDs only: the master's ``maia
drift`` shows their predicted changes). Its return reaches the master's job cache like any
scheduled job's (``return_job``), where ``maia status`` reads the newest one per host. It also
writes the result for node-exporter's textfile collector (``maia_drift.prom`` in
``maia:drift:textfile_dir``), so that the core layer's Prometheus can scrape it.

CLI example::

    salt-call maia_drift.check
"""
import os
import time

# _utils/: shipped and put on sys.path by Salt's loader
import maia_files

__virtualname__ = "maia_drift"

CONTROL_PLANE_STAGES = ("k8s", "core", "admin")
DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"  # Debian's prometheus-node-exporter's folder
METRIC_FILE = "maia_drift.prom"
BUSY_WAIT = 300  # seconds a check waits for another state run on this host (an install, a heal) to end
BUSY_POLL = 5


def __virtual__():
    return __virtualname__


def _pillar(key, default=None):
    return __salt__["pillar.get"](key, default, unmask=True)


def stages():
    """The stages this host runs, in order (``maia:drift:stages`` narrows them)."""
    ran = ["prepare"] + (list(CONTROL_PLANE_STAGES) if "control-plane" in (_pillar("maia:roles") or []) else [])
    wanted = _pillar("maia:drift:stages")
    return [stage for stage in ran if not wanted or stage in wanted]


def _busy(ret):
    """Salt's answer when another state run holds this host: a list of 'is running as PID' lines."""
    return isinstance(ret, list) and bool(ret) and all("is running as PID" in str(line) for line in ret)


def _apply_test(stage, busy_wait):
    """``state.sls maia.<stage>`` with ``test=True``; while another state run holds the host (a
    check fired during an install), wait for it to end, up to ``busy_wait`` seconds, so that the
    check reports the host as that run left it rather than a refusal."""
    deadline = time.monotonic() + busy_wait
    while True:
        ret = __salt__["state.sls"](f"maia.{stage}", test=True, queue=False)
        if not _busy(ret) or time.monotonic() >= deadline:
            return ret
        time.sleep(BUSY_POLL)


def _stage_result(ret):
    """{"states", "drifted": [ids], "error"} of one ``state.sls ... test=True`` return."""
    if not isinstance(ret, dict):
        return {"states": 0, "drifted": [], "error": "; ".join(map(str, ret)) if isinstance(ret, list) else str(ret)}
    drifted, failed = [], []
    for key, state in ret.items():
        if not isinstance(state, dict) or "result" not in state:
            continue
        state_id = key.split("_|-")[1] if "_|-" in key else key
        if state.get("changes"):
            drifted.append(state_id)
        if state.get("result") is False:
            failed.append(state_id)
    return {"states": sum(1 for s in ret.values() if isinstance(s, dict) and "result" in s),
            "drifted": sorted(drifted), "error": f"failed: {', '.join(sorted(failed))}" if failed else None}


def _metrics(result):
    lines = [
        "# HELP maia_drift_states States of a MAIA stage that would change on this host at the last check.",
        "# TYPE maia_drift_states gauge",
    ]
    lines += [f'maia_drift_states{{stage="{stage}"}} {len(r["drifted"])}' for stage, r in result["stages"].items()]
    lines += [
        "# HELP maia_drift_check_failed 1 when the stage's check failed (its drift is unknown).",
        "# TYPE maia_drift_check_failed gauge",
    ]
    lines += [f'maia_drift_check_failed{{stage="{stage}"}} {int(bool(r["error"]))}'
              for stage, r in result["stages"].items()]
    lines += [
        "# HELP maia_drift_check_timestamp_seconds When the last drift check ended.",
        "# TYPE maia_drift_check_timestamp_seconds gauge",
        f"maia_drift_check_timestamp_seconds {result['checked']:.0f}",
    ]
    return "\n".join(lines) + "\n"


def write_metrics(result, textfile_dir=None):
    """The result as ``maia_drift.prom`` in the textfile folder (0644, written whole, then renamed)."""
    folder = textfile_dir or _pillar("maia:drift:textfile_dir") or DEFAULT_TEXTFILE_DIR
    maia_files.write_private(os.path.join(folder, METRIC_FILE), _metrics(result), "0644", dir_mode=0o755)
    return os.path.join(folder, METRIC_FILE)


def check(textfile_dir=None, busy_wait=BUSY_WAIT):
    """
    This host's stages with ``test=True``: ``{"checked", "drifted", "stages": {stage: {"states",
    "drifted": [state ids], "error"}}, "metrics"}``. Changes nothing on the host but the metric file.
    A stage that finds another state run on the host waits up to ``busy_wait`` seconds for it;
    after that the stage's error is Salt's 'is running' line.

    CLI Example:

    .. code-block:: bash

        salt-call maia_drift.check
    """
    result = {"stages": {}}
    for stage in stages():
        result["stages"][stage] = _stage_result(_apply_test(stage, float(busy_wait)))
    result["checked"] = time.time()
    result["drifted"] = sum(len(r["drifted"]) for r in result["stages"].values())
    try:
        result["metrics"] = write_metrics(result, textfile_dir)
    except OSError as exc:
        result["metrics"] = f"not written: {exc}"
    return result
