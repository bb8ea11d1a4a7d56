"""The status of ArgoCD Applications as data: a summary of an Application's status, whether it
has converged, a readable description, the sync operation to write, and the follower that
decides from successive reads whether a sync has succeeded, failed, degraded or timed out.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): plain
functions of Application dicts, no requests, no Salt dunders. ``_modules/maia_argocd_sync.py``
reads and writes the Applications and uses these; ``_states/maia_argocd.py`` imports them to
report a wave (``sync_report``: one app's result, changes and comment).
"""
import maia_argocd_objects

SYNC_ID_INFO = "maia-salt-sync-id"
INITIATOR = "maia-salt"
TERMINAL_PHASES = ("Succeeded", "Failed", "Error")
FAILED_PHASES = ("Failed", "Error")


def _sources(app):
    spec = app.get("spec") or {}
    return spec.get("sources") or ([spec["source"]] if spec.get("source") else [])


def summarize(app):
    """``{name, sync, health, revision, phase, message, operation_pending,
    unhealthy, conditions, current}`` from an Application's status."""
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    health = status.get("health") or {}
    op_state = status.get("operationState") or {}
    unhealthy = []
    for res in status.get("resources") or []:
        res_health = (res.get("health") or {}).get("status")
        if res_health and res_health != "Healthy" or res.get("status") == "OutOfSync":
            ident = "/".join(p for p in (res.get("kind"), res.get("namespace"), res.get("name")) if p)
            unhealthy.append({
                "resource": ident,
                "sync": res.get("status"),
                "health": res_health,
                "message": (res.get("health") or {}).get("message", ""),
            })
    revision = sync.get("revision") or ", ".join(sync.get("revisions") or [])
    return {
        "name": (app.get("metadata") or {}).get("name"),
        "sync": sync.get("status", "Unknown"),
        "health": health.get("status", "Unknown"),
        "health_message": health.get("message", ""),
        "revision": revision,
        "phase": op_state.get("phase", ""),
        "message": op_state.get("message", ""),
        "operation_pending": bool(app.get("operation")) or op_state.get("phase") in ("Running", "Terminating"),
        "unhealthy": unhealthy,
        "conditions": [
            {"type": c.get("type"), "message": c.get("message")} for c in status.get("conditions") or []
        ],
        "current": _compared_to_current(app),
    }


def _compared_to_current(app):
    """False when the controller's last comparison was made against another
    spec than the one the Application has now (its Synced is stale)."""
    compared = ((app.get("status") or {}).get("sync") or {}).get("comparedTo")
    if not compared:
        return True  # the controller does not say; trust status.sync
    spec = app.get("spec") or {}
    for field in ("source", "sources", "destination"):
        if field in compared or field in spec:
            if maia_argocd_objects.diff(maia_argocd_objects.normalize(compared.get(field)),
                                        maia_argocd_objects.normalize(spec.get(field))):
                return False
    return True


def is_converged(summary):
    return (summary["sync"] == "Synced" and summary["health"] == "Healthy"
            and not summary["operation_pending"] and summary["current"])


def describe(summary):
    """One readable paragraph: sync, health, phase and message, unhealthy resources."""
    parts = [f"sync {summary['sync']}", f"health {summary['health']}"]
    if summary.get("health_message"):
        parts[-1] += f" ({summary['health_message']})"
    if summary.get("phase"):
        phase = f"last operation {summary['phase']}"
        if summary.get("message"):
            phase += f": {summary['message']}"
        parts.append(phase)
    if summary.get("revision"):
        parts.append(f"revision {summary['revision']}")
    text = f"{summary['name']}: " + ", ".join(parts)
    if summary.get("unhealthy"):
        res = "; ".join(
            f"{r['resource']} {r['health'] or r['sync']}" + (f" ({r['message']})" if r["message"] else "")
            for r in summary["unhealthy"]
        )
        text += f"; unhealthy resources: {res}"
    for cond in summary.get("conditions") or []:
        text += f"; condition {cond['type']}: {cond['message']}"
    return text


def sync_operation(app, sync_id, prune=False):
    spec = app.get("spec") or {}
    policy = spec.get("syncPolicy") or {}
    sync = {"prune": bool(prune), "syncStrategy": {"hook": {}}}
    if policy.get("syncOptions"):
        sync["syncOptions"] = list(policy["syncOptions"])
    operation = {
        "initiatedBy": {"username": INITIATOR},
        "info": [{"name": SYNC_ID_INFO, "value": sync_id}],
        "sync": sync,
    }
    if policy.get("retry"):
        operation["retry"] = policy["retry"]
    return operation


def operation_done(app, sync_id):
    """Has the controller finished the operation with ``sync_id`` (or, without
    one, any pending operation)?"""
    if app.get("operation"):
        return False
    op_state = (app.get("status") or {}).get("operationState") or {}
    if sync_id:
        info = ((op_state.get("operation") or {}).get("info")) or []
        if not any(i.get("name") == SYNC_ID_INFO and i.get("value") == sync_id for i in info):
            return False
    return op_state.get("phase") in TERMINAL_PHASES or (not sync_id and not op_state)


class Follow:
    """What waiting for one Application has seen so far: its sync id and how
    many polls in a row found it Degraded."""

    def __init__(self, name, namespace, sync_id=None):
        self.name, self.namespace, self.sync_id = name, namespace, sync_id
        self.degraded_polls = 0
        self.summary = None

    def verdict(self, app, expired, total_timeout, address_ok=False):
        """The outcome once there is one (``{result, reason, summary, report}``),
        else ``None`` (keep waiting). ``expired``: the time is up. ``address_ok``: an app
        done but for its Services' or Ingresses' addresses (``awaits_address``) is an outcome
        too (reason ``address``): the wait for them is left to a later state."""
        if app is None:
            return {"result": False, "reason": "missing", "summary": None,
                    "report": f"Application {self.namespace}/{self.name} not found"}
        summary = self.summary = summarize(app)
        done = operation_done(app, self.sync_id)
        if done and summary["phase"] in FAILED_PHASES:
            return {"result": False, "reason": "failed", "summary": summary,
                    "report": f"sync failed: {describe(summary)}"}
        if done and is_converged(summary):
            return {"result": True, "reason": "converged", "summary": summary, "report": describe(summary)}
        if done and address_ok and awaits_address(summary):
            return {"result": True, "reason": "address", "summary": summary, "report": describe(summary)}
        if done and summary["health"] == "Degraded" and summary["sync"] == "Synced":
            # the health right after a sync can still be the one from before it:
            # Degraded counts once it is seen on two polls in a row
            self.degraded_polls += 1
            if self.degraded_polls >= 2:
                return {"result": False, "reason": "degraded", "summary": summary,
                        "report": f"Degraded: {describe(summary)}"}
        else:
            self.degraded_polls = 0
        if expired and self.degraded_polls:
            return {"result": False, "reason": "degraded", "summary": summary,
                    "report": f"Degraded: {describe(summary)}"}
        if expired:
            waiting = "the sync operation to finish" if not done else "Synced and Healthy"
            return {"result": False, "reason": "timeout", "summary": summary,
                    "report": (f"timed out after {float(total_timeout):g}s waiting for {waiting}: "
                               f"{describe(summary)}")}
        return None


# ArgoCD's own health of a Service of type LoadBalancer and of an Ingress: Progressing until it
# has an address (status.loadBalancer.ingress). That address may come from a later wave: the
# core layer's MetalLB pool is in the toolkit's chart, a wave after Traefik's.
ADDRESS_KINDS = ("Service", "Ingress")


def awaits_address(summary):
    """Is the app done but for an address: its sync operation over, Synced, Progressing, and
    every resource that is not Healthy a Service or Ingress that is Progressing?"""
    pending = summary["unhealthy"]
    return bool(
        summary["sync"] == "Synced" and summary["health"] == "Progressing" and summary["current"]
        and not summary["operation_pending"] and pending
        and all(res["health"] == "Progressing" and res["sync"] != "OutOfSync"
                and res["resource"].split("/", 1)[0] in ADDRESS_KINDS for res in pending))


def needs_sync(before, force=False):
    """Does an Application with this ``summarize`` need a sync request (not just a wait)?"""
    if before["operation_pending"]:
        return False  # follow the running operation instead of stacking another
    return bool(force or before["sync"] != "Synced" or not before["current"]
                or before["health"] in ("Degraded", "Missing", "Unknown"))


def unchanged(summary):
    """The outcome of an app that was Synced and Healthy already: nothing synced, nothing waited for."""
    return {"result": True, "reason": "unchanged", "attempts": 0, "synced": False,
            "before": summary, "after": summary, "report": describe(summary)}


def by_name(apps):
    return {(app.get("metadata") or {}).get("name"): app for app in apps}


def sync_report(name, what, outcome):
    """``(result, changes, comment)`` for one app from its ``maia_argocd_sync.sync_wave``
    outcome (whose report is already scrubbed of the app's secret values)."""
    before, after = outcome.get("before"), outcome.get("after")
    others = [n for n in outcome.get("wave") or [] if n != name]
    together = f" (in one wave with {', '.join(others)})" if others else ""
    if outcome["reason"] == "unchanged":
        return True, {}, f"{what} is Synced and Healthy at revision {before['revision'] or '-'}"
    attempts = outcome.get("attempts") or 1
    if outcome["result"]:
        if not outcome["synced"]:  # only waited for a rollout: nothing changed by this state
            if outcome["reason"] == "address":
                return True, {}, (f"{what} is Synced, Healthy but for an address its Services or Ingresses "
                                  f"wait for (the later waves go on){together}: {outcome['report']}")
            return True, {}, f"{what} is Synced and Healthy (waited){together}: {outcome['report']}"
        changes = {"sync": {"old": f"{before['sync']}/{before['health']}",
                            "new": f"{after['sync']}/{after['health']}"}}
        if before["revision"] != after["revision"]:
            changes["revision"] = {"old": before["revision"], "new": after["revision"]}
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if outcome["reason"] == "address":
            return True, changes, (f"{what} synced{tries}{together}, Healthy but for an address its Services or "
                                   f"Ingresses wait for (the later waves go on): {outcome['report']}")
        return True, changes, f"{what} synced{tries}{together}: {outcome['report']}"
    changes = {}
    if outcome["synced"]:
        changes = {"sync": {"old": f"{before['sync']}/{before['health']}", "new": "requested"}}
    if outcome["reason"] == "missing":
        return False, changes, f"{what} not found"
    tries = f" (after {attempts} attempt{'s' if attempts > 1 else ''})"
    return False, changes, f"{what} is not Synced and Healthy{tries}{together}: {outcome['report']}"
