"""ArgoCD objects as data: build (validated, normalised) Applications, AppProjects and
repository Secrets, and compare a live object with the desired one (the merge patch to
send and the masked changes to report).

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): plain
functions of JSON-like values, no requests, no Salt dunders. ``_modules/maia_argocd.py``
offers them on the command line, ``_states/maia_argocd.py`` and ``maia_argocd_status``
import them. Errors are ``CommandExecutionError`` with the kind ``invalid``.
"""
import base64
import copy

import maia_secret_mask
from maia_error_kinds import error as _error

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
# every value of a repository secret is treated as secret except these
REPOSITORY_PUBLIC_KEYS = frozenset({"name", "type", "url", "enableOCI", "project"})

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


def mask(obj, secret_keys=None):
    return maia_secret_mask.mask(obj, extra_keys=secret_keys)


# --------------------------------------------------------------------------
# pure helpers: normalisation, diff, merge patch


def normalize(obj):
    """Return ``obj`` with ``None`` values and empty dicts/lists removed at every
    level and tuples turned into lists, so that a desired spec written in YAML
    compares equal to the same spec as the API server returns it.

    CLI example::

        salt-call maia_argocd.normalize '{"a": null, "b": {}, "c": [1]}'
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
        public = REPOSITORY_PUBLIC_KEYS
        keys = list(secret_keys or []) + [f"data.{k}" for k in want.get("data", {}) if k not in public]
        keys += [f"data.{k}" for k in have.get("data", {}) if k not in public]
        secret_keys = keys
    return body, masked_changes(have, want, secret_keys=secret_keys)


def spec_would_change(name, spec, live, namespace="argocd"):
    """Would the Application ``name`` built from ``spec`` change the ``live`` one's spec?"""
    body, _ = compare("Application", live, build_app(name, spec, namespace))
    return "spec" in body


def patch_paths(patch, prefix=""):
    """The dotted paths of a merge patch's leaves (to name fields, never values)."""
    out = []
    for key, value in patch.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(patch_paths(value, path + "."))
        else:
            out.append(path)
    return out


def masked_manifest(desired, secret_keys=None):
    """What a state shows of an object it creates: its metadata and spec with secret values
    masked; of a repository Secret, its data with every value but the public ones masked."""
    if desired["kind"] == "Secret":
        data = {k: (v if k in REPOSITORY_PUBLIC_KEYS else maia_secret_mask.MASK)
                for k, v in desired["data"].items()}
        return {"metadata": desired["metadata"], "data": data}
    return mask({"metadata": desired["metadata"], "spec": desired["spec"]}, secret_keys)
