"""Request handling of the API stand-in: routing, the verbs, and the checks of each write.

``Api.handle`` turns one parsed request into (status code, body) on a ``Store``;
the HTTP server (``server.py``) parses requests and writes answers.
"""
from __future__ import annotations

import json
import secrets
import time
import uuid

import yaml

from .admission import check_object, normalise_secret, validate_crd
from .discovery import discovery_document
from .kinds import CRD_GROUP, SERVER_METADATA, ApiError, same_content, utc_now
from .patch import (applied_paths, apply_entry, json_patch, merge_patch, server_side_apply,
                    strategic_merge_patch)
from .schema import (CustomResourceSchema, field_validation, invalid_error, strict_apply_error,
                     strict_decoding_error, version_schema)
from .selectors import parse_field_selector, parse_label_selector
from .store import crd_status, spec_changed


class Api:
    """Turns parsed requests into (status code, body) using a Store."""

    def __init__(self, store, address="127.0.0.1:0"):
        self.store = store
        self.address = address
        self.directive = "Warn"  # fieldValidation of the request being handled
        self.warnings = []  # Warning texts of the request being handled
        self._schemas = {}  # (crd uid, resourceVersion, version) -> CustomResourceSchema

    def discovery(self, parts):
        """The discovery document at ``parts``, or None when it is not one."""
        return discovery_document(self.store.served_types(), parts, self.address)

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

    def handle(self, method, parts, query, body, content_type, user_agent, warnings=None):
        """(status code, body) of one request; ``warnings`` gets the texts of its Warning headers."""
        store = self.store
        with store.lock:
            store.tick()
            self.warnings = warnings if warnings is not None else []
            rtype, version, ns, name, sub = self.route(parts)
            manager = (query.get("fieldManager") or [None])[0] or (user_agent or "unknown").split("/")[0]
            dry = "All" in query.get("dryRun", [])
            if method == "GET":
                if (query.get("watch") or ["false"])[0] in ("true", "1"):
                    raise ApiError(405, "watch is not supported by the Kubernetes API stand-in")
                if name is None:
                    return 200, self.list(rtype, version, ns, query)
                return 200, self.out(self.existing(rtype, ns, name), rtype, version)
            self.directive = field_validation(query)
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

    def schema_of(self, rtype, version):
        """The CustomResourceSchema of a custom resource's served version (None: built-in or no schema)."""
        if rtype.builtin:
            return None
        crd = self.store.objects.get((CRD_GROUP, "customresourcedefinitions", None, f"{rtype.plural}.{rtype.group}"))
        if crd is None:
            return None
        key = (crd["metadata"]["uid"], crd["metadata"]["resourceVersion"], version)
        if key not in self._schemas:
            openapi = version_schema(crd, version)
            if len(self._schemas) > 32:  # CRDs changed often (tests): forget old versions
                self._schemas.clear()
            self._schemas[key] = CustomResourceSchema(openapi) if openapi else None
        return self._schemas[key]

    def conform(self, rtype, version, ns, name, obj, apply=False):
        """A custom resource pruned and validated against its CRD's schema, under the request's
        ``fieldValidation``; an apply configuration is only pruned (the merged object is validated)."""
        schema = self.schema_of(rtype, version)
        if schema is None:
            return obj

        def unknown_error(paths):
            if apply:
                return strict_apply_error(rtype.kind, rtype.api_version(version), ns, name, paths)
            return strict_decoding_error(rtype.kind, version, paths)

        def invalid(causes):
            return invalid_error(rtype.kind, rtype.group, name, causes)

        return schema.check(obj, self.directive, self.warnings, invalid=None if apply else invalid,
                            unknown_error=unknown_error)

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
            obj["status"] = crd_status(obj, delay <= 0)
        if rtype.kind == "Secret":
            obj.setdefault("type", "Opaque")

    # -- verbs
    def create(self, rtype, version, ns, obj, manager, dry, managers=None):
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(meta, dict) and not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = check_object(rtype, version, ns, obj)
        self._check_namespace(rtype, ns)
        if (rtype.group, rtype.plural, ns, name) in self.store.objects:
            raise ApiError(409, f'{rtype.plural}{"." + rtype.group if rtype.group else ""} "{name}" already '
                                "exists", reason="AlreadyExists", details=rtype.details(name))
        obj = dict(obj, metadata={k: v for k, v in obj["metadata"].items() if k not in SERVER_METADATA})
        obj["apiVersion"], obj["kind"] = rtype.api_version(version), rtype.kind
        self._defaults(rtype, obj)
        obj = self.conform(rtype, version, ns, name, obj)
        if dry:
            obj["metadata"].update(name=name, uid=str(uuid.uuid4()), creationTimestamp=utc_now(), generation=1)
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
            normalise_secret(new, rtype)
        if rtype.kind == "CustomResourceDefinition" and sub != "status":
            validate_crd(new, name)
        new = self.conform(rtype, version, ns, name, new)
        meta = new["metadata"]
        if spec_changed(old, new, rtype):
            meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        uid = old["metadata"]["uid"]
        if managers is None:
            managers = self.store._update_managers(uid, old, new, manager, operation, rtype)
        same_managers = ({m: (e["operation"], e["fields"]) for m, e in managers.items()} ==
                         {m: (e["operation"], e["fields"]) for m, e in self.store.managers.get(uid, {}).items()})
        if same_managers and same_content(new, old):
            return old  # a no-op write keeps the resourceVersion
        if dry:
            return new
        return self.store._commit(rtype, ns, name, new, old, manager, operation, managers)

    def replace(self, rtype, version, ns, name, sub, obj, manager, dry):
        check_object(rtype, version, ns, obj, name)
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
        check_object(rtype, version, ns, new, name)
        return 200, self.out(self.update(rtype, version, ns, name, sub, old, new, manager, dry), rtype, version)

    def apply(self, rtype, version, ns, name, sub, config, manager, force, dry):
        """Server-side apply: field ownership per manager, conflicts, removal of dropped fields."""
        check_object(rtype, version, ns, config, name)
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
        config = self.conform(rtype, version, ns, name, config, apply=True)
        if old is None:
            if sub == "status":
                self.existing(rtype, ns, name)  # raises 404
            applied = applied_paths(config)
            managers = {manager: apply_entry(config, applied)} if applied else {}
            obj = self.create(rtype, version, ns, config, manager, dry, managers=managers)
            return 201, self.out(obj, rtype, version)
        if rv is not None and rv != old["metadata"]["resourceVersion"]:
            raise self._conflict(rtype, name)
        new, managers = server_side_apply(self.out(old, rtype, version), config,
                                          self.store.managers.get(old["metadata"]["uid"], {}), manager, force,
                                          rtype.details(name))
        check_object(rtype, version, ns, new, name)
        return 200, self.out(self.update(rtype, version, ns, name, sub, old, new, manager, dry,
                                         operation="Apply", managers=managers), rtype, version)

    def delete(self, rtype, version, ns, name, dry):
        old = self.existing(rtype, ns, name)
        out = self.out(old, rtype, version)
        if rtype.kind == "Namespace" or old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionTimestamp"):
                return out
            new = dict(old, metadata=dict(old["metadata"]))
            new["metadata"]["deletionTimestamp"] = utc_now()
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


