"""ArgoCD over the Kubernetes API: Applications, AppProjects, repository secrets.

Everything goes through the Kubernetes API (no ``argocd`` CLI, no login, no
port-forward): Applications and AppProjects are custom resources
(``argoproj.io/v1alpha1``), a sync is requested by writing the Application's
``operation`` field, and progress is read back from its ``status`` as the
ArgoCD application controller writes it.

Functions for people (``salt-call argocd.<fn>``):

- ``argocd.apps`` -- every Application with its sync, health and revision;
- ``argocd.sync NAME`` -- request a sync, return at once;
- ``argocd.wait NAME timeout=600 interval=5`` -- wait for Synced and Healthy;
- ``argocd.sync_wave '[A, B]'`` -- sync the apps of a wave together, wait with one list per poll;
- ``argocd.status NAME`` -- phase, message and unhealthy resources of one app;
- ``argocd.app_diff NAME spec`` -- what ``argocd.app_present`` would change (masked).

Functions the ``argocd`` state module builds on: ``build_app``,
``build_project``, ``build_repository``, ``normalize``, ``diff``,
``merge_patch``, ``get``, ``create``, ``patch``, ``delete``.

Secret values (keys that look secret, see ``maia_secrets``) never leave this
module unmasked: changes, comments, errors and log lines are masked or scrubbed.

All API access goes through ``maia_kube``; the connection comes from
``kubeconfig`` (argument), else ``maia:kubeconfig`` (pillar or minion config),
else ``/etc/maia/kubeconfig``.
"""
import base64
import copy
import logging
import time
import uuid

log = logging.getLogger(__name__)

__virtualname__ = "argocd"
__func_alias__ = {"list_": "list"}

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
SYNC_ID_INFO = "maia-salt-sync-id"
INITIATOR = "maia-salt"
DEFAULT_KUBECONFIG = "/etc/maia/kubeconfig"

# kind -> (apiVersion, plural)
KINDS = {
    "Application": (API_VERSION, "applications"),
    "AppProject": (API_VERSION, "appprojects"),
    "Secret": ("v1", "secrets"),
}

# Spec fields of an Application this module owns (the whole spec).
APP_SPEC_KEYS = (
    "project",
    "source",
    "sources",
    "destination",
    "syncPolicy",
    "ignoreDifferences",
    "info",
    "revisionHistoryLimit",
    "sourceHydrator",
)

TERMINAL_PHASES = ("Succeeded", "Failed", "Error")
FAILED_PHASES = ("Failed", "Error")


def __virtual__():
    return __virtualname__


def _error(kind, message):
    """The error to raise: a CommandExecutionError of ``kind`` (``_modules/maia_errors.py``)
    whose message is safe to show (masked or scrubbed)."""
    return __salt__["maia_errors.error"](kind, message)


# --------------------------------------------------------------------------
# masking (delegates to maia_secrets)


def mask(obj, secret_keys=None):
    return __salt__["maia_secrets.mask"](obj, extra_keys=secret_keys)


def _collect(obj, secret_keys=None):
    return __salt__["maia_secrets.collect"](obj, extra_keys=secret_keys)


def _scrub(text, secrets):
    return __salt__["maia_secrets.scrub"](text, secrets)


# --------------------------------------------------------------------------
# pure helpers: normalisation, diff, merge patch


def normalize(obj):
    """Return ``obj`` with ``None`` values and empty dicts/lists removed at every
    level and tuples turned into lists, so that a desired spec written in YAML
    compares equal to the same spec as the API server returns it.

    CLI example::

        salt-call argocd.normalize '{"a": null, "b": {}, "c": [1]}'
    """
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            value = normalize(value)
            if value is None or value == {} or value == []:
                continue
            out[str(key)] = value
        return out
    if isinstance(obj, (list, tuple)):
        return [normalize(v) for v in obj]
    return obj


def diff(old, new, path=()):
    """Leaf-level differences between two normalised objects.

    Returns a list of ``(path, old_value, new_value)``; ``path`` is a tuple of
    keys (list indices as strings). Dicts are compared key by key; lists of the
    same length item by item; lists of different length as a whole. A missing
    value is ``None``.
    """
    path = tuple(path)
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            out.extend(diff(old.get(key), new.get(key), path + (str(key),)))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (o, n) in enumerate(zip(old, new)):
            out.extend(diff(o, n, path + (str(i),)))
        return out
    if old == new and type(old) is type(new):
        return []
    if old == new and not isinstance(old, bool) and not isinstance(new, bool):
        return []  # 1 == 1.0
    return [(path, old, new)]


def merge_patch(old, new):
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new`` (both
    normalised): changed keys only, ``None`` for removed keys, lists whole.
    Returns ``{}`` when they are equal.
    """
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return copy.deepcopy(new)
    patch = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(old[key], dict):
            sub = merge_patch(old[key], value)
            if sub:
                patch[key] = sub
        elif diff(old[key], value):
            patch[key] = copy.deepcopy(value)
    return patch


def _lookup(obj, path):
    """Value at ``path``; a masked scalar met on the way stands for the whole subtree."""
    for key in path:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        elif obj is None:
            return None
        else:
            return obj  # a masked value covering everything below
    return obj


def masked_changes(old, new, prefix=(), secret_keys=None):
    """Flattened, masked ``{dotted.path: {old, new}}`` of what differs.

    Values are looked up in masked copies of ``old`` and ``new``, so a changed
    password shows as ``<masked>`` -> ``<masked>``: you see that it changed,
    never what it is.
    """
    masked_old = mask(old, secret_keys)
    masked_new = mask(new, secret_keys)
    changes = {}
    for path, _, _ in diff(old, new):
        key = ".".join(prefix + path)
        changes[key] = {"old": _lookup(masked_old, path), "new": _lookup(masked_new, path)}
    return changes


# --------------------------------------------------------------------------
# desired objects


def _validate_app_spec(name, spec):
    if not isinstance(spec, dict):
        raise _error("invalid", f"Application {name}: spec must be a mapping, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(APP_SPEC_KEYS))
    if unknown:
        raise _error("invalid",
            f"Application {name}: unknown spec key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(APP_SPEC_KEYS)}"
        )
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    if not sources:
        raise _error("invalid", f"Application {name}: spec.source (or spec.sources) is required")
    for i, source in enumerate(sources):
        where = "spec.source" if spec.get("source") else f"spec.sources[{i}]"
        if not isinstance(source, dict):
            raise _error("invalid", f"Application {name}: {where} must be a mapping")
        if not source.get("repoURL"):
            raise _error("invalid", f"Application {name}: {where}.repoURL is required")
        if source.get("chart") and source.get("path"):
            raise _error("invalid", f"Application {name}: {where} has both chart and path; use one")
        if source.get("chart") and not source.get("targetRevision"):
            raise _error("invalid",
                f"Application {name}: {where}.targetRevision (the chart version) is required "
                "for a chart source"
            )
        helm = source.get("helm") or {}
        if not isinstance(helm, dict):
            raise _error("invalid", f"Application {name}: {where}.helm must be a mapping")
        if "valuesObject" in helm and not isinstance(helm["valuesObject"], (dict, type(None))):
            raise _error("invalid", f"Application {name}: {where}.helm.valuesObject must be a mapping")
    dest = spec.get("destination")
    if not isinstance(dest, dict) or not (dest.get("server") or dest.get("name")):
        raise _error("invalid",
            f"Application {name}: spec.destination needs server (e.g. "
            "https://kubernetes.default.svc) or name, and usually namespace"
        )


def build_app(name, spec, namespace="argocd", sync_wave=None, labels=None, annotations=None):
    """The Application manifest for ``name`` (validated, normalised).

    ``spec.project`` defaults to ``default``; ``sync_wave`` becomes the
    ``argocd.argoproj.io/sync-wave`` annotation.
    """
    _validate_app_spec(name, spec)
    spec = normalize(spec)
    spec.setdefault("project", "default")
    metadata = {"name": name, "namespace": namespace}
    annotations = dict(annotations or {})
    if sync_wave is not None:
        try:
            annotations[SYNC_WAVE_ANNOTATION] = str(int(str(sync_wave)))
        except ValueError:
            raise _error("invalid", f"Application {name}: sync_wave must be an integer, got {sync_wave!r}")
    if annotations:
        metadata["annotations"] = {str(k): str(v) for k, v in annotations.items()}
    if labels:
        metadata["labels"] = {str(k): str(v) for k, v in labels.items()}
    return {"apiVersion": API_VERSION, "kind": "Application", "metadata": metadata, "spec": spec}


def build_project(name, spec, namespace="argocd"):
    """The AppProject manifest for ``name`` (roles and groups, destinations,
    sourceRepos, clusterResourceWhitelist ...), normalised."""
    if not isinstance(spec, dict):
        raise _error("invalid", f"AppProject {name}: spec must be a mapping")
    for i, dest in enumerate(spec.get("destinations") or []):
        if not isinstance(dest, dict) or not (dest.get("server") or dest.get("name")):
            raise _error("invalid", f"AppProject {name}: spec.destinations[{i}] needs server or name")
    for i, role in enumerate(spec.get("roles") or []):
        if not isinstance(role, dict) or not role.get("name"):
            raise _error("invalid", f"AppProject {name}: spec.roles[{i}] needs a name")
    return {
        "apiVersion": API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": normalize(spec),
    }


def build_repository(name, url, username=None, password=None, namespace="argocd",
                     repo_type="helm", enable_oci=True, project=None):
    """The repository Secret ArgoCD reads (label
    ``argocd.argoproj.io/secret-type: repository``), with ``stringData``-style
    plain values in ``data`` (encoded on the way out)."""
    if not url:
        raise _error("invalid", f"repository {name}: url is required")
    if repo_type not in ("helm", "git", "oci"):
        raise _error("invalid", f"repository {name}: repo_type must be helm, git or oci, got {repo_type!r}")
    if bool(username) != bool(password):
        raise _error("invalid", f"repository {name}: give both username and password, or neither")
    data = {"name": name, "type": repo_type, "url": url}
    if username:
        data["username"] = str(username)
        data["password"] = str(password)
    if enable_oci and repo_type == "helm":
        data["enableOCI"] = "true"
    if project:
        data["project"] = project
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": {SECRET_TYPE_LABEL: "repository"}},
        "data": data,
    }


def encode_secret_data(data):
    return {k: base64.b64encode(str(v).encode()).decode() for k, v in data.items()}


def decode_secret_data(data):
    out = {}
    for k, v in (data or {}).items():
        try:
            out[k] = base64.b64decode(v).decode()
        except (ValueError, UnicodeDecodeError):
            out[k] = v
    return out


# --------------------------------------------------------------------------
# Kubernetes API access: through maia_kube (one request per call once its
# discovery cache is warm); its errors keep their kind (maia_errors) and lose every
# secret value of the request.


def _kubeconfig(kubeconfig=None):
    """The kubeconfig path as maia_kube resolves it (used as a cache key only)."""
    if kubeconfig:
        return kubeconfig
    return __salt__["config.get"]("maia:kubeconfig", DEFAULT_KUBECONFIG) or DEFAULT_KUBECONFIG


def _call(fn, *args, secrets=(), **kwargs):
    try:
        return __salt__[f"maia_kube.{fn}"](*args, **kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        raise __salt__["maia_errors.with_message"](exc, _scrub(str(exc), secrets)) from None


def get(kind, name, namespace="argocd", kubeconfig=None):
    """The live object, or ``None`` when it does not exist (Secrets as the API
    returns them: ``data`` base64-encoded; keep them away from output).

    CLI example::

        salt-call argocd.get Application maia-core-traefik
    """
    return _call("get", KINDS[kind][0], kind, name, namespace=namespace, kubeconfig=kubeconfig)


def create(manifest, kubeconfig=None, secret_keys=None):
    """Create ``manifest``; returns the object the server stored."""
    return _call("create", manifest, kubeconfig=kubeconfig, secrets=_collect(manifest, secret_keys))


def patch(kind, name, namespace, body, kubeconfig=None, secret_keys=None):
    """JSON merge patch (RFC 7386) of one object; returns the patched object."""
    return _call("patch", KINDS[kind][0], kind, name, body, namespace=namespace,
                 patch_type="merge", kubeconfig=kubeconfig, secrets=_collect(body, secret_keys))


def delete(kind, name, namespace="argocd", kubeconfig=None):
    """Delete one object; ``True`` when a delete was sent, ``False`` when it was gone."""
    return _call("delete", KINDS[kind][0], kind, name, namespace=namespace, kubeconfig=kubeconfig)


def list_(kind="Application", namespace="argocd", kubeconfig=None):
    """Every object of ``kind`` in ``namespace``."""
    return _call("list", KINDS[kind][0], kind, namespace=namespace, kubeconfig=kubeconfig)


# --------------------------------------------------------------------------
# comparing live and desired


def live_view(kind, live, desired):
    """The part of ``live`` that ``desired`` manages, normalised, in the same
    shape as ``desired``: the whole ``spec`` (or Secret ``data``, decoded), and of
    the labels and annotations only the keys ``desired`` sets (others -- set by
    ArgoCD or people -- are left alone)."""
    view = {"metadata": {}}
    live_meta = live.get("metadata") or {}
    for field in ("labels", "annotations"):
        wanted = (desired.get("metadata") or {}).get(field) or {}
        have = live_meta.get(field) or {}
        view["metadata"][field] = {k: have[k] for k in wanted if k in have}
    if kind == "Secret":
        view["data"] = decode_secret_data(live.get("data"))
    else:
        view["spec"] = live.get("spec") or {}
    return normalize(view)


def desired_view(kind, desired):
    view = {"metadata": {f: (desired["metadata"].get(f) or {}) for f in ("labels", "annotations")}}
    if kind == "Secret":
        view["data"] = desired.get("data") or {}
    else:
        view["spec"] = desired.get("spec") or {}
    return normalize(view)


def compare(kind, live, desired, secret_keys=None):
    """``(patch, changes)``: the merge patch to send (``{}`` when nothing
    differs) and the masked, flattened changes to report."""
    have = live_view(kind, live, desired)
    want = desired_view(kind, desired)
    body = merge_patch(have, want)
    if kind == "Secret" and "data" in body:
        body["data"] = {k: (None if v is None else base64.b64encode(v.encode()).decode())
                        for k, v in body["data"].items()}
    if kind == "Secret":
        # every value of a repository secret is treated as secret except these
        public = {"name", "type", "url", "enableOCI", "project"}
        keys = list(secret_keys or []) + [f"data.{k}" for k in want.get("data", {}) if k not in public]
        keys += [f"data.{k}" for k in have.get("data", {}) if k not in public]
        secret_keys = keys
    return body, masked_changes(have, want, secret_keys=secret_keys)


def app_diff(name, spec, namespace="argocd", sync_wave=None, secret_keys=None, kubeconfig=None):
    """What ``argocd.app_present`` would change for this Application (masked).

    CLI example::

        salt-call argocd.app_diff maia-core-tempo '{"source": {...}, "destination": {...}}'
    """
    desired = build_app(name, spec, namespace, sync_wave=sync_wave)
    live = get("Application", name, namespace, kubeconfig)
    if live is None:
        return {"exists": False, "changes": {"new": mask(desired, secret_keys)}}
    _, changes = compare("Application", live, desired, secret_keys)
    return {"exists": True, "changes": changes}


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
            if diff(normalize(compared.get(field)), normalize(spec.get(field))):
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

        salt-call argocd.apps
    """
    out = []
    for app in list_("Application", namespace, kubeconfig):
        summary = summarize(app)
        out.append({k: summary[k] for k in ("name", "sync", "health", "revision")})
    return sorted(out, key=lambda a: a["name"] or "")


def status(name, namespace="argocd", kubeconfig=None):
    """Sync, health, revision, last operation and unhealthy resources of one Application.

    CLI example::

        salt-call argocd.status maia-core-traefik
    """
    app = get("Application", name, namespace, kubeconfig)
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

        salt-call argocd.sync maia-core-traefik
    """
    app = get("Application", name, namespace, kubeconfig)
    if app is None:
        raise _error("not_found", f"Application {namespace}/{name} not found")
    return start_sync(app, prune=prune, kubeconfig=kubeconfig)


def start_sync(app, prune=False, kubeconfig=None):
    meta = app["metadata"]
    sync_id = uuid.uuid4().hex
    body = {"operation": _sync_operation(app, sync_id, prune)}
    patch("Application", meta["name"], meta["namespace"], body, kubeconfig=kubeconfig)
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

        salt-call argocd.wait maia-core-traefik timeout=300 interval=5
    """
    timeout, interval = float(timeout), max(float(interval), 0.05)
    deadline = time.monotonic() + timeout
    follow = _Follow(name, namespace, sync_id)
    while True:
        app = get("Application", name, namespace, kubeconfig)
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


def recall_outcome(name, namespace, kubeconfig):
    """The outcome ``sync_wave`` recorded for this Application in this run (and
    forget it), or ``None``."""
    return __context__.pop(("argocd.outcome", _kubeconfig(kubeconfig), namespace, name), None)


def wave_members(name, present, namespace, kubeconfig):
    """The Applications to sync together with ``name``: ``name`` and those of
    ``present`` (the others of its wave whose app_present succeeded in this
    run: the state reads that from Salt) that no earlier wave run has already
    dealt with."""
    members = [name]
    for other in present or []:
        key = ("argocd.outcome", _kubeconfig(kubeconfig), namespace, other)
        if other not in members and key not in __context__:
            members.append(other)
    return members


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
    ``converged``, ``failed``, ``degraded``, ``timeout``, ``missing``), and
    keeps each outcome for ``recall_outcome`` (the app's own state reports it).

    CLI example::

        salt-call argocd.sync_wave '[maia-core-loki, maia-core-tempo]' timeout=300
    """
    names = list(dict.fromkeys(names))
    timeout, interval = float(timeout), max(float(interval), 0.05)
    started = time.monotonic()
    deadline = started + timeout
    outcomes = {}
    listed = _by_name(list_("Application", namespace, kubeconfig))
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
            outcomes[name] = {"result": True, "reason": "unchanged", "attempts": 0, "synced": False,
                              "before": before, "after": before, "report": describe(before)}
            continue
        follow = follows[name] = _Follow(name, namespace)
        follow.before, follow.attempt, follow.synced, follow.retry_at = before, 1, False, None
        follow.secrets = _collect(app.get("spec") or {})
        if needs_sync(before, force):
            follow.sync_id = start_sync(app, prune=prune, kubeconfig=kubeconfig)["sync_id"]
            follow.synced = True

    wave_start = time.monotonic()
    while follows:
        now = time.monotonic()
        wake = min([deadline, now + _poll_delay(now - wave_start, interval)]
                   + [f.retry_at for f in follows.values() if f.retry_at])
        time.sleep(max(wake - now, 0))
        listed = _by_name(list_("Application", namespace, kubeconfig))
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
    for name, outcome in outcomes.items():
        outcome["wave"] = names
        __context__[("argocd.outcome", _kubeconfig(kubeconfig), namespace, name)] = outcome
    return {name: outcomes[name] for name in names}


def _by_name(apps):
    return {(app.get("metadata") or {}).get("name"): app for app in apps}
