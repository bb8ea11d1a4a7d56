"""Patches and field paths: JSON merge patch, strategic merge (as a merge), JSON patch,
and the server-side apply of a configuration with field managers and conflicts.

A field path is a tuple of map keys; lists and scalars are leaves (the stand-in
treats lists as atomic, see docs/standins.md).
"""
from __future__ import annotations

from .kinds import IDENTITY_PATHS, SERVER_METADATA, ApiError, clone, utc_now


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
    doc = clone(doc)
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
                value = clone(_walk(doc, from_tokens))
                if kind == "move":
                    doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
                doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": value}])
                continue
            if not tokens:
                if kind in ("add", "replace"):
                    doc = clone(op["value"])
                    continue
                raise ApiError(422, "cannot remove the whole document")
            parent, last = _walk(doc, tokens[:-1]), tokens[-1]
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), clone(op["value"]))
                else:
                    parent[last] = clone(op["value"])
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = clone(op["value"])
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = clone(op["value"])
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


def get_path(doc, path):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return False, None
        doc = doc[key]
    return True, doc


def without(doc, path, depth=0):
    """A copy of ``doc`` without ``path``; maps it empties are pruned, top-level keys kept (copy-on-write)."""
    key = path[0]
    if not isinstance(doc, dict) or key not in doc:
        return doc
    out = dict(doc)
    if len(path) == 1:
        del out[key]
    else:
        out[key] = without(doc[key], path[1:], depth + 1)
        if out[key] == {} and depth + 1 > 1:
            del out[key]
    return out


def overlaps(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def merged(live, config):
    """``config`` merged into ``live`` (maps merged, everything else replaced; copy-on-write)."""
    out = dict(live)
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(live.get(key), dict):
            out[key] = merged(live[key], value)
        else:
            out[key] = value
    return out


def path_str(path):
    return "." + ".".join(str(p) for p in path)


def fields_v1(paths):
    tree = {}
    for path in sorted(paths, key=lambda p: [str(x) for x in p]):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


def owned_content(obj):
    """The object without server-owned metadata (what field ownership is about; a shallow view)."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    return dict(obj, metadata=meta)


def applied_paths(config):
    """The field paths an apply configuration sets (the fields its manager will own)."""
    return leaf_paths(owned_content(config)) - IDENTITY_PATHS


def apply_entry(config, fields):
    """The field-manager entry of an Apply operation that owns ``fields``."""
    return {"operation": "Apply", "time": utc_now(), "apiVersion": config["apiVersion"], "fields": fields}


def server_side_apply(live, config, managers, manager, force, details):
    """Apply ``config`` to ``live`` for ``manager``: returns (new object, new managers).

    A field another manager owns and the configuration changes is a conflict
    (409 with ``details.causes``) unless ``force``, which moves its ownership.
    Fields the manager applied before and no longer applies are removed, when
    no other manager owns them. ``managers`` is not changed.
    """
    managers = clone(managers)
    applied = applied_paths(config)
    conflicts = []
    for path in applied:
        if get_path(live, path) == (True, get_path(config, path)[1]):
            continue
        for other, entry in managers.items():
            if other != manager and any(overlaps(path, p) for p in entry["fields"]):
                conflicts.append((other, path))
    conflicts.sort(key=lambda c: [str(x) for x in c[1]])
    if conflicts and not force:
        causes = [{"type": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": path_str(p)}
                  for m, p in conflicts]
        lines = "\n".join(f'- {c["message"]}: {c["field"]}' for c in causes)
        raise ApiError(409, f"Apply failed with {len(conflicts)} conflict(s): {lines}",
                       details=dict(details, causes=causes))
    for other, path in conflicts:
        managers[other]["fields"] = {p for p in managers[other]["fields"] if not overlaps(p, path)}
    mine = managers.get(manager, {})
    previous = mine.get("fields", set()) if mine.get("operation") == "Apply" else set()
    new = live
    for path in previous - applied:
        if any(overlaps(path, a) for a in applied):
            continue
        if any(other != manager and any(overlaps(path, p) for p in e["fields"])
               for other, e in managers.items()):
            continue
        new = without(new, path)
    new = merged(new, config)
    if applied:
        if mine.get("operation") != "Apply" or mine.get("fields") != applied:
            managers[manager] = apply_entry(config, applied)
    else:
        managers.pop(manager, None)
    return new, {m: e for m, e in managers.items() if e["fields"]}
