"""Status and sync of ArgoCD Applications, over the Kubernetes API.

The other half of the ArgoCD modules (``_modules/maia_argocd.py`` builds, reads,
compares and writes the objects): a sync is requested by writing the
Application's ``operation`` field, and progress is read back from its
``status`` as the ArgoCD application controller writes it. Every read and
write goes through the host-side library ``maia_argocd_api`` (and so
``maia_kube_read``/``maia_kube_write``); what a status means is
``maia_argocd_status``; errors keep their kind (``_utils/maia_error_kinds.py``).

Functions for people (``salt-call maia_argocd_sync.<fn>``):

- ``apps`` -- every Application with its sync, health and revision;
- ``sync NAME`` -- request a sync, return at once;
- ``wait NAME timeout=600 interval=5`` -- wait for Synced and Healthy;
- ``sync_wave '[A, B]'`` -- sync the apps of a wave together, wait with one list per poll;
- ``wait_healthy '[A, B]'`` -- wait until the apps are Synced and Healthy, syncing none;
- ``status NAME`` -- phase, message and unhealthy resources of one app.

Reports are scrubbed of the apps' secret values (``maia_secret_mask``). The
single-app wait and the wave sync share one follower of an Application's operation
(``maia_argocd_status.Follow``: retries, Degraded seen twice, timeouts).
"""
import logging
import time
import uuid

# _utils/: shipped and put on sys.path by Salt's loader
import maia_argocd_api as api
import maia_argocd_status as status_lib
import maia_error_kinds
import maia_kube_client as kclient
import maia_secret_mask
from maia_argocd_status import describe, is_converged, needs_sync, summarize  # public here too

log = logging.getLogger(__name__)

__virtualname__ = "maia_argocd_sync"

SYNC_ID_INFO = status_lib.SYNC_ID_INFO
INITIATOR = status_lib.INITIATOR
DEFAULT_KUBECONFIG = kclient.DEFAULT_KUBECONFIG
TERMINAL_PHASES = status_lib.TERMINAL_PHASES
FAILED_PHASES = status_lib.FAILED_PHASES

# the library's names as this module had them (the stand-ins' schema test builds its operation with it)
_sync_operation = status_lib.sync_operation
_operation_done = status_lib.operation_done


def __virtual__():
    return __virtualname__


def _conn(kubeconfig=None):
    """The library's connection for ``kubeconfig``, else ``maia:kubeconfig`` (pillar, minion config)."""
    path = kubeconfig or __salt__["config.get"]("maia:kubeconfig", DEFAULT_KUBECONFIG) or DEFAULT_KUBECONFIG
    return kclient.Connection(path, None, __context__, __opts__.get("cachedir"))


def _get(kind, name, namespace, kubeconfig):
    return api.get(_conn(kubeconfig), kind, name, namespace)


def _list(kind, namespace, kubeconfig):
    return api.list_objects(_conn(kubeconfig), kind, namespace)


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
        raise maia_error_kinds.error("not_found", f"Application {namespace}/{name} not found")
    return summarize(app)


def sync(name, namespace="argocd", prune=False, kubeconfig=None):
    """Request a sync of one Application (through its ``operation`` field) and
    return at once with the sync id (``argocd.wait`` follows it). Like
    ``argocd app sync``, it deletes nothing unless ``prune=True``.

    CLI example::

        salt-call maia_argocd_sync.sync maia-core-traefik
    """
    app = _get("Application", name, namespace, kubeconfig)
    if app is None:
        raise maia_error_kinds.error("not_found", f"Application {namespace}/{name} not found")
    return start_sync(app, prune=prune, kubeconfig=kubeconfig)


def start_sync(app, prune=False, kubeconfig=None):
    meta = app["metadata"]
    sync_id = uuid.uuid4().hex
    body = {"operation": status_lib.sync_operation(app, sync_id, prune)}
    api.patch(_conn(kubeconfig), "Application", meta["name"], meta["namespace"], body)
    log.info("argocd: sync of %s/%s requested (id %s)", meta["namespace"], meta["name"], sync_id)
    return {"name": meta["name"], "sync_id": sync_id}


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
    follow = status_lib.Follow(name, namespace, sync_id)
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


def sync_wave(names, namespace="argocd", timeout=600, interval=5, force=False, retries=3,
              retry_interval=10, prune=False, kubeconfig=None, address_ok=False, sync=True):
    """Bring every Application of ``names`` to Synced and Healthy together:
    a sync is requested for each that needs one (OutOfSync, a stale comparison,
    Degraded or Missing, or ``force``), then all are waited for with one list of
    the namespace's Applications per poll. A sync that fails or ends Degraded is
    retried ``retries`` times, ``retry_interval`` seconds apart, without holding
    up the others; ``timeout`` bounds the whole wave.

    Returns ``{name: outcome}``, each outcome ``{result, reason, report,
    attempts, synced, before, after, wave}`` (``reason``: ``unchanged``,
    ``converged``, ``failed``, ``degraded``, ``timeout``, ``missing``).

    ``address_ok``: an app done but for the addresses of its Services or Ingresses
    (``maia_argocd_status.awaits_address``) ends the wait for it (reason ``address``): the
    address may come from a later wave (the core layer's MetalLB pool comes with the
    toolkit, a wave after Traefik), which must not wait for it. ``sync=False``: request no
    sync and retry nothing, only wait for Synced and Healthy (``wait_healthy``).

    A converged catalogue costs one list, not one per wave: when a wave has
    nothing to do, its list is kept for the run (``maia_argocd_api.remember_list``);
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
            outcomes[name] = status_lib.unchanged(before)
            continue
        follow = follows[name] = status_lib.Follow(name, namespace)
        follow.before, follow.attempt, follow.synced, follow.retry_at = before, 1, False, None
        follow.secrets = maia_secret_mask.collect(app.get("spec") or {})
        if sync and needs_sync(before, force):
            follow.sync_id = start_sync(app, prune=prune, kubeconfig=kubeconfig)["sync_id"]
            follow.synced = True

    if not follows and not force:
        api.remember_list(_conn(kubeconfig), listed, "Application", namespace)

    wave_start = time.monotonic()
    while follows:
        now = time.monotonic()
        wake = min([deadline, now + _poll_delay(now - wave_start, interval)]
                   + [f.retry_at for f in follows.values() if f.retry_at])
        time.sleep(max(wake - now, 0))
        listed = status_lib.by_name(_list("Application", namespace, kubeconfig))
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
            verdict = follow.verdict(app, expired, timeout, address_ok)
            if verdict is None:
                continue
            retry = (sync and not verdict["result"] and verdict["reason"] in ("failed", "degraded")
                     and follow.attempt <= int(retries) and deadline - now > float(retry_interval))
            if retry:
                log.info("argocd: %s/%s attempt %s/%s failed (%s), retrying in %ss", namespace, name,
                         follow.attempt, int(retries) + 1, verdict["reason"], retry_interval)
                follow.retry_at = now + float(retry_interval)
                continue
            outcomes[name] = {"result": verdict["result"], "reason": verdict["reason"],
                              "attempts": follow.attempt, "synced": follow.synced,
                              "before": follow.before, "after": verdict["summary"],
                              "report": maia_secret_mask.scrub(verdict["report"], follow.secrets)}
            del follows[name]
    for outcome in outcomes.values():
        outcome["wave"] = names
    return {name: outcomes[name] for name in names}


def wait_healthy(names, namespace="argocd", timeout=600, interval=5, kubeconfig=None):
    """Wait until every Application of ``names`` is Synced and Healthy, requesting no sync
    (after the sync waves, for the apps that went on without their addresses). Returns
    ``sync_wave``'s outcomes; a converged list an earlier wave kept serves without a request.

    CLI example::

        salt-call maia_argocd_sync.wait_healthy '[maia-core-traefik]' timeout=300
    """
    outcomes = sync_wave(names, namespace=namespace, timeout=timeout, interval=interval, kubeconfig=kubeconfig,
                         sync=False)
    for outcome in outcomes.values():
        outcome["wave"] = []  # waited for one by one as far as a report goes: no wave to name
    return outcomes


def _first_list(names, namespace, kubeconfig, force):
    """The wave's first view of its Applications, ``{name: app}``: the list an earlier
    wave of this run kept when it shows every app of ``names`` Synced and Healthy
    (and ``force`` is not set), else a new list."""
    kept = None if force else api.recall_list(_conn(kubeconfig), "Application", namespace)
    if kept is not None and all(name in kept and is_converged(summarize(kept[name])) for name in names):
        log.debug("argocd: %s Synced and Healthy in this run's last list; not listed again", ", ".join(names))
        return kept
    return status_lib.by_name(_list("Application", namespace, kubeconfig))
