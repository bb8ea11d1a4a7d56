"""`make bench`'s targets (issue 25, "Targets") and the checks kept from earlier issues, judged
from a results document (bench/run.py's JSON): plain functions of that document, no lab.

Each row is ``(target, measured, met)``; ``met`` is None when the run did not measure it (then the
measured column says why)."""
from __future__ import annotations

import ansible_compare
import argocd_api_calls

TARGET_HOSTS = 3
# issue 25: maia-salt's stage 1 (UFW only, 3 hosts) this many times faster than the collection
RATIO_TARGETS = {"minions": {"prepare first": 2.0, "prepare second": 4.0},
                 "ssh": {"prepare first": 1.2, "prepare second": 2.0}}
ALL_STAGES_TARGET = {"minions": 4.0, "ssh": 10.0}  # all stages, converged (no-op run), 3 hosts, seconds
HOST_CPU_TARGET = {"minions": 0.5, "ssh": 1.2}  # CPU-s inside each host on a stage-1 no-op run
ADDED_HOST_CPU_TARGET = {"minions": 0.15}  # master + controller CPU-s per added host (fitted slope)
RUN_WORDS = {"prepare first": "first run", "prepare second": "no-op re-run"}


def find(res: dict, mode: str, n: int, run: str):
    for sc in res.get("scenarios") or []:
        if sc["mode"] == mode and sc["hosts"] == n:
            for r in sc["runs"]:
                if r["run"] == run:
                    return r
    return None


def fmt(x, unit=" s"):
    return "-" if x is None else f"{x}{unit}"


def slope(points):
    """Least-squares slope of (x, y) points, None with fewer than two distinct x."""
    points = [(x, y) for x, y in points if y is not None]
    if len({x for x, _ in points}) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    return round(sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points), 3)


def cpu_series(res: dict, mode: str) -> list:
    """(hosts, CPU-s per host (mean), CPU-s on the master and controller side) of each stage-1 no-op run."""
    rows = []
    for sc in sorted((s for s in res.get("scenarios") or [] if s["mode"] == mode), key=lambda s: s["hosts"]):
        r = find(res, mode, sc["hosts"], "prepare second")
        cpu = (r or {}).get("cpu_s") or {}
        if cpu:
            side = (cpu.get("master") or 0) + (cpu.get("controller") or 0)
            rows.append((sc["hosts"], cpu.get("host_mean"), round(side, 2)))
    return rows


def ratio_rows(comparison: dict | None) -> list:
    """The four ratio targets, judged on the median over the rounds (ratios taken within each round)."""
    comparison = comparison or {"measured": False, "reason": "the comparison did not run"}
    summary = ansible_compare.summary(comparison.get("rounds") or []) if comparison.get("measured") else {}
    rows = []
    for mode, limits in RATIO_TARGETS.items():
        for run, limit in limits.items():
            target = (f"{mode}, {TARGET_HOSTS} hosts, stage 1 (UFW only) {RUN_WORDS[run]}: >= {limit:g}x "
                      "faster than the Ansible collection")
            if not comparison.get("measured"):
                rows.append((target, f"not measured: {comparison.get('reason')}", None))
                continue
            s = summary[mode][run]
            if s["median"] is None:
                rows.append((target, "not measured: no round ran both sides to the end", None))
                continue
            theirs = ansible_compare.side_seconds(comparison["rounds"], "ansible", run)
            ours = ansible_compare.side_seconds(comparison["rounds"], mode, run)
            spread = f"{s['min']}-{s['max']}x, " if s["n"] > 1 else ""
            rows.append((target, f"{s['median']}x (median of {s['n']} round(s); {spread}collection "
                                 f"{span(theirs)}, maia-salt {span(ours)})", s["median"] >= limit))
    return rows


def span(values) -> str:
    if not values:
        return "-"
    return f"{min(values)} s" if min(values) == max(values) else f"{min(values)}-{max(values)} s"


def targets(res: dict) -> list:
    """Issue 25's targets."""
    rows = ratio_rows(res.get("comparison"))
    for mode, limit in ALL_STAGES_TARGET.items():
        r = find(res, mode, TARGET_HOSTS, "all stages no-op")
        rows.append((f"{mode}, {TARGET_HOSTS} hosts, all stages converged (no-op re-run): <= {limit:g} s",
                     fmt(r and r["seconds"]) if r is None or r["ok"] else f"FAILED after {r['seconds']} s",
                     None if r is None else r["ok"] and r["seconds"] <= limit))
    for mode, limit in HOST_CPU_TARGET.items():
        per_host = [h for _, h, _ in cpu_series(res, mode) if h is not None]
        rows.append((f"{mode}, stage-1 no-op: CPU inside each host <= {limit:g} CPU-s",
                     fmt(max(per_host) if per_host else None, " CPU-s (largest mean over the sizes)"),
                     None if not per_host else max(per_host) <= limit))
    for mode, limit in ADDED_HOST_CPU_TARGET.items():
        fitted = slope([(hosts, side) for hosts, _, side in cpu_series(res, mode)])
        rows.append((f"{mode}, stage-1 no-op: master and controller CPU per added host <= {limit:g} CPU-s",
                     fmt(fitted, " CPU-s per host (fitted slope)") if fitted is not None
                     else "not measured: needs stage-1 runs of two lab sizes or more",
                     None if fitted is None else fitted <= limit))
    return rows


def checks(res: dict) -> list:
    """Checks kept from earlier issues (8, 15): no changes on a re-run, the API requests of a no-op."""
    rows = []
    n = res.get("full_n")
    for mode in ("minions", "ssh"):
        r = find(res, mode, n, "all stages no-op")
        rows.append((f"changes reported by a second full run, {mode}: 0", fmt(r and r["changed"], ""),
                     None if r is None else r["changed"] == 0))
        api = (find(res, mode, n, "k8s+core no-op") or {}).get("api")
        rows.append((f"{mode}, stages 2 and 3 no-op: no write request", fmt(api and api.get("writes"), " writes"),
                     None if not api or api.get("writes") is None else api["writes"] == 0))
        if api and "objects_read_twice" in api:
            twice = ", ".join(f"`{p}` {k}" for p, k in api["objects_read_twice"].items())
            rows.append((f"{mode}, stages 2 and 3 no-op: at most one read per object",
                         f"{api['objects_read']} objects read, at most {api['object_reads_max']} times"
                         + (f" ({twice})" if twice else ""), api["object_reads_max"] <= 1))
            again = ", ".join(f"`{p}` {k}" for p, k in api["lists_repeated"].items())
            rows.append((f"{mode}, stages 2 and 3 no-op: at most one list per kind",
                         f"{api['lists']} lists" + (f"; listed more than once: {again}" if again else ""),
                         not api["lists_repeated"]))
        rows.append((f"API requests per Application on a no-op run, {mode}: <= {argocd_api_calls.BUDGET_PER_APP}",
                     fmt(api and f"max {api['per_app_max']}, mean {api['per_app_mean']} ({api['applications']} apps)", ""),
                     None if not api else api["per_app_max"] <= argocd_api_calls.BUDGET_PER_APP))
    for target, measured, met in (res.get("isolated_api") or {}).get("targets") or []:
        rows.append((f"isolated ArgoCD objects (bench/argocd_api_calls.py): {target}", measured, met))
    return rows
