"""Status and sync of ArgoCD Applications, over the Kubernetes API.

The other half of the ArgoCD modules (``_modules/maia_argocd.py`` builds, reads,
compares and writes the objects): a sync is requested by writing the
Application's ``operation`` field, and progress is read back from its
``status`` as the ArgoCD application controller writes it. Every read and
write goes through ``maia_argocd.get``/``patch``/``list`` (and so through
``maia_kube``); errors keep their kind (``_utils/maia_error_kinds.py``).

Functions for people (``salt-call maia_argocd_sync.<fn>``):

- ``apps`` -- every Application with its sync, health and revision;
- ``sync NAME`` -- request a sync, return at once;
- ``wait NAME timeout=600 interval=5`` -- wait for Synced and Healthy;
- ``sync_wave '[A, B]'`` -- sync the apps of a wave together, wait with one list per poll;
- ``status NAME`` -- phase, message and unhealthy resources of one app.

Reports are scrubbed of the apps' secret values (``maia_secrets``).

Why one module of this size (about 440 lines): the single-app wait and the wave sync share
one follower of an Application's operation state (retries, Degraded seen twice, timeouts);
splitting them would need that follower reachable through ``__salt__``.
"""
import logging
import time
import uuid

import maia_error_kinds  # _utils/: shipped and put on sys.path by Salt's loader

log = logging.getLogger(__name__)

__virtualname__ = "maia_argocd_sync"

SYNC_ID_INFO = "maia-salt-sync-id"
INITIATOR = "maia-salt"
DEFAULT_KUBECONFIG = "/etc/maia/kubeconfig"
TERMINAL_PHASES = ("Succeeded", "Failed", "Error")
FAILED_PHASES = ("Failed", "Error")


def __virtual__():
    return __virtualname__


def _error(kind, message):
    return maia_error_kinds.error(kind, message)


def _get(kind, name, namespace, kubeconfig):
    return __salt__["maia_argocd.get"](kind, name, namespace, kubeconfig)


def _patch(kind, name, namespace, body, kubeconfig=None):
    return __salt__["maia_argocd.patch"](kind, name, namespace, body, kubeconfig)


def _list(kind, namespace, kubeconfig):
    return __salt__["maia_argocd.list"](kind, namespace, kubeconfig)


def _normalize(obj):
    return __salt__["maia_argocd.normalize"](obj)


def _diff(old, new):
    return __salt__["maia_argocd.diff"](old, new)


def _collect(obj, secret_keys=None):
    return __salt__["maia_secrets.collect"](obj, extra_keys=secret_keys)


def _scrub(text, secrets):
    return __salt__["maia_secrets.scrub"](text, secrets)


def _kubeconfig(kubeconfig=None):
    """The kubeconfig path as maia_kube resolves it (used as a cache key only)."""
    if kubeconfig:
        return kubeconfig
    return __salt__["config.get"]("maia:kubeconfig", DEFAULT_KUBECONFIG) or DEFAULT_KUBECONFIG



# --------------------------------------------------------------------------
# status, sync, wait


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
            if _diff(_normalize(compared.get(field)), _normalize(spec.get(field))):
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


def apps(namespace="argocd", kubeconfig=None):
    """Every Application in ``namespace``: name, sync, health, revision.

    CLI example::

        salt-call maia_argocd_sync.apps
    """
    out = []
    for app in _list("Application", namespace, kubeconfig):
        summary = summarize(app)
        out.append({k: summary[k] for k in ("name", "sync", "health", "revision")})
    return sorted(out, key=lambda a: a["name"] or "")


def status(name, namespace="argocd", kubeconfig=None):
    """Sync, health, revision, last operation and unhealthy resources of one Application.

    CLI example::

        salt-call maia_argocd_sync.status maia-core-traefik
    """
    app = _get("Application", name, namespace, kubeconfig)
    if app is None:
        raise _error("not_found", f"Application {namespace}/{name} not found")
    return summarize(app)


def _sync_operation(app, sync_id, prune=False):
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


def sync(name, namespace="argocd", prune=False, kubeconfig=None):
    """Request a sync of one Application (through its ``operation`` field) and
    return at once with the sync id (``argocd.wait`` follows it). Like
    ``argocd app sync``, it deletes nothing unless ``prune=True``.

    CLI example::

        salt-call maia_argocd_sync.sync maia-core-traefik
    """
    app = _get("Application", name, namespace, kubeconfig)
    if app is None:
        raise _error("not_found", f"Application {namespace}/{name} not found")
    return start_sync(app, prune=prune, kubeconfig=kubeconfig)


def start_sync(app, prune=False, kubeconfig=None):
    meta = app["metadata"]
    sync_id = uuid.uuid4().hex
    body = {"operation": _sync_operation(app, sync_id, prune)}
    _patch("Application", meta["name"], meta["namespace"], body, kubeconfig=kubeconfig)
    log.info("argocd: sync of %s/%s requested (id %s)", meta["namespace"], meta["name"], sync_id)
    return {"name": meta["name"], "sync_id": sync_id}


def _operation_done(app, sync_id):
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


class _Follow:
    """What waiting for one Application has seen so far: its sync id and how
    many polls in a row found it Degraded."""

    def __init__(self, name, namespace, sync_id=None):
        self.name, self.namespace, self.sync_id = name, namespace, sync_id
        self.degraded_polls = 0
        self.summary = None

    def verdict(self, app, expired, total_timeout):
        """The outcome once there is one (``{result, reason, summary, report}``),
        else ``None`` (keep waiting). ``expired``: the time is up."""
        if app is None:
            return {"result": False, "reason": "missing", "summary": None,
                    "report": f"Application {self.namespace}/{self.name} not found"}
        summary = self.summary = summarize(app)
        done = _operation_done(app, self.sync_id)
        if done and summary["phase"] in FAILED_PHASES:
            return {"result": False, "reason": "failed", "summary": summary,
                    "report": f"sync failed: {describe(summary)}"}
        if done and is_converged(summary):
            return {"result": True, "reason": "converged", "summary": summary, "report": describe(summary)}
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


def wait(name, timeout=600, interval=5, namespace="argocd", sync_id=None, kubeconfig=None,
         total_timeout=None):
    """Wait until the Application is Synced and Healthy (and the sync with
    ``sync_id``, when given, has finished). Returns a dict with ``result``
    (True, False) and ``reason`` (``converged``, ``failed``, ``degraded``,
    ``timeout``, ``missing``), the last ``summary`` and a readable ``report``.

    CLI example::

        salt-call maia_argocd_sync.wait maia-core-traefik timeout=300 interval=5
    """
    timeout, interval = float(timeout), max(float(interval), 0.05)
    deadline = time.monotonic() + timeout
    follow = _Follow(name, namespace, sync_id)
    while True:
        app = _get("Application", name, namespace, kubeconfig)
        remaining = deadline - time.monotonic()
        verdict = follow.verdict(app, remaining <= 0, total_timeout or timeout)
        if verdict is not None:
            return verdict
        time.sleep(min(interval, remaining))


# --------------------------------------------------------------------------
# a sync wave: every Application of the wave synced together, waited for
# together with one list per poll


MIN_POLL = 0.5


def _poll_delay(waited, interval):
    """Seconds until the next poll: a quarter of the time waited so far, at least
    ``MIN_POLL`` and at most ``interval``. Quick syncs are seen within half a
    second or so; long ones are polled every ``interval`` seconds."""
    return min(interval, max(MIN_POLL, waited / 4.0))


def needs_sync(before, force=False):
    """Does an Application with this ``summarize`` need a sync request (not just a wait)?"""
    if before["operation_pending"]:
        return False  # follow the running operation instead of stacking another
    return bool(force or before["sync"] != "Synced" or not before["current"]
                or before["health"] in ("Degraded", "Missing", "Unknown"))


def sync_wave(names, namespace="argocd", timeout=600, interval=5, force=False, retries=3,
              retry_interval=10, prune=False, kubeconfig=None):
    """Bring every Application of ``names`` to Synced and Healthy together:
    a sync is requested for each that needs one (OutOfSync, a stale comparison,
    Degraded or Missing, or ``force``), then all are waited for with one list of
    the namespace's Applications per poll. A sync that fails or ends Degraded is
    retried ``retries`` times, ``retry_interval`` seconds apart, without holding
    up the others; ``timeout`` bounds the whole wave.

    Returns ``{name: outcome}``, each outcome ``{result, reason, report,
    attempts, synced, before, after, wave}`` (``reason``: ``unchanged``,
    ``converged``, ``failed``, ``degraded``, ``timeout``, ``missing``).

    A converged catalogue costs one list, not one per wave: when a wave has
    nothing to do, its list is kept for the run (``maia_argocd.remember_list``);
    the next wave uses it when it shows every app of that wave Synced and
    Healthy, and lists again otherwise. Any write forgets it, so a kept list is
    what the next wave would have read.

    CLI example::

        salt-call maia_argocd_sync.sync_wave '[maia-core-loki, maia-core-tempo]' timeout=300
    """
    names = list(dict.fromkeys(names))
    timeout, interval = float(timeout), max(float(interval), 0.05)
    started = time.monotonic()
    deadline = started + timeout
    outcomes = {}
    listed = _first_list(names, namespace, kubeconfig, force)
    live = {name: listed.get(name) for name in names}

    follows = {}
    for name in names:
        app = live[name]
        if app is None:
            outcomes[name] = {"result": False, "reason": "missing", "attempts": 0, "synced": False,
                              "before": None, "after": None,
                              "report": f"Application {namespace}/{name} not found"}
            continue
        before = summarize(app)
        if is_converged(before) and not force:
            outcomes[name] = _unchanged(before)
            continue
        follow = follows[name] = _Follow(name, namespace)
        follow.before, follow.attempt, follow.synced, follow.retry_at = before, 1, False, None
        follow.secrets = _collect(app.get("spec") or {})
        if needs_sync(before, force):
            follow.sync_id = start_sync(app, prune=prune, kubeconfig=kubeconfig)["sync_id"]
            follow.synced = True

    if not follows and not force:
        __salt__["maia_argocd.remember_list"](listed, "Application", namespace, _kubeconfig(kubeconfig))

    wave_start = time.monotonic()
    while follows:
        now = time.monotonic()
        wake = min([deadline, now + _poll_delay(now - wave_start, interval)]
                   + [f.retry_at for f in follows.values() if f.retry_at])
        time.sleep(max(wake - now, 0))
        listed = _by_name(_list("Application", namespace, kubeconfig))
        now = time.monotonic()
        expired = now >= deadline
        for name, follow in list(follows.items()):
            app = listed.get(name)
            if follow.retry_at is not None:
                if now < follow.retry_at and not expired:
                    continue
                if app is not None and not expired:
                    log.info("argocd: %s/%s attempt %s/%s, syncing again", namespace, name,
                             follow.attempt + 1, int(retries) + 1)
                    follow.sync_id = start_sync(app, prune=prune, kubeconfig=kubeconfig)["sync_id"]
                    follow.attempt += 1
                    follow.synced, follow.retry_at, follow.degraded_polls = True, None, 0
                    continue
                follow.retry_at = None
            verdict = follow.verdict(app, expired, timeout)
            if verdict is None:
                continue
            retry = (not verdict["result"] and verdict["reason"] in ("failed", "degraded")
                     and follow.attempt <= int(retries) and deadline - now > float(retry_interval))
            if retry:
                log.info("argocd: %s/%s attempt %s/%s failed (%s), retrying in %ss", namespace, name,
                         follow.attempt, int(retries) + 1, verdict["reason"], retry_interval)
                follow.retry_at = now + float(retry_interval)
                continue
            outcomes[name] = {"result": verdict["result"], "reason": verdict["reason"],
                              "attempts": follow.attempt, "synced": follow.synced,
                              "before": follow.before, "after": verdict["summary"],
                              "report": _scrub(verdict["report"], follow.secrets)}
            del follows[name]
    for outcome in outcomes.values():
        outcome["wave"] = names
    return {name: outcomes[name] for name in names}


def _first_list(names, namespace, kubeconfig, force):
    """The wave's first view of its Applications, ``{name: app}``: the list an earlier
    wave of this run kept when it shows every app of ``names`` Synced and Healthy
    (and ``force`` is not set), else a new list."""
    kept = None if force else __salt__["maia_argocd.recall_list"]("Application", namespace, _kubeconfig(kubeconfig))
    if kept is not None and all(name in kept and is_converged(summarize(kept[name])) for name in names):
        log.debug("argocd: %s Synced and Healthy in this run's last list; not listed again", ", ".join(names))
        return kept
    return _by_name(_list("Application", namespace, kubeconfig))


def _unchanged(summary):
    """The outcome of an app that was Synced and Healthy already: nothing synced, nothing waited for."""
    return {"result": True, "reason": "unchanged", "attempts": 0, "synced": False,
            "before": summary, "after": summary, "report": describe(summary)}


def _by_name(apps):
    return {(app.get("metadata") or {}).get("name"): app for app in apps}
