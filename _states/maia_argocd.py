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

    maia-core-tempo-app-synced:
      maia_argocd.app_synced:
        - name: maia-core-tempo
        - watch: [{argocd: maia-core-tempo-app-present}]

``app_synced`` watches ``app_present``: Salt runs it only when the
Application is in place, and when ``app_present`` changed (or, under
``test=True``, would change) the spec, ``mod_watch`` predicts the sync that
change calls for. Nothing passes between the two states but Salt's own
requisite data (``__low__``, ``__running__``).

Every state: reads first (one GET), reports no changes when the object
already matches, predicts its changes under ``test=True``, and masks secret
values (helm values whose key looks secret, ``secret_keys``, repository
credentials) in changes, comment and log.
"""
import logging

log = logging.getLogger(__name__)

__virtualname__ = "maia_argocd"


def __virtual__():
    if "maia_argocd.get" not in __salt__:
        return (False, "the maia_argocd execution module is not available")
    return __virtualname__


def _ret(name):
    return {"name": name, "changes": {}, "result": True, "comment": ""}


def _fail(ret, exc, secrets=()):
    """A failed state from an exception; every secret value scrubbed from the message.

    The execution modules raise errors of a known kind (``_modules/maia_errors.py``)
    with messages meant for people; anything else is a bug, shown with its type."""
    message = str(exc)
    if __salt__["maia_errors.kind"](exc) is None:
        message = f"{type(exc).__name__}: {message}"
    ret["result"] = False
    ret["comment"] = __salt__["maia_secrets.scrub"](message, secrets)
    ret["changes"] = {}
    return ret


def _object_present(ret, desired, secret_keys, kubeconfig):
    """Create ``desired`` when missing, merge-patch what differs, verify with
    the server's answer. Shared by project_present, app_present and
    repository_present."""
    kind = desired["kind"]
    meta = desired["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    what = f"{kind} {namespace}/{name}" if kind != "Secret" else f"repository secret {namespace}/{name}"
    secrets = __salt__["maia_secrets.collect"](desired, secret_keys)
    if kind == "Secret":
        secrets += [v for k, v in desired["data"].items() if k == "password" and v]

    live = __salt__["maia_argocd.get"](kind, name, namespace, kubeconfig)
    if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
        ret["result"] = False
        ret["comment"] = f"{what} is being deleted; re-run once it is gone"
        return ret

    if live is None:
        shown = _masked_manifest(desired, secret_keys)
        ret["changes"] = {what: {"old": None, "new": shown}}
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = f"{what} would be created"
            return ret
        manifest = dict(desired)
        if kind == "Secret":
            manifest["data"] = __salt__["maia_argocd.encode_secret_data"](desired["data"])
        created = __salt__["maia_argocd.create"](manifest, kubeconfig, secret_keys)
        if _stored_differs(ret, created, desired, secret_keys, f"{what} created, but the API server stored"):
            return ret
        ret["comment"] = f"{what} created"
        log.info("argocd: %s created", what)
        return ret

    body, changes = __salt__["maia_argocd.compare"](kind, live, desired, secret_keys)
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
    leftover, _ = __salt__["maia_argocd.compare"](desired["kind"], stored, desired, secret_keys)
    if leftover:
        ret["result"] = False
        ret["comment"] = f"{what} different values for: {', '.join(_paths(leftover))}"
    return bool(leftover)


def _paths(patch, prefix=""):
    out = []
    for key, value in patch.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(_paths(value, path + "."))
        else:
            out.append(path)
    return out


def _masked_manifest(desired, secret_keys):
    if desired["kind"] == "Secret":
        public = {"name", "type", "url", "enableOCI", "project"}
        data = {k: (v if k in public else "<masked>") for k, v in desired["data"].items()}
        return {"metadata": desired["metadata"], "data": data}
    return __salt__["maia_secrets.mask"](
        {"metadata": desired["metadata"], "spec": desired["spec"]}, extra_keys=secret_keys
    )


def project_present(name, spec, namespace="argocd", kubeconfig=None):
    """An ArgoCD AppProject with exactly this ``spec`` (roles and their groups,
    destinations, sourceRepos, clusterResourceWhitelist ...)."""
    ret = _ret(name)
    try:
        desired = __salt__["maia_argocd.build_project"](name, spec, namespace)
        return _object_present(ret, desired, None, kubeconfig)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, __salt__["maia_secrets.collect"](spec))


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
    ret = _ret(name)
    secrets = __salt__["maia_secrets.collect"](spec, secret_keys)
    try:
        desired = __salt__["maia_argocd.build_app"](name, spec, namespace, sync_wave=sync_wave, labels=labels)
        return _object_present(ret, desired, secret_keys, kubeconfig)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, secrets)


def app_absent(name, namespace="argocd", cascade=False, kubeconfig=None):
    """No Application ``name``. With ``cascade`` the resources finalizer is set
    first, so ArgoCD deletes the app's resources too; without it the finalizer
    is removed, so the resources stay."""
    ret = _ret(name)
    what = f"Application {namespace}/{name}"
    try:
        live = __salt__["maia_argocd.get"]("Application", name, namespace, kubeconfig)
        if live is None:
            ret["comment"] = f"{what} is already absent"
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
        finalizer = "resources-finalizer.argocd.argoproj.io"
        wanted = [f for f in finalizers if f != finalizer] + ([finalizer] if cascade else [])
        if wanted != finalizers:
            __salt__["maia_argocd.patch"]("Application", name, namespace,
                                     {"metadata": {"finalizers": wanted or None}}, kubeconfig)
        __salt__["maia_argocd.delete"]("Application", name, namespace, kubeconfig)
        ret["comment"] = f"{what} deleted, {how}"
        return ret
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc)


def app_synced(name, namespace="argocd", timeout=600, interval=5, force=False, retries=3,
               retry_interval=10, prune=False, wave=None, later=None, kubeconfig=None):
    """The Application is Synced and Healthy.

    A sync is requested (through the Application's ``operation`` field) when it
    is OutOfSync, its last comparison is stale, it is Degraded, or ``force`` is
    set; then the state waits (``timeout`` seconds in all) for the sync to
    finish and the app to be Synced and Healthy, polling at most ``interval``
    seconds apart. A failed or Degraded sync is retried ``retries`` times,
    ``retry_interval`` seconds apart. On failure the comment gives the phase,
    message and unhealthy resources. Already Synced and Healthy: no changes, no
    request beyond one read (one list of the namespace's Applications per wave).

    prune
        Let the sync delete resources that are no longer in the app's source
        (default False, as ``argocd app sync``).
    wave
        The names of the Applications of the same sync wave. The first of their
        ``app_synced`` states syncs all of them (those whose ``app_present``
        succeeded earlier in this run, as Salt's ``__running__`` says)
        together and waits for them with one list per poll
        (``maia_argocd_sync.sync_wave``); each app's own state then reports
        that app's outcome: result, attempts, and the failure or Degraded reason.
    later
        The names of the Applications of later sync waves. When this wave
        needs nothing and the wave's one list shows some of them (whose
        ``app_present`` succeeded in this run) Synced and Healthy too, their
        own states report them from that list: a converged catalogue costs
        one list, not one per wave. Nothing was synced in this run before
        that list, so it is what their own wave would have read.
    """
    ret = _ret(name)
    what = f"Application {namespace}/{name}"
    try:
        if __opts__["test"]:
            return _predict_sync(ret, what, name, namespace, force, kubeconfig)
        outcome = __salt__["maia_argocd_sync.recall_outcome"](name, namespace, kubeconfig)
        if outcome is None:
            present = _present_in_this_run(wave or [])
            members = __salt__["maia_argocd_sync.wave_members"](name, present, namespace, kubeconfig)
            if len(members) > 1:
                log.info("argocd: syncing the wave of %s together: %s", what, ", ".join(members))
            outcome = __salt__["maia_argocd_sync.sync_wave"](
                members, namespace=namespace, timeout=timeout, interval=interval, force=force,
                retries=retries, retry_interval=retry_interval, prune=prune,
                later=_present_in_this_run(later or []), kubeconfig=kubeconfig,
            )[name]  # the others of the wave (and settled later ones) find theirs with recall_outcome
        ret = _report_sync(ret, name, what, outcome)
    except Exception as exc:  # pylint: disable=broad-except
        ret = _fail(ret, exc)
    # a real run has dealt with the app as app_present left it: mod_watch has nothing to add
    ret["skip_watch"] = True
    return ret


def mod_watch(name, sfun=None, namespace="argocd", force=False, kubeconfig=None, **kwargs):
    """Called by Salt when a watched ``app_present`` reported changes and
    ``app_synced`` itself reported none (not for direct use).

    Under ``test=True``: when the watched state predicted a change of the spec,
    predict the sync it calls for (the live status cannot know of the change
    yet). A real run of ``app_synced`` reads the app as ``app_present`` left it
    and says ``skip_watch``, so Salt calls this only under ``test=True``;
    called otherwise, it is ``app_synced`` for this app alone.
    """
    ret = _ret(name)
    if sfun != "app_synced":
        ret["result"] = False
        ret["comment"] = f"watch is not supported for {__virtualname__}.{sfun}"
        return ret
    what = f"Application {namespace}/{name}"
    try:
        if __opts__["test"]:
            return _predict_sync(ret, what, name, namespace, force, kubeconfig, pending=_spec_changed())
        options = {k: kwargs[k] for k in ("timeout", "interval", "retries", "retry_interval", "prune")
                   if k in kwargs}
        return app_synced(name, namespace=namespace, force=force, kubeconfig=kubeconfig, **options)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc)


def _tag(low):
    """Salt's key of a state's return in ``__running__``."""
    return f"{low['state']}_|-{low['__id__']}_|-{low['name']}_|-{low['fun']}"


def _spec_changed():
    """Did a watched ``app_present`` of this run change (or predict a change of) the spec?"""
    for req in ((__low__.get("__reqs__") or {}).get("watch") or []):
        if req.get("state") == __virtualname__ and req.get("fun") == "app_present":
            changes = (__running__.get(_tag(req)) or {}).get("changes") or {}
            if any(str(path).startswith("spec.") for path in changes):
                return True
    return False


def _present_in_this_run(names):
    """The names of ``names`` whose ``app_present`` succeeded earlier in this
    run (the Applications a sync wave may take along)."""
    done = set()
    for tag, result in (globals().get("__running__") or {}).items():
        parts = tag.split("_|-")
        if (len(parts) == 4 and parts[0] == __virtualname__ and parts[3] == "app_present"
                and result.get("result") is True):
            done.add(parts[2])
    return [n for n in names if n in done]


def _predict_sync(ret, what, name, namespace, force, kubeconfig, pending=False):
    """app_synced under test=True: what a run would do, from one read.
    ``pending``: a watched app_present predicted a spec change."""
    app = __salt__["maia_argocd.get"]("Application", name, namespace, kubeconfig)
    if app is None:
        ret["result"] = None
        ret["comment"] = f"{what} does not exist yet; it would be synced once created"
        return ret
    before = __salt__["maia_argocd_sync.summarize"](app)
    if __salt__["maia_argocd_sync.is_converged"](before) and not force and not pending:
        ret["comment"] = f"{what} is Synced and Healthy at revision {before['revision'] or '-'}"
        return ret
    ret["result"] = None
    if pending or __salt__["maia_argocd_sync.needs_sync"](before, force):
        ret["changes"] = {"sync": {"old": f"{before['sync']}/{before['health']}", "new": "Synced/Healthy"}}
        why = "after the spec change predicted above" if pending else __salt__["maia_argocd_sync.describe"](before)
        ret["comment"] = f"{what} would be synced ({why})"
    else:
        ret["comment"] = f"{what} would be waited for ({__salt__['maia_argocd_sync.describe'](before)})"
    return ret


def _report_sync(ret, name, what, outcome):
    """The state's return for one app from its ``maia_argocd_sync.sync_wave`` outcome
    (whose report is already scrubbed of the app's secret values)."""
    before, after = outcome.get("before"), outcome.get("after")
    others = [n for n in outcome.get("wave") or [] if n != name]
    together = f" (in one wave with {', '.join(others)})" if others else ""
    if outcome["reason"] == "unchanged":
        ret["comment"] = f"{what} is Synced and Healthy at revision {before['revision'] or '-'}"
        return ret
    attempts = outcome.get("attempts") or 1
    if outcome["result"]:
        if not outcome["synced"]:  # only waited for a rollout: nothing changed by this state
            ret["comment"] = f"{what} is Synced and Healthy (waited){together}: {outcome['report']}"
            return ret
        ret["changes"] = {"sync": {"old": f"{before['sync']}/{before['health']}",
                                   "new": f"{after['sync']}/{after['health']}"}}
        if before["revision"] != after["revision"]:
            ret["changes"]["revision"] = {"old": before["revision"], "new": after["revision"]}
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        ret["comment"] = f"{what} synced{tries}{together}: {outcome['report']}"
        return ret
    if outcome["synced"]:
        ret["changes"] = {"sync": {"old": f"{before['sync']}/{before['health']}", "new": "requested"}}
    ret["result"] = False
    if outcome["reason"] == "missing":
        ret["comment"] = f"{what} not found"
        return ret
    tries = f" (after {attempts} attempt{'s' if attempts > 1 else ''})"
    ret["comment"] = f"{what} is not Synced and Healthy{tries}{together}: {outcome['report']}"
    return ret


def repository_present(name, url, username=None, password=None, namespace="argocd",
                       repo_type="helm", enable_oci=True, project=None, kubeconfig=None):
    """The ArgoCD repository Secret ``name`` (label
    ``argocd.argoproj.io/secret-type: repository``) for a private chart
    registry. The username and password never appear in changes or comments
    (a changed password shows as ``<masked>``)."""
    ret = _ret(name)
    secrets = [str(password)] if password else []
    try:
        desired = __salt__["maia_argocd.build_repository"](name, url, username, password, namespace,
                                                      repo_type, enable_oci, project)
        return _object_present(ret, desired, None, kubeconfig)
    except Exception as exc:  # pylint: disable=broad-except
        return _fail(ret, exc, secrets)
