"""What a server-side apply would change, decided without asking the API server.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"):
plain functions of JSON-like values, imported by ``_modules/maia_kube.py``; no Salt
dunders, no requests.
"""

# metadata fields the server owns; ignored when deciding whether an object changed
SERVER_METADATA = (
    "resourceVersion",
    "managedFields",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
)


def comparable(obj, keep_status=False):
    """What an apply can change: no server-owned metadata and (unless applying status) no status,
    which controllers rewrite all the time (e.g. an ArgoCD Application's)."""
    if obj is None:
        return None
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    if not meta.get("annotations"):
        meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    out = dict(obj, metadata=meta)
    if not keep_status:
        out.pop("status", None)
    return out


def diff_paths(before, after, prefix=""):
    """Dotted paths (no values) where two JSON-like values differ."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{prefix}.{key}" if prefix else str(key)
            if key not in before or key not in after:
                out.append(sub)
            else:
                out.extend(diff_paths(before[key], after[key], sub))
        return out
    if before != after:
        return [prefix or "."]
    return []


# fields every apply names; the API server tracks no owner for them
IDENTITY_PATHS = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}


def _same_scalar(want, have):
    return want == have and (type(want) is type(have)
                             or not isinstance(want, bool) and not isinstance(have, bool))


def _covered(want, have):
    """True when every field ``want`` sets has the same value in ``have``.

    Maps are compared key by key (``have`` may hold more: defaults, other
    managers' fields); lists item by item, with the same length; ``None``, an
    empty map and an empty list are covered by a missing field. Scalars must be
    equal (``True`` is not ``1``)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return not want and have is None
        for key, value in want.items():
            if value is None or value == [] or value == {}:
                if have.get(key) not in (None, value) and not (value == {} and isinstance(have.get(key), dict)):
                    return False
            elif key not in have or not _covered(value, have[key]):
                return False
        return True
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(
            _covered(w, h) for w, h in zip(want, have)
        )
    return _same_scalar(want, have)


def _leaf_paths(value, prefix=()):
    """Field paths an apply of ``value`` owns: maps are walked, lists and scalars are leaves."""
    if isinstance(value, dict) and value:
        out = set()
        for key, sub in value.items():
            out |= _leaf_paths(sub, prefix + (str(key),))
        return out
    return {prefix} if prefix else set()


def _fields_v1_paths(node, prefix=()):
    """The paths of a ``managedFields[].fieldsV1`` tree, at the granularity of
    ``_leaf_paths``: a field whose entries are list items (``k:``, ``v:``, ``i:``)
    counts as one leaf, like the list in a manifest."""
    keys = [k for k in (node or {}) if k != "."]
    if not keys:
        return {prefix} if prefix else set()
    if any(not k.startswith("f:") for k in keys):
        return {prefix} if prefix else set()
    out = set()
    for key in keys:
        out |= _fields_v1_paths(node[key], prefix + (key[2:],))
    return out


def _owned_paths(live, field_manager):
    """Paths ``field_manager`` owns through server-side apply (None: it has no Apply entry)."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if (entry.get("manager") == field_manager and entry.get("operation") == "Apply"
                and not entry.get("subresource")):
            return _fields_v1_paths(entry.get("fieldsV1") or {})
    return None


def apply_is_noop(manifest, live, field_manager):
    """
    True when a server-side apply of ``manifest`` by ``field_manager`` would
    leave ``live`` as it is, decided without asking the API server:

    - ``live`` holds every value the manifest sets (defaults and other managers'
      fields may be there too), and
    - ``field_manager`` owns exactly the fields the manifest sets (so the apply
      would neither remove a field dropped from the manifest nor take over one
      another manager changed).

    False means "apply it": a value the server stores in another form (a
    quantity ``0.5`` stored as ``500m``) costs one apply that then reports no
    change, never a missed change.
    """
    if live is None or (live.get("metadata") or {}).get("deletionTimestamp"):
        return False
    content = {k: v for k, v in manifest.items() if k != "status"}
    owned = _owned_paths(live, field_manager) or set()  # none: a manifest of name and kind only
    if owned - IDENTITY_PATHS != _leaf_paths(content) - IDENTITY_PATHS:
        return False
    return _covered(content, live) and _covered(manifest.get("status") or {}, live.get("status") or {})
