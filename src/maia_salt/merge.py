"""The one deep merge of maia-salt (pillar over defaults, overrides over derived values)."""
from __future__ import annotations

import copy


def deep_merge(base: dict, override: dict) -> dict:
    """Return ``base`` updated recursively with ``override`` (override wins).

    Mappings merge key by key; everything else (lists included) is replaced.
    """
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
