"""The object store: objects, resourceVersion, field managers, CRD-defined types, namespaces."""
from __future__ import annotations

import threading
import time
import uuid

from .kinds import (BUILTIN_KINDS, CRD_GROUP, DEFAULT_NAMESPACES, IDENTITY_PATHS,
                    ResourceType, clone, utc_now)
from .patch import fields_v1, get_path, leaf_paths, overlaps, owned_content


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
        return crd is not None and is_established(crd)

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
                    obj = clone(self.objects[key])
                    obj["status"] = crd_status(obj, True)
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
            meta["creationTimestamp"] = utc_now()
            meta["generation"] = 1
        meta["resourceVersion"] = self.next_rv()
        key = (rtype.group, rtype.plural, ns, name)
        uid = meta["uid"]
        if managers is None:
            managers = self._update_managers(uid, old, obj, manager, operation, rtype)
        self.managers[uid] = managers
        meta["managedFields"] = render_managers(managers)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._forget(key)
        else:
            self.objects[key] = obj
        if rtype.group == CRD_GROUP:
            self._sync_crd_types()
        self.collect_namespaces()
        return obj

    def _update_managers(self, uid, old, new, manager, operation, rtype):
        managers = clone(self.managers.get(uid, {})) if old is not None else {}
        new_c = owned_content(new)
        new_paths = leaf_paths(new_c)
        if old is None:
            changed = new_paths
        else:
            old_c = owned_content(old)
            changed = {p for p in new_paths if get_path(old_c, p) != get_path(new_c, p)}
        changed -= IDENTITY_PATHS
        if not changed:
            return managers
        for entry in managers.values():
            entry["fields"] = {p for p in entry["fields"] if not any(overlaps(p, c) for c in changed)}
        entry = managers.setdefault(manager, {"operation": operation, "fields": set()})
        entry.update(operation=operation, time=utc_now(), apiVersion=new.get("apiVersion"))
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
                        obj = clone(obj)
                        obj["metadata"]["deletionTimestamp"] = utc_now()
                        obj["metadata"]["resourceVersion"] = self.next_rv()
                        self.objects[okey] = obj
                else:
                    self._forget(okey)
            if not any(k[2] == name for k in self.objects) and not ns_obj["metadata"].get("finalizers"):
                self._forget(key)


def is_established(crd):
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def crd_status(crd, established):
    spec = crd.get("spec") or {}
    now = utc_now()
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
         "message": "no conflicts found", "lastTransitionTime": now},
        {"type": "Established", "status": "True" if established else "False",
         "reason": "InitialNamesAccepted" if established else "Installing",
         "message": "the initial names have been accepted" if established else "the CRD is being established",
         "lastTransitionTime": now},
    ]
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    return {"conditions": conditions, "acceptedNames": clone(spec.get("names") or {}),
            "storedVersions": stored}


def render_managers(managers):
    return [{"manager": m, "operation": e["operation"], "apiVersion": e.get("apiVersion"),
             "time": e.get("time") or utc_now(), "fieldsType": "FieldsV1", "fieldsV1": fields_v1(e["fields"])}
            for m, e in sorted(managers.items())]


def spec_changed(old, new, rtype):
    skip = {"metadata", "status"} if rtype.status_sub else {"metadata"}
    keys = (set(old) | set(new)) - skip
    return any(old.get(k) != new.get(k) for k in keys)

