"""States for ArgoCD objects, over the Kubernetes API (see ``_modules/maia_argocd.py``).

.. code-block:: yaml

    maia-core-project-present:
      maia_argocd.project_present:
        - name: maia-core
        - spec: {sourceRepos: [...], destinations: [...], roles: [...]}

    maia-core-tempo-app-present:
      maia_argocd.app_present:
        - name: maia-core-tempo
        - sync_wave: 1
        - spec:
            project: maia-core
            source: {repoURL: https://grafana.github.io/helm-charts, chart: tempo,
                     targetRevision: 1.0.0, helm: {releaseName: maia-core-tempo, valuesObject: {}}}
            destination: {server: https://kubernetes.default.svc, namespace: observability}

    maia-core-sync-wave-1:
      maia_argocd.apps_synced:
        - apps:
          - {name: maia-core-tempo, spec: {...}}   # the spec app_present sets
          - maia-core-loki                         # or a name alone
        - require:
          - maia_argocd: maia-core-tempo-app-present
          - maia_argocd: maia-core-loki-app-present

``apps_synced`` is one state per sync wave: it syncs the wave's Applications
together, waits for them with one list per poll, and reports each app in its
changes and comment. It requires the wave's ``app_present`` states, so it runs
once they are all in place. Under ``test=True`` it compares each app's spec
(when given) with the live one, so a predicted spec change predicts the sync
it calls for; no state reads another's return.

Every state: reads first (one GET, or one list for a wave), reports no changes when the object
already matches, predicts its changes under ``test=True``, and masks secret
values (helm values whose key looks secret, ``secret_keys``, repository
credentials) in changes, comment and log.
"""
import logging

# _utils/: shipped and put on sys.path by Salt's loader
import maia_argocd_objects
import maia_argocd_status
import maia_error_kinds
import maia_plan_overlay
import maia_secret_mask
import maia_state_return

log = logging.getLogger(__name__)

__virtualname__ = "maia_argocd"


def __virtual__():
    if "maia_argocd.get" not in __salt__:
        return (False, "the maia_argocd execution module is not available")
    return __virtualname__



def _fail(ret, exc, secrets=()):
    """A failed state from an exception; every secret value scrubbed from the message.

    The execution modules raise errors of a known kind (``_modules/maia_errors.py``)
    with messages meant for people; anything else is a bug, shown with its type."""
    message = str(exc)
    if maia_error_kinds.kind(exc) is None:
        message = f"{type(exc).__name__}: {message}"
    ret["result"] = False
    ret["comment"] = maia_secret_mask.scrub(message, secrets)
    ret["changes"] = {}
    return ret


def _read(read, *args):
    """``read(*args)`` (a get or a list of ``maia_argocd``), and whether the cluster is there to
    read. Under ``test=True`` on a site whose cluster stage 2 has not made yet (no kubeconfig, no
    API, no ArgoCD CRDs: ``maia_error_kinds.cluster_pending``) there is nothing in it: ``(None,
    reason)``, so the plan predicts what a first run creates. A real run raises as before."""
    try:
        return read(*args), None
    except Exception as exc:  # pylint: disable=broad-except
        if __opts__["test"] and maia_error_kinds.cluster_pending(exc):
            return None, str(exc)
        raise


def _object_present(ret, desired, secret_keys, kubeconfig):
    """Create ``desired`` when missing, merge-patch what differs, verify with
    the server's answer. Shared by project_present, app_present and
    repository_present."""
    kind = desired["kind"]
    meta = desired["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    what = f"{kind} {namespace}/{name}" if kind != "Secret" else f"repository secret {namespace}/{name}"
    secrets = maia_secret_mask.collect(desired, secret_keys)
    if kind == "Secret":
        secrets += [v for k, v in desired["data"].items() if k == "password" and v]

    live, pending = _read(__salt__["maia_argocd.get"], kind, name, namespace, kubeconfig)
    if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
        ret["result"] = False
        ret["comment"] = f"{what} is being deleted; re-run once it is gone"
        return ret

    overlay = maia_plan_overlay.active(__opts__, __pillar__) if pending else None
    planned = overlay.predict(what, maia_argocd_objects.desired_view(kind, desired)) if overlay else None
    if planned == []:
        ret["comment"] = f"{what} is up to date (as an earlier step of this plan would leave it)"
        return ret
    if planned:
        return maia_state_return.predicted(
            ret, {f: {"old": "<planned>", "new": "<differs>"} for f in planned},
            f"{what} would be patched after an earlier step of this plan: {', '.join(planned)}")
    if live is None:
        shown = maia_argocd_objects.masked_manifest(desired, secret_keys)
        ret["changes"] = {what: {"old": None, "new": shown}}
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = f"{what} would be created" + (f" (no cluster to read yet: {pending})" if pending else "")
            return ret
        manifest = dict(desired)
        if kind == "Secret":
            manifest["data"] = maia_argocd_objects.encode_secret_data(desired["data"])
        created = __salt__["maia_argocd.create"](manifest, kubeconfig, secret_keys)
        if _stored_differs(ret, created, desired, secret_keys, f"{what} created, but the API server stored"):
            return ret
        ret["comment"] = f"{what} created"
        log.info("argocd: %s created", what)
        return ret

    body, changes = maia_argocd_objects.compare(kind, live, desired, secret_keys)
    if not body:
        ret["comment"] = f"{what} is up to date"
        return ret

    ret["changes"] = changes
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"{what} would be patched: {', '.join(sorted(changes))}"
        return ret
    patched = __salt__["maia_argocd.patch"](kind, name, namespace, body, kubeconfig, secret_keys)
    if _stored_differs(ret, patched, desired, secret_keys, f"{what} patched, but the API server kept"):
        return ret
    ret["comment"] = f"{what} patched: {', '.join(sorted(changes))}"
    log.info("argocd: %s patched: %s", what, ", ".join(sorted(changes)))
    return ret


def _stored_differs(ret, stored, desired, secret_keys, what):
    """Check the server's answer against ``desired``; when it differs, fail ``ret`` naming the fields."""
    leftover, _ = maia_argocd_objects.compare(desired["kind"], stored, desired, secret_keys)
    if leftover:
        ret["result"] = False
        ret["comment"] = f"{what} different values for: {', '.join(maia_argocd_objects.patch_paths(leftover))}"
    return bool(leftover)


def project_present(name, spec, namespace="argocd", kubeconfig=None):
    """An ArgoCD AppProject with exactly this ``spec`` (roles and their groups,
    destinations, sourceRepos, clusterResourceWhitelist ...)."""
    ret = maia_state_return.new(name)
    try:
        desired = maia_argocd_objects.build_project(name, spec, namespace)
        return _object_present(ret, desired, None, kubeconfig)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, maia_secret_mask.collect(spec))


def app_present(name, spec, namespace="argocd", secret_keys=None, kubeconfig=None,
                sync_wave=None, labels=None):
    """An ArgoCD Application with exactly this ``spec``.

    name
        Application name (and usually ``helm.releaseName``).
    spec
        The Application ``spec``: ``project``, ``source`` (``repoURL``,
        ``chart`` or ``path``, ``targetRevision``, ``helm.releaseName``,
        ``helm.valuesObject``) or ``sources``, ``destination``, ``syncPolicy``.
        The live spec is normalised (empty values dropped) and compared whole;
        only the differing fields are patched.
    secret_keys
        More helm value keys to mask, as key names (``users``) or dotted paths
        (``traefik.dashboard.auth``); keys that look secret are always masked.
    sync_wave
        The ``argocd.argoproj.io/sync-wave`` annotation.
    labels
        Labels to set (others on the object are left alone).
    """
    ret = maia_state_return.new(name)
    secrets = maia_secret_mask.collect(spec, secret_keys)
    try:
        desired = maia_argocd_objects.build_app(name, spec, namespace, sync_wave=sync_wave, labels=labels)
        return _object_present(ret, desired, secret_keys, kubeconfig)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, secrets)


def app_absent(name, namespace="argocd", cascade=False, kubeconfig=None):
    """No Application ``name``. With ``cascade`` the resources finalizer is set
    first, so ArgoCD deletes the app's resources too; without it the finalizer
    is removed, so the resources stay."""
    ret = maia_state_return.new(name)
    what = f"Application {namespace}/{name}"
    try:
        live, pending = _read(__salt__["maia_argocd.get"], "Application", name, namespace, kubeconfig)
        if live is None:
            ret["comment"] = f"{what} is already absent" + (f" (no cluster yet: {pending})" if pending else "")
            return ret
        meta = live.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            ret["comment"] = f"{what} is already being deleted"
            return ret
        how = "with its resources (cascade)" if cascade else "leaving its resources in place"
        ret["changes"] = {what: {"old": "present", "new": None}}
        if cascade:  # ArgoCD deletes the app's resources too
            ret["changes"]["resources"] = {"old": "present", "new": None}
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = f"{what} would be deleted, {how}"
            return ret
        finalizers = list(meta.get("finalizers") or [])
        finalizer = maia_argocd_objects.RESOURCES_FINALIZER
        wanted = [f for f in finalizers if f != finalizer] + ([finalizer] if cascade else [])
        if wanted != finalizers:
            __salt__["maia_argocd.patch"]("Application", name, namespace,
                                     {"metadata": {"finalizers": wanted or None}}, kubeconfig)
        __salt__["maia_argocd.delete"]("Application", name, namespace, kubeconfig)
        ret["comment"] = f"{what} deleted, {how}"
        return ret
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc)


def apps_synced(name, apps, namespace="argocd", timeout=600, interval=5, force=False, retries=3,
                retry_interval=10, prune=False, kubeconfig=None, address_pending=False):
    """The Applications of one sync wave are Synced and Healthy.

    name
        A name for the wave (shown in the output only).
    apps
        The wave's Applications: each a name, or ``{name: ..., spec: ...}``
        with the spec its ``app_present`` state sets. With the spec, a
        ``test=True`` run predicts the sync that a predicted spec change calls
        for (the live status cannot know of that change yet).

    A sync is requested (through each Application's ``operation`` field) for
    every app that is OutOfSync, whose last comparison is stale, that is
    Degraded, or for all with ``force``; then all are waited for together
    (``timeout`` seconds in all) with one list of the namespace's Applications
    per poll, at most ``interval`` seconds apart
    (``maia_argocd_sync.sync_wave``). A failed or Degraded sync is retried
    ``retries`` times, ``retry_interval`` seconds apart, without holding up
    the others. Already Synced and Healthy: no changes and no request beyond
    one list (none when an earlier wave's list of this run shows the wave
    converged). ``prune`` lets a sync delete resources no longer in the app's
    source (default False, as ``argocd app sync``). ``address_pending``: an app
    Healthy but for the address of a LoadBalancer Service or an Ingress (which
    a later wave may bring: the core layer's MetalLB pool) ends this wave's wait
    for it; ``apps_healthy`` after the last wave waits for it.

    The changes hold one entry per app synced (``sync``, ``revision``); the
    comment says one line per app: synced, waited for, up to date, or why it
    is not Synced and Healthy (phase, message, unhealthy resources, attempts).
    """
    ret = maia_state_return.new(name)
    wanted = [a if isinstance(a, dict) else {"name": a} for a in apps or []]
    names = [a.get("name") for a in wanted]
    if not names or not all(isinstance(n, str) and n for n in names):
        ret["result"] = False
        ret["comment"] = "apps must be a non-empty list of Application names or {name, spec} mappings"
        return ret
    try:
        if __opts__["test"]:
            return _predict_wave(ret, wanted, namespace, force, kubeconfig)
        outcomes = __salt__["maia_argocd_sync.sync_wave"](
            names, namespace=namespace, timeout=timeout, interval=interval, force=force,
            retries=retries, retry_interval=retry_interval, prune=prune, kubeconfig=kubeconfig,
            address_ok=bool(address_pending))
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, [s for a in wanted for s in maia_secret_mask.collect(a.get("spec") or {})])
    ret["comment"] = "\n".join(_report(ret, names, namespace, outcomes))
    return ret


def _report(ret, names, namespace, outcomes, quiet_unchanged=False):
    """Each app's outcome into ``ret`` (its changes, a failed result); returns the comment lines,
    without those of apps that were up to date when ``quiet_unchanged``."""
    lines = []
    for app in names:
        result, changes, comment = maia_argocd_status.sync_report(app, f"Application {namespace}/{app}", outcomes[app])
        if changes:
            ret["changes"][app] = changes
        if result is False:
            ret["result"] = False
        if not (quiet_unchanged and result is not False and outcomes[app]["reason"] == "unchanged"):
            lines.append(comment)
    return lines


def apps_healthy(name, apps, namespace="argocd", timeout=600, interval=5, kubeconfig=None):
    """The Applications ``apps`` (names) are Synced and Healthy: waited for, never synced, never
    a change. After the sync waves, for the apps a wave left Healthy but for an address that a
    later wave brought (``apps_synced``'s ``address_pending``). One list when an earlier wave's
    list of this run shows them converged: no request at all. Under ``test=True`` it reads
    nothing and predicts no change (the waves predict the syncs)."""
    ret = maia_state_return.new(name)
    names = list(apps or [])
    if not names or not all(isinstance(n, str) and n for n in names):
        ret["result"] = False
        ret["comment"] = "apps must be a non-empty list of Application names"
        return ret
    if __opts__["test"]:
        ret["comment"] = f"would wait until {len(names)} Application(s) are Synced and Healthy (no change)"
        return ret
    try:
        outcomes = __salt__["maia_argocd_sync.wait_healthy"](
            names, namespace=namespace, timeout=timeout, interval=interval, kubeconfig=kubeconfig)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, [])
    lines = _report(ret, names, namespace, outcomes, quiet_unchanged=True)  # waited for: never a change
    ret["comment"] = "\n".join([f"{len(names)} Application(s) checked: "
                                + ("all Synced and Healthy" if ret["result"] else "not all Synced and Healthy"),
                                *lines])
    return ret


def _predict_wave(ret, wanted, namespace, force, kubeconfig):
    """apps_synced under test=True: what a run would do, from one list."""
    items, unread = _read(__salt__["maia_argocd.list"], "Application", namespace, kubeconfig)
    listed = {(a.get("metadata") or {}).get("name"): a for a in items or []}
    overlay = maia_plan_overlay.active(__opts__, __pillar__) if unread else None
    lines = []
    for want in wanted:
        app = want["name"]
        what = f"Application {namespace}/{app}"
        live = listed.get(app)
        if overlay and "spec" in want:  # synced by an earlier step of this plan, at the spec it set?
            built = maia_argocd_objects.build_app(app, want["spec"], namespace)
            planned = overlay.predict(f"sync {what}", maia_argocd_objects.desired_view("Application", built))
            if planned == []:
                lines.append(f"{what} is Synced and Healthy (as an earlier step of this plan would leave it)")
                continue
            if planned:
                ret["result"] = None
                ret["changes"][app] = {"sync": {"old": "<planned>", "new": "Synced/Healthy"}}
                lines.append(f"{what} would be synced after the spec change predicted for it")
                continue
        if live is None:
            ret["result"] = None
            if "spec" in want:  # its app_present creates it in this run; a new app is synced
                ret["changes"][app] = {"sync": {"old": "not created yet", "new": "Synced/Healthy"}}
                lines.append(f"{what} would be synced once created" + (f" (no cluster to read yet: {unread})" if unread else ""))
            else:
                lines.append(f"{what} does not exist yet; it would be synced once created")
            continue
        before = maia_argocd_status.summarize(live)
        pending = "spec" in want and maia_argocd_objects.spec_would_change(app, want["spec"], live, namespace)
        if maia_argocd_status.is_converged(before) and not force and not pending:
            lines.append(f"{what} is Synced and Healthy at revision {before['revision'] or '-'}")
            continue
        ret["result"] = None
        if pending or maia_argocd_status.needs_sync(before, force):
            ret["changes"][app] = {"sync": {"old": f"{before['sync']}/{before['health']}", "new": "Synced/Healthy"}}
            why = "after the spec change predicted for it" if pending else maia_argocd_status.describe(before)
            lines.append(f"{what} would be synced ({why})")
        else:
            lines.append(f"{what} would be waited for ({__salt__['maia_argocd_sync.describe'](before)})")
    ret["comment"] = "\n".join(lines)
    return ret


def repository_present(name, url, username=None, password=None, namespace="argocd",
                       repo_type="helm", enable_oci=True, project=None, kubeconfig=None):
    """The ArgoCD repository Secret ``name`` (label
    ``argocd.argoproj.io/secret-type: repository``) for a private chart
    registry. The username and password never appear in changes or comments
    (a changed password shows as ``<masked>``)."""
    ret = maia_state_return.new(name)
    secrets = [str(password)] if password else []
    try:
        desired = maia_argocd_objects.build_repository(name, url, username, password, namespace,
                                                      repo_type, enable_oci, project)
        return _object_present(ret, desired, None, kubeconfig)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, secrets)
