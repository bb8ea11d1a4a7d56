"""Label and field selectors of list and deletecollection requests."""
from __future__ import annotations

import re

from .kinds import ApiError


def split_selector(text):
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
    for req in split_selector(text or ""):
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
    for req in split_selector(text or ""):
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

