"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>."""
from __future__ import annotations

import collections

from .kinds import VERSION_INFO


def discovery_document(types, parts, address):
    """The document at path ``parts`` for the served ``types``, or None when the path is not discovery."""
    if parts == ["version"]:
        return VERSION_INFO
    if parts == ["api"]:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}
    if parts == ["api", "v1"]:
        return _resource_list("", "v1", types)
    groups = collections.OrderedDict()
    for t in types:
        if t.group:
            vs = groups.setdefault(t.group, [])
            vs.extend(v for v in t.versions if v not in vs)
    if parts == ["apis"]:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [_group(g, vs) for g, vs in groups.items()]}
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
        return dict(_group(parts[1], groups[parts[1]]), kind="APIGroup", apiVersion="v1")
    if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], []):
        return _resource_list(parts[1], parts[2], types)
    return None


def _group(name, versions):
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def _resource_list(group, version, types):
    resources = []
    for t in types:
        if t.group == group and version in t.versions:
            resources.extend(t.discovery(version))
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}
