"""Kubernetes API stand-in: a small HTTPS server that speaks the Kubernetes API.

STAND-IN for a kube-apiserver, which this machine cannot run (none is packaged
on the registries we reach; kmock 0.8 fails on cluster-scoped objects). It
serves what the official ``kubernetes`` Python client (22.x and 37.x), its
DynamicClient and saltext-kubernetes use:

- discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/G``,
  ``/apis/G/V`` (resource lists with namespaced flag, verbs, kind, short names,
  ``status`` subresources);
- built-in kinds from a table (``BUILTIN_KINDS``) and kinds defined by
  CustomResourceDefinitions, which are Established (and served) when created,
  or ``crd_establish_delay`` seconds later;
- GET (one object or a list; ``labelSelector``, ``fieldSelector`` on
  metadata.name/namespace), POST (409 AlreadyExists), PUT (409 Conflict on a
  stale resourceVersion), PATCH (merge, strategic merge treated as merge, JSON
  patch, server-side apply with field managers, conflicts and ``force``),
  DELETE (finalizers: deletionTimestamp first, removal once cleared; a
  namespace takes its objects with it), ``dryRun=All``, the ``status``
  subresource, Status bodies for 400/401/403/404/409/422;
- bearer-token auth (401 without; ``/version`` and health checks are public as
  in a real cluster).

Not emulated: watch, pagination (``limit`` returns everything), schema
validation of custom resources, owner-reference garbage collection, admission,
associative-list merging in SSA and strategic merge (lists are atomic).

Every request is recorded in ``server.request_log`` (method, path, query,
status, user agent); ``server.request_counts()`` counts them per
"METHOD path". Over HTTP: ``GET /_standin/requests`` (and ``DELETE`` to reset).

Python::

    with KubeApiStandin() as api:           # 127.0.0.1, random port, HTTPS
        api.kubeconfig                      # path of a kubeconfig (0600) for it
        api.request_counts()

CLI (the lab runs it on the bridge address)::

    python -m maia_lab.standins.kube_api --host 198.18.0.1 --port 16443 \
        --tls-dir /var/lib/maia-standins/kube-api [--token T] [--kubeconfig OUT]
"""
from __future__ import annotations

import argparse
import base64
import binascii
import collections
import datetime
import hmac
import ipaddress
import json
import os
import re
import secrets
import signal
import ssl
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

# (group, version, kind, plural, namespaced, status subresource, short names)
BUILTIN_KINDS = [
    ("", "v1", "Namespace", "namespaces", False, True, ["ns"]),
    ("", "v1", "Node", "nodes", False, True, ["no"]),
    ("", "v1", "PersistentVolume", "persistentvolumes", False, True, ["pv"]),
    ("", "v1", "Secret", "secrets", True, False, []),
    ("", "v1", "ConfigMap", "configmaps", True, False, ["cm"]),
    ("", "v1", "ServiceAccount", "serviceaccounts", True, False, ["sa"]),
    ("", "v1", "Service", "services", True, True, ["svc"]),
    ("", "v1", "Pod", "pods", True, True, ["po"]),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, True, ["pvc"]),
    ("", "v1", "Endpoints", "endpoints", True, False, ["ep"]),
    ("", "v1", "Event", "events", True, False, ["ev"]),
    ("", "v1", "LimitRange", "limitranges", True, False, ["limits"]),
    ("", "v1", "ResourceQuota", "resourcequotas", True, True, ["quota"]),
    ("", "v1", "ReplicationController", "replicationcontrollers", True, True, ["rc"]),
    ("apps", "v1", "Deployment", "deployments", True, True, ["deploy"]),
    ("apps", "v1", "StatefulSet", "statefulsets", True, True, ["sts"]),
    ("apps", "v1", "DaemonSet", "daemonsets", True, True, ["ds"]),
    ("apps", "v1", "ReplicaSet", "replicasets", True, True, ["rs"]),
    ("apps", "v1", "ControllerRevision", "controllerrevisions", True, False, []),
    ("batch", "v1", "Job", "jobs", True, True, []),
    ("batch", "v1", "CronJob", "cronjobs", True, True, ["cj"]),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, True, ["hpa"]),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, True, ["pdb"]),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True, False, []),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, False, []),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, False, []),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, False, []),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, False, ["netpol"]),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True, True, ["ing"]),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, False, []),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, False, ["sc"]),
    ("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False, False, []),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, False, ["pc"]),
    ("coordination.k8s.io", "v1", "Lease", "leases", True, False, []),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, True, ["crd", "crds"]),
    ("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, True, []),
    ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False, False, []),
    ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False, False, []),
]
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
CRD_GROUP = "apiextensions.k8s.io"
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")
IDENTITY_PATHS = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ANNOTATIONS_LIMIT = 262_144  # bytes, metadata.annotations keys + values
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VERSION_INFO = {"major": "1", "minor": "34", "gitVersion": "v1.34.0-maia-standin",
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
                "platform": "linux/amd64"}


def _clone(value):
    """Deep copy of JSON data (much faster than copy.deepcopy on big CRDs)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, set):
        return set(value)
    return value


def _same_content(a, b):
    """Equal apart from server-owned metadata (no copies: objects can be big CRDs)."""
    for key in set(a) | set(b):
        if key == "metadata":
            ma, mb = a.get(key) or {}, b.get(key) or {}
            if any(ma.get(k) != mb.get(k) for k in (set(ma) | set(mb)) - set(SERVER_METADATA)):
                return False
        elif a.get(key) != b.get(key):
            return False
    return True


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An error answered as a Kubernetes ``Status`` body."""

    REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 409: "Conflict", 415: "UnsupportedMediaType",
               422: "Invalid"}

    def __init__(self, code, message, reason=None, details=None):
        super().__init__(message)
        self.code, self.message = code, message
        self.reason = reason or self.REASONS.get(code, "InternalError")
        self.details = details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


class ResourceType:
    """One served resource: a row of BUILTIN_KINDS or a CRD."""

    def __init__(self, group, versions, kind, plural, namespaced, status_sub, short_names=(),
                 singular=None, builtin=True):
        self.group, self.versions, self.kind, self.plural = group, list(versions), kind, plural
        self.namespaced, self.status_sub, self.short_names = namespaced, status_sub, list(short_names)
        self.singular = singular or kind.lower()
        self.builtin = builtin

    def api_version(self, version):
        return f"{self.group}/{version}" if self.group else version

    def details(self, name):
        return {"name": name, "group": self.group, "kind": self.plural}

    def discovery(self, version):
        out = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": VERBS, "shortNames": self.short_names}]
        if not self.short_names:
            del out[0]["shortNames"]
        if self.status_sub:
            out.append({"name": f"{self.plural}/status", "singularName": "", "namespaced": self.namespaced,
                        "kind": self.kind, "verbs": ["get", "patch", "update"]})
        return out


# ---------------------------------------------------------------- JSON helpers


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch (copy-on-write: ``target`` is not changed, untouched parts are shared)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target, patch):
    """Strategic merge patch, treated as a merge patch (lists replaced, ``$`` directives dropped)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not str(k).startswith("$")}
        return value

    return merge_patch(target, strip(patch))


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, tokens):
    for tok in tokens:
        if isinstance(doc, list):
            doc = doc[int(tok)]
        else:
            doc = doc[tok]
    return doc


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    doc = _clone(doc)
    if not isinstance(ops, list):
        raise ApiError(400, "a JSON patch must be a list of operations")
    for op in ops:
        try:
            kind, tokens = op["op"], _pointer(op["path"])
            if kind == "test":
                if _walk(doc, tokens) != op["value"]:
                    raise ApiError(422, f"test operation failed at {op['path']}")
                continue
            if kind in ("move", "copy"):
                from_tokens = _pointer(op["from"])
                value = _clone(_walk(doc, from_tokens))
                if kind == "move":
                    doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
                doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": value}])
                continue
            if not tokens:
                if kind in ("add", "replace"):
                    doc = _clone(op["value"])
                    continue
                raise ApiError(422, "cannot remove the whole document")
            parent, last = _walk(doc, tokens[:-1]), tokens[-1]
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), _clone(op["value"]))
                else:
                    parent[last] = _clone(op["value"])
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = _clone(op["value"])
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = _clone(op["value"])
            else:
                raise ApiError(400, f"unknown JSON patch operation {kind!r}")
        except ApiError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(422, f"JSON patch {op.get('op')} {op.get('path')} failed: {exc!r}") from None
    return doc


def leaf_paths(value, prefix=()):
    """Field paths of a JSON value: maps are walked, lists and scalars are leaves."""
    if isinstance(value, dict) and value:
        out = set()
        for key, sub in value.items():
            out |= leaf_paths(sub, prefix + (key,))
        return out
    return {prefix} if prefix else set()


def _get_path(doc, path):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return False, None
        doc = doc[key]
    return True, doc


def _without(doc, path, depth=0):
    """A copy of ``doc`` without ``path``; maps it empties are pruned, top-level keys kept (copy-on-write)."""
    key = path[0]
    if not isinstance(doc, dict) or key not in doc:
        return doc
    out = dict(doc)
    if len(path) == 1:
        del out[key]
    else:
        out[key] = _without(doc[key], path[1:], depth + 1)
        if out[key] == {} and depth + 1 > 1:
            del out[key]
    return out


def _overlaps(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _merged(live, config):
    """``config`` merged into ``live`` (maps merged, everything else replaced; copy-on-write)."""
    out = dict(live)
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(live.get(key), dict):
            out[key] = _merged(live[key], value)
        else:
            out[key] = value
    return out


def _path_str(path):
    return "." + ".".join(str(p) for p in path)


def _fields_v1(paths):
    tree = {}
    for path in sorted(paths, key=lambda p: [str(x) for x in p]):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


# ---------------------------------------------------------------- label selectors


def _split_selector(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """Return a predicate over a labels dict (=, ==, !=, in, notin, exists, !exists)."""
    tests = []
    for req in _split_selector(text or ""):
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", req)
        if m:
            key, op, vals = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                tests.append(lambda l, k=key, v=vals: k in l and l[k] in v)
            else:
                tests.append(lambda l, k=key, v=vals: k not in l or l[k] not in v)
            continue
        m = re.match(r"^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$", req)
        if m:
            key, op, val = m.groups()
            if op == "!=":
                tests.append(lambda l, k=key, v=val: l.get(k) != v)
            else:
                tests.append(lambda l, k=key, v=val: l.get(k) == v)
            continue
        m = re.match(r"^(!?)([^\s!=()]+)$", req)
        if m:
            neg, key = m.groups()
            tests.append((lambda l, k=key: k not in l) if neg else (lambda l, k=key: k in l))
            continue
        raise ApiError(400, f"unable to parse requirement: {req!r}")
    return lambda labels: all(t(labels or {}) for t in tests)


def parse_field_selector(text):
    tests = []
    for req in _split_selector(text or ""):
        m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", req)
        if not m or m.group(1) not in ("metadata.name", "metadata.namespace"):
            raise ApiError(400, f"field label not supported by the stand-in: {req!r}")
        field, op, val = m.groups()
        key = field.split(".")[1]
        if op == "!=":
            tests.append(lambda o, k=key, v=val: o["metadata"].get(k) != v)
        else:
            tests.append(lambda o, k=key, v=val: o["metadata"].get(k) == v)
    return lambda obj: all(t(obj) for t in tests)


# ---------------------------------------------------------------- the store


class Store:
    """In-memory objects, keyed by (group, plural, namespace, name); one lock for everything."""

    def __init__(self, crd_establish_delay=0.0):
        self.lock = threading.RLock()
        self.types = {}  # (group, plural) -> ResourceType
        self.objects = {}  # (group, plural, ns, name) -> stored object (storage apiVersion)
        self.managers = {}  # uid -> {manager: {"operation": ..., "apiVersion": ..., "time": ..., "fields": set}}
        self.rv = 0
        self.crd_establish_delay = float(crd_establish_delay)
        self.pending_crds = {}  # crd name -> monotonic time it becomes Established
        for group, version, kind, plural, namespaced, status_sub, short in BUILTIN_KINDS:
            self.types[(group, plural)] = ResourceType(group, [version], kind, plural, namespaced,
                                                       status_sub, short)
        for name in DEFAULT_NAMESPACES:
            self._commit(self.types[("", "namespaces")], None, name,
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
                          "status": {"phase": "Active"}}, None, "kube-apiserver", "Update")

    # -- persistence (optional: KubeApiStandin(state_file=...))
    def dump(self):
        with self.lock:
            return {"rv": self.rv,
                    "objects": [[g, p, ns, n, obj] for (g, p, ns, n), obj in self.objects.items()],
                    "managers": {uid: {m: dict(e, fields=sorted(list(f) for f in e["fields"]))
                                       for m, e in mgrs.items()} for uid, mgrs in self.managers.items()}}

    def load(self, data):
        with self.lock:
            self.rv = int(data["rv"])
            self.objects = {(g, p, ns, n): obj for g, p, ns, n, obj in data["objects"]}
            self.managers = {uid: {m: dict(e, fields={tuple(f) for f in e["fields"]}) for m, e in mgrs.items()}
                             for uid, mgrs in data["managers"].items()}
            self._sync_crd_types()

    # -- lookup
    def served_types(self):
        self.tick()
        return [t for t in self.types.values() if t.builtin or self._crd_served(t)]

    def _crd_served(self, rtype):
        crd = self.objects.get((CRD_GROUP, "customresourcedefinitions", None, f"{rtype.plural}.{rtype.group}"))
        return crd is not None and _established(crd)

    def find(self, group, version, plural):
        rtype = self.types.get((group, plural))
        if rtype is None or version not in rtype.versions:
            return None
        if not rtype.builtin and not self._crd_served(rtype):
            return None
        return rtype

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    # -- CRDs
    def tick(self):
        """Establish CRDs whose delay has passed."""
        now = time.monotonic()
        for name, when in list(self.pending_crds.items()):
            if now >= when:
                del self.pending_crds[name]
                key = (CRD_GROUP, "customresourcedefinitions", None, name)
                if key in self.objects:
                    obj = _clone(self.objects[key])
                    obj["status"] = _crd_status(obj, True)
                    obj["metadata"]["resourceVersion"] = self.next_rv()
                    self.objects[key] = obj

    def _sync_crd_types(self):
        wanted = {}
        for (group, plural, _ns, _name), crd in self.objects.items():
            if (group, plural) != (CRD_GROUP, "customresourcedefinitions") or crd["metadata"].get("deletionTimestamp"):
                continue
            spec = crd.get("spec") or {}
            names = spec.get("names") or {}
            versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
            status_sub = any("status" in ((v.get("subresources") or {})) for v in versions)
            wanted[(spec["group"], names["plural"])] = ResourceType(
                spec["group"], [v["name"] for v in versions], names["kind"], names["plural"],
                spec.get("scope", "Namespaced") == "Namespaced", status_sub, names.get("shortNames") or [],
                names.get("singular"), builtin=False)
        for key in [k for k, t in self.types.items() if not t.builtin and k not in wanted]:
            del self.types[key]
            for okey in [o for o in self.objects if o[:2] == key]:
                self._forget(okey)
        for key, rtype in wanted.items():
            if key in self.types and self.types[key].builtin:
                continue
            self.types[key] = rtype

    # -- objects
    def _forget(self, key):
        obj = self.objects.pop(key, None)
        if obj is not None:
            self.managers.pop(obj["metadata"].get("uid"), None)

    def _commit(self, rtype, ns, name, obj, old, manager, operation, managers=None):
        """Store ``obj`` (new or updated), assigning metadata; returns the stored object."""
        meta = obj.setdefault("metadata", {})
        meta["name"] = name
        if ns:
            meta["namespace"] = ns
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
            meta["generation"] = 1
        meta["resourceVersion"] = self.next_rv()
        key = (rtype.group, rtype.plural, ns, name)
        uid = meta["uid"]
        if managers is None:
            managers = self._update_managers(uid, old, obj, manager, operation, rtype)
        self.managers[uid] = managers
        meta["managedFields"] = _render_managers(managers)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._forget(key)
        else:
            self.objects[key] = obj
        if rtype.group == CRD_GROUP:
            self._sync_crd_types()
        self.collect_namespaces()
        return obj

    def _update_managers(self, uid, old, new, manager, operation, rtype):
        managers = _clone(self.managers.get(uid, {})) if old is not None else {}
        new_c = _content(new)
        new_paths = leaf_paths(new_c)
        if old is None:
            changed = new_paths
        else:
            old_c = _content(old)
            changed = {p for p in new_paths if _get_path(old_c, p) != _get_path(new_c, p)}
        changed -= IDENTITY_PATHS
        if not changed:
            return managers
        for entry in managers.values():
            entry["fields"] = {p for p in entry["fields"] if not any(_overlaps(p, c) for c in changed)}
        entry = managers.setdefault(manager, {"operation": operation, "fields": set()})
        entry.update(operation=operation, time=_now(), apiVersion=new.get("apiVersion"))
        entry["fields"] |= changed
        return {m: e for m, e in managers.items() if e["fields"]}

    def collect_namespaces(self):
        """Remove terminating namespaces once empty (and without finalizers)."""
        for key, ns_obj in list(self.objects.items()):
            if key[:2] != ("", "namespaces") or not ns_obj["metadata"].get("deletionTimestamp"):
                continue
            name = key[3]
            for okey in [k for k in self.objects if k[2] == name]:
                obj = self.objects[okey]
                if obj["metadata"].get("finalizers"):
                    if not obj["metadata"].get("deletionTimestamp"):
                        obj = _clone(obj)
                        obj["metadata"]["deletionTimestamp"] = _now()
                        obj["metadata"]["resourceVersion"] = self.next_rv()
                        self.objects[okey] = obj
                else:
                    self._forget(okey)
            if not any(k[2] == name for k in self.objects) and not ns_obj["metadata"].get("finalizers"):
                self._forget(key)


def _established(crd):
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def _crd_status(crd, established):
    spec = crd.get("spec") or {}
    now = _now()
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
         "message": "no conflicts found", "lastTransitionTime": now},
        {"type": "Established", "status": "True" if established else "False",
         "reason": "InitialNamesAccepted" if established else "Installing",
         "message": "the initial names have been accepted" if established else "the CRD is being established",
         "lastTransitionTime": now},
    ]
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    return {"conditions": conditions, "acceptedNames": _clone(spec.get("names") or {}),
            "storedVersions": stored}


def _content(obj):
    """The object without server-owned metadata (what field ownership is about; a shallow view)."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    return dict(obj, metadata=meta)


def _render_managers(managers):
    return [{"manager": m, "operation": e["operation"], "apiVersion": e.get("apiVersion"),
             "time": e.get("time") or _now(), "fieldsType": "FieldsV1", "fieldsV1": _fields_v1(e["fields"])}
            for m, e in sorted(managers.items())]


def _spec_changed(old, new, rtype):
    skip = {"metadata", "status"} if rtype.status_sub else {"metadata"}
    keys = (set(old) | set(new)) - skip
    return any(old.get(k) != new.get(k) for k in keys)


# ---------------------------------------------------------------- request handling


class Api:
    """Turns parsed requests into (status code, body) using a Store."""

    def __init__(self, store, address="127.0.0.1:0"):
        self.store = store
        self.address = address

    # -- discovery
    def discovery(self, parts):
        types = self.store.served_types()
        if parts == ["version"]:
            return VERSION_INFO
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}]}
        if parts == ["api", "v1"]:
            return self._resource_list("", "v1", types)
        groups = collections.OrderedDict()
        for t in types:
            if t.group:
                vs = groups.setdefault(t.group, [])
                vs.extend(v for v in t.versions if v not in vs)
        if parts == ["apis"]:
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [self._group(g, vs) for g, vs in groups.items()]}
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
            return dict(self._group(parts[1], groups[parts[1]]), kind="APIGroup", apiVersion="v1")
        if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], []):
            return self._resource_list(parts[1], parts[2], types)
        return None

    @staticmethod
    def _group(name, versions):
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[0]}

    @staticmethod
    def _resource_list(group, version, types):
        resources = []
        for t in types:
            if t.group == group and version in t.versions:
                resources.extend(t.discovery(version))
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

    # -- routing
    def route(self, parts):
        """Map a path to (ResourceType, version, namespace, name, subresource)."""
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            t = self.store.find(group, version, rest[2])
            if t is not None and t.namespaced:
                ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        rtype = self.store.find(group, version, rest[0])
        if rtype is None:
            raise ApiError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and (sub != "status" or not rtype.status_sub):
            raise ApiError(404, "the server could not find the requested resource")
        if ns and not rtype.namespaced:
            raise ApiError(404, "the server could not find the requested resource")
        if rtype.namespaced and name is not None and ns is None:
            raise ApiError(404, "the server could not find the requested resource")
        return rtype, version, ns, name, sub

    def handle(self, method, parts, query, body, content_type, user_agent):
        store = self.store
        with store.lock:
            store.tick()
            rtype, version, ns, name, sub = self.route(parts)
            manager = (query.get("fieldManager") or [None])[0] or (user_agent or "unknown").split("/")[0]
            dry = "All" in query.get("dryRun", [])
            if method == "GET":
                if (query.get("watch") or ["false"])[0] in ("true", "1"):
                    raise ApiError(405, "watch is not supported by the Kubernetes API stand-in")
                if name is None:
                    return 200, self.list(rtype, version, ns, query)
                return 200, self.out(self.existing(rtype, ns, name), rtype, version)
            if method == "POST":
                if name is not None:
                    raise ApiError(405, "POST is not supported on a named resource")
                return 201, self.out(self.create(rtype, version, ns, self.parse(body, content_type),
                                                 manager, dry), rtype, version)
            if method == "PUT":
                if name is None:
                    raise ApiError(405, "PUT needs a resource name")
                return 200, self.out(self.replace(rtype, version, ns, name, sub,
                                                  self.parse(body, content_type), manager, dry), rtype, version)
            if method == "PATCH":
                if name is None:
                    raise ApiError(405, "PATCH needs a resource name")
                return self.patch(rtype, version, ns, name, sub, body, content_type, query, manager, dry)
            if method == "DELETE":
                options = self.parse(body, content_type) if body else {}
                dry = dry or "All" in (options.get("dryRun") or [])
                if name is None:
                    return 200, self.delete_collection(rtype, version, ns, query, dry)
                return 200, self.delete(rtype, version, ns, name, dry)
            raise ApiError(405, f"method {method} is not supported")

    # -- helpers
    @staticmethod
    def parse(body, content_type):
        if not body:
            raise ApiError(400, "the request has no body")
        try:
            data = json.loads(body)
        except ValueError:
            try:
                data = yaml.safe_load(body)
            except yaml.YAMLError:
                raise ApiError(400, f"the body is neither JSON nor YAML ({content_type})") from None
        return data

    def existing(self, rtype, ns, name):
        obj = self.store.objects.get((rtype.group, rtype.plural, ns, name))
        if obj is None:
            raise ApiError(404, f'{rtype.plural}{"." + rtype.group if rtype.group else ""} "{name}" not found',
                           details=rtype.details(name))
        return obj

    @staticmethod
    def out(obj, rtype, version):
        """The object as served at ``version`` (a shallow copy: callers never mutate it in place)."""
        return dict(obj, apiVersion=rtype.api_version(version), kind=rtype.kind)

    def list(self, rtype, version, ns, query):
        select = parse_label_selector((query.get("labelSelector") or [""])[0])
        field = parse_field_selector((query.get("fieldSelector") or [""])[0])
        items = [self.out(obj, rtype, version) for (g, p, o_ns, _n), obj in sorted(
            self.store.objects.items(), key=lambda kv: (kv[0][2] or "", kv[0][3]))
                 if (g, p) == (rtype.group, rtype.plural) and (ns is None or o_ns == ns)
                 and select(obj["metadata"].get("labels")) and field(obj)]
        return {"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version(version),
                "metadata": {"resourceVersion": str(self.store.rv)}, "items": items}

    def validate(self, rtype, version, ns, obj, name=None):
        if not isinstance(obj, dict):
            raise ApiError(400, "the body is not an object")
        expected = rtype.api_version(version)
        if obj.get("apiVersion") and obj["apiVersion"] != expected or obj.get("kind") and obj["kind"] != rtype.kind:
            raise ApiError(400, f"the API version in the data ({obj.get('apiVersion')}) or kind "
                                f"({obj.get('kind')}) does not match the expected {expected} {rtype.kind}")
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object")
        if name is not None and meta.get("name") not in (None, name):
            raise ApiError(400, f"the name of the object ({meta.get('name')}) does not match the name on "
                                f"the URL ({name})")
        if meta.get("namespace") and ns and meta["namespace"] != ns:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on "
                                "the request")
        obj_name = name or meta.get("name")
        if not obj_name:
            raise ApiError(422, f"{rtype.kind} is invalid: metadata.name: Required value: name or "
                                "generateName is required", details=rtype.details(""))
        if rtype.group == "rbac.authorization.k8s.io":  # RBAC names are path segments ("system:x")
            ok = "/" not in obj_name and "%" not in obj_name and obj_name not in (".", "..")
        elif rtype.kind == "Namespace":
            ok = bool(DNS_LABEL.match(obj_name)) and len(obj_name) <= 63
        else:
            ok = bool(DNS_SUBDOMAIN.match(obj_name)) and len(obj_name) <= 253
        if not ok:
            raise ApiError(422, f'{rtype.kind} "{obj_name}" is invalid: metadata.name: Invalid value: '
                                f'"{obj_name}": must be a lowercase RFC 1123 name', details=rtype.details(obj_name))
        if rtype.kind == "Secret":
            _normalise_secret(obj, rtype)
        if rtype.kind == "CustomResourceDefinition":
            _validate_crd(obj, obj_name)
        for key in ("labels", "annotations"):
            for k, v in (meta.get(key) or {}).items():
                if not isinstance(v, str):
                    raise ApiError(422, f'{rtype.kind} "{obj_name}" is invalid: metadata.{key}.{k}: '
                                        "Invalid value: must be a string", details=rtype.details(obj_name))
        # as kube-apiserver: all annotations together (keys and values) fit in 256 KiB, which is
        # why a client-side `kubectl apply` of a large CRD fails and server-side apply is needed
        size = sum(len(k) + len(v) for k, v in (meta.get("annotations") or {}).items())
        if size > ANNOTATIONS_LIMIT:
            raise ApiError(422, f'{rtype.kind} "{obj_name}" is invalid: metadata.annotations: Too long: '
                                f"must have at most {ANNOTATIONS_LIMIT} bytes", details=rtype.details(obj_name))
        return obj_name

    def _check_namespace(self, rtype, ns):
        if not rtype.namespaced:
            return
        ns_obj = self.store.objects.get(("", "namespaces", None, ns))
        if ns_obj is None:
            raise ApiError(404, f'namespaces "{ns}" not found', details={"name": ns, "kind": "namespaces"})
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise ApiError(403, f"{rtype.plural} \"...\" is forbidden: unable to create new content in "
                                f"namespace {ns} because it is being terminated")

    def _defaults(self, rtype, obj):
        if rtype.status_sub:
            obj.pop("status", None)
        if rtype.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        if rtype.kind == "CustomResourceDefinition":
            delay = self.store.crd_establish_delay
            obj["status"] = _crd_status(obj, delay <= 0)
        if rtype.kind == "Secret":
            obj.setdefault("type", "Opaque")

    # -- verbs
    def create(self, rtype, version, ns, obj, manager, dry, managers=None):
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(meta, dict) and not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = self.validate(rtype, version, ns, obj)
        self._check_namespace(rtype, ns)
        if (rtype.group, rtype.plural, ns, name) in self.store.objects:
            raise ApiError(409, f'{rtype.plural}{"." + rtype.group if rtype.group else ""} "{name}" already '
                                "exists", reason="AlreadyExists", details=rtype.details(name))
        obj = dict(obj, metadata={k: v for k, v in obj["metadata"].items() if k not in SERVER_METADATA})
        obj["apiVersion"], obj["kind"] = rtype.api_version(version), rtype.kind
        self._defaults(rtype, obj)
        if dry:
            obj["metadata"].update(name=name, uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
            if ns:
                obj["metadata"]["namespace"] = ns
            return obj
        if rtype.kind == "CustomResourceDefinition" and self.store.crd_establish_delay > 0:
            self.store.pending_crds[name] = time.monotonic() + self.store.crd_establish_delay
        return self.store._commit(rtype, ns, name, obj, None, manager, "Update", managers)

    def _conflict(self, rtype, name):
        return ApiError(409, f'Operation cannot be fulfilled on {rtype.plural}'
                             f'{"." + rtype.group if rtype.group else ""} "{name}": the object has been '
                             "modified; please apply your changes to the latest version and try again",
                        details=rtype.details(name))

    def update(self, rtype, version, ns, name, sub, old, new, manager, dry, operation="Update", managers=None):
        """Finish an update: keep what the endpoint may not change, bump versions, store."""
        new = dict(new)
        new["apiVersion"], new["kind"] = rtype.api_version(version), rtype.kind
        meta = new["metadata"] = dict(new.get("metadata") or {})
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
            else:
                meta.pop(key, None)
        meta["name"] = name
        if ns:
            meta["namespace"] = ns
        if sub == "status":
            status = new.get("status")
            meta = dict(old["metadata"])  # a status write changes nothing else
            new = dict(old, metadata=meta)
            new["apiVersion"], new["kind"] = rtype.api_version(version), rtype.kind
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif rtype.status_sub:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if rtype.kind == "Secret":
            _normalise_secret(new, rtype)
        if rtype.kind == "CustomResourceDefinition" and sub != "status":
            _validate_crd(new, name)
        if _spec_changed(old, new, rtype):
            meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        uid = old["metadata"]["uid"]
        if managers is None:
            managers = self.store._update_managers(uid, old, new, manager, operation, rtype)
        same_managers = ({m: (e["operation"], e["fields"]) for m, e in managers.items()} ==
                         {m: (e["operation"], e["fields"]) for m, e in self.store.managers.get(uid, {}).items()})
        if same_managers and _same_content(new, old):
            return old  # a no-op write keeps the resourceVersion
        if dry:
            return new
        return self.store._commit(rtype, ns, name, new, old, manager, operation, managers)

    def replace(self, rtype, version, ns, name, sub, obj, manager, dry):
        self.validate(rtype, version, ns, obj, name)
        old = self.existing(rtype, ns, name)
        rv = obj["metadata"].get("resourceVersion")
        if rv is None and not rtype.builtin:
            raise ApiError(422, f'{rtype.kind} "{name}" is invalid: metadata.resourceVersion: Invalid value: '
                                '0x0: must be specified for an update', details=rtype.details(name))
        if rv is not None and rv != old["metadata"]["resourceVersion"]:
            raise self._conflict(rtype, name)
        return self.update(rtype, version, ns, name, sub, old, obj, manager, dry)

    def patch(self, rtype, version, ns, name, sub, body, content_type, query, manager, dry):
        ctype = (content_type or "").split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            if not (query.get("fieldManager") or [None])[0]:
                raise ApiError(400, "PATCH, fieldManager: Required value: is required for apply patch")
            force = (query.get("force") or ["false"])[0].lower() in ("true", "1")
            return self.apply(rtype, version, ns, name, sub, self.parse(body, ctype), manager, force, dry)
        patch = self.parse(body, ctype)
        old = self.existing(rtype, ns, name)
        current = self.out(old, rtype, version)
        if ctype == "application/json-patch+json":
            new = json_patch(current, patch)
        elif ctype == "application/merge-patch+json":
            new = merge_patch(current, patch)
        elif ctype == "application/strategic-merge-patch+json":
            if not rtype.builtin:
                raise ApiError(415, "strategic merge patch is not supported for custom resources")
            new = strategic_merge_patch(current, patch)
        else:
            raise ApiError(415, f"the body of the request was in an unknown format - accepted media types "
                                f"include: application/json-patch+json, application/merge-patch+json, "
                                f"application/apply-patch+yaml ({ctype})")
        if not isinstance(new, dict):
            raise ApiError(422, "the patch result is not an object")
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv is not None and rv != old["metadata"]["resourceVersion"]:
            raise self._conflict(rtype, name)
        self.validate(rtype, version, ns, new, name)
        return 200, self.out(self.update(rtype, version, ns, name, sub, old, new, manager, dry), rtype, version)

    def apply(self, rtype, version, ns, name, sub, config, manager, force, dry):
        """Server-side apply: field ownership per manager, conflicts, removal of dropped fields."""
        self.validate(rtype, version, ns, config, name)
        if not config.get("apiVersion") or not config.get("kind"):
            raise ApiError(400, "apiVersion and kind are required in an apply configuration")
        rv = config["metadata"].pop("resourceVersion", None)
        for key in SERVER_METADATA:
            config["metadata"].pop(key, None)
        key = (rtype.group, rtype.plural, ns, name)
        old = self.store.objects.get(key)
        if rtype.status_sub:
            config = ({k: v for k, v in config.items() if k in ("apiVersion", "kind", "metadata", "status")}
                      if sub == "status" else {k: v for k, v in config.items() if k != "status"})
        applied = leaf_paths(_content(config)) - IDENTITY_PATHS
        if old is None:
            if sub == "status":
                self.existing(rtype, ns, name)  # raises 404
            managers = {manager: {"operation": "Apply", "time": _now(), "apiVersion": config["apiVersion"],
                                  "fields": applied}} if applied else {}
            obj = self.create(rtype, version, ns, config, manager, dry, managers=managers)
            return 201, self.out(obj, rtype, version)
        if rv is not None and rv != old["metadata"]["resourceVersion"]:
            raise self._conflict(rtype, name)
        managers = _clone(self.store.managers.get(old["metadata"]["uid"], {}))
        live = self.out(old, rtype, version)
        conflicts = []
        for path in applied:
            if _get_path(live, path) == (True, _get_path(config, path)[1]):
                continue
            for other, entry in managers.items():
                if other != manager and any(_overlaps(path, p) for p in entry["fields"]):
                    conflicts.append((other, path))
        conflicts.sort(key=lambda c: [str(x) for x in c[1]])
        if conflicts and not force:
            causes = [{"type": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": _path_str(p)}
                      for m, p in conflicts]
            lines = "\n".join(f'- {c["message"]}: {c["field"]}' for c in causes)
            raise ApiError(409, f"Apply failed with {len(conflicts)} conflict(s): {lines}",
                           details=dict(rtype.details(name), causes=causes))
        for other, path in conflicts:
            managers[other]["fields"] = {p for p in managers[other]["fields"] if not _overlaps(p, path)}
        previous = managers.get(manager, {}).get("fields", set()) if managers.get(manager, {}).get(
            "operation") == "Apply" else set()
        new = live
        for path in previous - applied:
            if any(_overlaps(path, a) for a in applied):
                continue
            if any(other != manager and any(_overlaps(path, p) for p in e["fields"])
                   for other, e in managers.items()):
                continue
            new = _without(new, path)
        new = _merged(new, config)
        if applied:
            entry = managers.get(manager)
            if entry is None or entry["operation"] != "Apply" or entry["fields"] != applied:
                managers[manager] = {"operation": "Apply", "time": _now(), "apiVersion": config["apiVersion"],
                                     "fields": applied}
        else:
            managers.pop(manager, None)
        managers = {m: e for m, e in managers.items() if e["fields"]}
        self.validate(rtype, version, ns, new, name)
        return 200, self.out(self.update(rtype, version, ns, name, sub, old, new, manager, dry,
                                         operation="Apply", managers=managers), rtype, version)

    def delete(self, rtype, version, ns, name, dry):
        old = self.existing(rtype, ns, name)
        out = self.out(old, rtype, version)
        if rtype.kind == "Namespace" or old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionTimestamp"):
                return out
            new = dict(old, metadata=dict(old["metadata"]))
            new["metadata"]["deletionTimestamp"] = _now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if rtype.kind == "Namespace":
                new["status"] = {"phase": "Terminating"}
            if dry:
                return self.out(new, rtype, version)
            new["metadata"]["resourceVersion"] = self.store.next_rv()
            self.store.objects[(rtype.group, rtype.plural, ns, name)] = new
            self.store.collect_namespaces()
            if rtype.group == CRD_GROUP:
                self.store._sync_crd_types()
            current = self.store.objects.get((rtype.group, rtype.plural, ns, name))
            return self.out(current or new, rtype, version)
        if not dry:
            self.store._forget((rtype.group, rtype.plural, ns, name))
            self.store.rv += 1
            if rtype.group == CRD_GROUP:
                self.store._sync_crd_types()
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": dict(rtype.details(name), uid=old["metadata"]["uid"])}

    def delete_collection(self, rtype, version, ns, query, dry):
        listing = self.list(rtype, version, ns, query)
        for item in listing["items"]:
            self.delete(rtype, version, item["metadata"].get("namespace"), item["metadata"]["name"], dry)
        return listing


def _normalise_secret(obj, rtype):
    """stringData folds into data (base64) as the real API server does; data must be base64."""
    string_data = obj.pop("stringData", None) or {}
    data = dict(obj.get("data") or {})
    name = obj.get("metadata", {}).get("name", "")
    for key, value in data.items():
        try:
            base64.b64decode(value or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ApiError(422, f'Secret "{name}" is invalid: data[{key}]: Invalid value: must be base64 '
                                "(value not shown)", details=rtype.details(name)) from None
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data or "data" in obj:
        obj["data"] = data


def _validate_crd(obj, name):
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    problems = []
    for field, value in (("spec.group", spec.get("group")), ("spec.names.plural", names.get("plural")),
                         ("spec.names.kind", names.get("kind")), ("spec.versions", spec.get("versions"))):
        if not value:
            problems.append(f"{field}: Required value")
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        problems.append("spec.scope: Unsupported value: must be Namespaced or Cluster")
    if not problems and name != f"{names['plural']}.{spec['group']}":
        problems.append(f'metadata.name: Invalid value: "{name}": must be spec.names.plural+"."+spec.group')
    if not problems and sum(1 for v in spec["versions"] if v.get("storage")) != 1:
        problems.append("spec.versions: Invalid value: must have exactly one version marked as storage version")
    if problems:
        raise ApiError(422, f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: '
                            + "; ".join(problems),
                       details={"name": name, "group": CRD_GROUP, "kind": "CustomResourceDefinition"})


# ---------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "maia-kube-api-standin"
    disable_nagle_algorithm = True  # else every response waits ~40 ms for a delayed ACK

    def log_message(self, fmt, *args):  # quiet: the request log is the record
        pass

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self):
        server = self.server.standin
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        method = self.command
        code, payload = 500, None
        try:
            if parts in (["healthz"], ["livez"], ["readyz"]):
                code, payload = 200, None
                data = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(data)
                return
            if parts != ["version"] and not server.authorized(self.headers.get("Authorization")):
                raise ApiError(401, "Unauthorized")
            if parts[:2] == ["_standin", "requests"]:
                log = server.request_log_copy()
                if method == "DELETE":
                    server.reset_requests()
                self._send(200, {"requests": log})
                return
            with server.store.lock:
                payload = server.api.discovery(parts) if method == "GET" else None
            if payload is not None:
                code = 200
            else:
                code, payload = server.api.handle(method, parts, query, body, self.headers.get("Content-Type"),
                                                  self.headers.get("User-Agent"))
        except ApiError as exc:
            code, payload = exc.code, exc.status()
        except Exception as exc:  # pylint: disable=broad-except
            code = 500
            payload = ApiError(500, f"stand-in internal error: {type(exc).__name__}: {exc}",
                               reason="InternalError").status()
        # recorded before the answer goes out, so a client never sees its request missing from the log
        server.record(method, url.path, url.query, code, self.headers.get("Content-Type"),
                      self.headers.get("User-Agent"), round((time.monotonic() - started) * 1000, 1))
        self._send(code, payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context = None

    def finish_request(self, request, client_address):
        # TLS handshake in the request's own thread, so a slow client cannot block accept()
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return None
        try:
            return super().finish_request(conn, client_address)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):  # client hang-ups are not our business
        pass


class KubeApiStandin:
    """The stand-in server. Use as a context manager, or ``start()``/``stop()``.

    host, port
        where to listen (port 0: a free port)
    token
        the bearer token clients must send (random when not given)
    tls_dir
        where the CA (``ca.crt``/``ca.key``, reused when present), the server
        certificate and the kubeconfig are written (a temporary directory when not given)
    tls
        False serves plain HTTP (the kubeconfig then has an http:// server)
    server_address
        host (or host:port) written into the kubeconfig, when clients reach the
        server under another address than ``host`` (e.g. ``--host 0.0.0.0``)
    crd_establish_delay
        seconds before a new CRD becomes Established and served
    """

    def __init__(self, host="127.0.0.1", port=0, token=None, tls_dir=None, tls=True,
                 server_address=None, crd_establish_delay=0.0, extra_sans=(), state_file=None):
        self.host, self.port = host, int(port)
        self.token = token or secrets.token_urlsafe(24)
        self._tmp = None
        if tls_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="maia-kube-api-")
            tls_dir = self._tmp.name
        self.tls_dir = Path(tls_dir)
        self.tls = tls
        self.server_address = server_address
        self.extra_sans = list(extra_sans)
        self.store = Store(crd_establish_delay=crd_establish_delay)
        self.state_file = Path(state_file) if state_file else None
        self._saved_rv = None
        self._stopping = threading.Event()
        self._saver = None
        self.api = None
        self.request_log = []
        self._log_lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self.kubeconfig = None

    # -- request log
    def record(self, method, path, query, status, content_type, user_agent, ms=None):
        with self._log_lock:
            self.request_log.append({"method": method, "path": path, "query": query, "status": status,
                                     "content_type": content_type, "user_agent": user_agent, "ms": ms})

    def request_log_copy(self):
        with self._log_lock:
            return list(self.request_log)

    def request_counts(self, user_agent_prefix=None):
        """Counter of "METHOD path" over the request log (optionally only one client's requests)."""
        return collections.Counter(
            f"{e['method']} {e['path']}" for e in self.request_log_copy()
            if user_agent_prefix is None or (e["user_agent"] or "").startswith(user_agent_prefix))

    def reset_requests(self):
        with self._log_lock:
            self.request_log.clear()

    def authorized(self, header):
        if not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[len("Bearer "):].strip().encode(), self.token.encode())

    # -- direct access for tests (no request is logged)
    def get_object(self, api_version, kind, name, namespace=None):
        """The stored object (a copy) or None, without going through HTTP."""
        group, _, version = api_version.rpartition("/")
        with self.store.lock:
            for t in self.store.types.values():
                if t.group == group and t.kind == kind:
                    obj = self.store.objects.get((group, t.plural, namespace if t.namespaced else None, name))
                    return _clone(Api.out(obj, t, version)) if obj else None
        return None

    # -- lifecycle
    @property
    def url(self):
        host = self.server_address or self.host
        if ":" in host and not host.startswith("[") and host.count(":") > 1:
            host = f"[{host}]"
        if not re.search(r":\d+$", host):
            host = f"{host}:{self.port}"
        return f"{'https' if self.tls else 'http'}://{host}"

    def start(self):
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.tls_dir, 0o700)
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.standin = self
        self.port = self._httpd.server_address[1]
        self.api = Api(self.store, address=f"{self.server_address or self.host}:{self.port}")
        if self.tls:
            sans = [self.host, "127.0.0.1", "localhost", "kubernetes", "kubernetes.default.svc"]
            if self.server_address:
                sans.append(re.sub(r":\d+$", "", self.server_address))
            cert, key = ensure_tls(self.tls_dir, sans + self.extra_sans)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self._httpd.ssl_context = ctx
        self.kubeconfig = str(self.write_kubeconfig(self.tls_dir / "kubeconfig"))
        if self.state_file is not None:
            if self.state_file.exists():
                self.store.load(json.loads(self.state_file.read_text()))
            self._saved_rv = self.store.rv
            self._saver = threading.Thread(target=self._save_loop, name="kube-api-standin-state", daemon=True)
            self._saver.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="kube-api-standin", daemon=True)
        self._thread.start()
        return self

    def save_state(self):
        """Write the objects to ``state_file`` (0600: it holds Secrets) when they changed since the last save."""
        if self.state_file is None or self.store.rv == self._saved_rv:
            return
        data = self.store.dump()
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.state_file)
        self._saved_rv = data["rv"]

    def _save_loop(self):
        while not self._stopping.wait(0.5):
            self.save_state()

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self._stopping.set()
        if self._saver is not None:
            self._saver.join()
            self._saver = None
        self.save_state()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def ca_cert_pem(self):
        return (self.tls_dir / "ca.crt").read_text() if self.tls else ""

    @property
    def ca_key_pem(self):
        return (self.tls_dir / "ca.key").read_text() if self.tls else ""

    def kubeconfig_dict(self, server=None):
        cluster = {"server": server or self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_cert_pem.encode()).decode()
        return {"apiVersion": "v1", "kind": "Config", "preferences": {},
                "clusters": [{"name": "maia-standin", "cluster": cluster}],
                "users": [{"name": "maia-standin-admin", "user": {"token": self.token}}],
                "contexts": [{"name": "maia-standin",
                              "context": {"cluster": "maia-standin", "user": "maia-standin-admin"}}],
                "current-context": "maia-standin"}

    def kubeconfig_text(self, server=None):
        return yaml.safe_dump(self.kubeconfig_dict(server), sort_keys=False)

    def write_kubeconfig(self, path, server=None):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.kubeconfig_text(server))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)  # atomic: a reader never sees a half-written kubeconfig
        return path


def ensure_tls(tls_dir, sans):
    """A CA (kept when ``ca.crt``/``ca.key`` exist) and a fresh server certificate for ``sans``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    tls_dir = Path(tls_dir)
    ca_crt, ca_key_file = tls_dir / "ca.crt", tls_dir / "ca.key"
    now = datetime.datetime.now(datetime.timezone.utc)

    def _write(path, data):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)

    def _key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    if ca_crt.exists() and ca_key_file.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
    else:
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "10.152.183.1")])
        ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
                   .sign(ca_key, hashes.SHA256()))
        _write(ca_key_file, _key_pem(ca_key))
        _write(ca_crt, ca_cert.public_bytes(serialization.Encoding.PEM))
        os.chmod(ca_crt, 0o644)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alt = []
    for san in dict.fromkeys(s for s in sans if s):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            alt.append(x509.DNSName(san))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(tls_dir / "server.key", _key_pem(key))
    _write(tls_dir / "server.crt", cert.public_bytes(serialization.Encoding.PEM))
    return str(tls_dir / "server.crt"), str(tls_dir / "server.key")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m maia_lab.standins.kube_api",
                                     description="Kubernetes API stand-in (see docs/standins.md)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=16443, help="port (default 16443; 0 picks a free one)")
    parser.add_argument("--token", default=os.environ.get("MAIA_STANDIN_TOKEN"),
                        help="bearer token (default: $MAIA_STANDIN_TOKEN, else random; it is only written "
                             "into the kubeconfig)")
    parser.add_argument("--tls-dir", required=True,
                        help="directory for ca.crt/ca.key (kept), server.crt/key and the kubeconfig")
    parser.add_argument("--kubeconfig", help="also write the kubeconfig here (mode 0600)")
    parser.add_argument("--server-address", help="host[:port] clients use, written into the kubeconfig")
    parser.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    parser.add_argument("--crd-establish-delay", type=float, default=0.0,
                        help="seconds before a new CRD is Established (default 0)")
    parser.add_argument("--extra-san", action="append", default=[],
                        help="another IP or DNS name for the server certificate (repeatable)")
    parser.add_argument("--state-file", help="keep the objects in this JSON file (0600) across restarts")
    args = parser.parse_args(argv)
    server = KubeApiStandin(host=args.host, port=args.port, token=args.token, tls_dir=args.tls_dir,
                            tls=not args.plain_http, server_address=args.server_address,
                            crd_establish_delay=args.crd_establish_delay, extra_sans=args.extra_san,
                            state_file=args.state_file)
    server.start()
    if args.kubeconfig and Path(args.kubeconfig).resolve() != Path(server.kubeconfig).resolve():
        server.write_kubeconfig(args.kubeconfig)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"url": server.url, "kubeconfig": args.kubeconfig or server.kubeconfig,
                      "ca": str(server.tls_dir / "ca.crt") if server.tls else None, "pid": os.getpid()}),
          flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
