"""Merging maia-salt's settings into a distribution's own settings file.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"):
plain functions, no Salt dunders.

k3s (``/etc/rancher/k3s/config.yaml``), rke2 (``/etc/rancher/rke2/config.yaml``)
and k0s (``/etc/k0s/k0s.yaml``) read one YAML mapping that a site may have edited
by hand. maia-salt adds its settings to it and keeps everything else:

- mappings merge key by key (a key maia-salt does not set stays as it is);
- lists merge item by item: an item already there stays where it is, a new one
  is appended. An item ``"flag=value"`` (k3s' ``kube-apiserver-arg``) replaces
  the items of the same ``flag=``, so a changed OIDC issuer replaces the old one
  instead of adding a second;
- anything else: maia-salt's value.
"""
import os

import yaml


def read(path):
    """The YAML mapping in ``path``; ``{}`` when the file does not exist or is empty.
    ValueError when it is no YAML, or YAML that is no mapping."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a YAML mapping, not {type(data).__name__}")
    return data



def _flag(item):
    """``"oidc-client-id"`` of ``"oidc-client-id=maia"``; None for other items."""
    if isinstance(item, str) and "=" in item and not item.startswith("="):
        return item.split("=", 1)[0]
    return None


def merged_list(current, wanted):
    """``current`` with each item of ``wanted`` added (see the module docstring)."""
    result = list(current)
    for item in wanted:
        flag = _flag(item)
        if flag is None:
            if item not in result:
                result.append(item)
            continue
        same = [i for i, old in enumerate(result) if _flag(old) == flag]
        if not same:
            result.append(item)
            continue
        result[same[0]] = item
        for index in reversed(same[1:]):
            del result[index]
    return result


def merged(current, wanted):
    """``current`` (a mapping read from the file, or None) with ``wanted`` merged in."""
    result = dict(current or {})
    for key, value in (wanted or {}).items():
        old = result.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            result[key] = merged(old, value)
        elif isinstance(value, list) and isinstance(old, list):
            result[key] = merged_list(old, value)
        else:
            result[key] = value
    return result


def without(current, unwanted):
    """``current`` without maia-salt's ``unwanted`` settings (what a clean removes): list items
    of ``unwanted`` (``"flag=..."`` items by their flag) leave their lists, scalar keys go when
    they still hold maia-salt's value; a list or mapping left empty goes too."""
    result = dict(current or {})
    for key, value in (unwanted or {}).items():
        if key not in result:
            continue
        old = result[key]
        if isinstance(value, dict) and isinstance(old, dict):
            rest = without(old, value)
        elif isinstance(value, list) and isinstance(old, list):
            flags = {_flag(v) for v in value} - {None}
            rest = [i for i in old if i not in value and (_flag(i) is None or _flag(i) not in flags)]
        else:
            rest = None if old == value else old
        if rest in (None, [], {}):
            del result[key]
        else:
            result[key] = rest
    return result
