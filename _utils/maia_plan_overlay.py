"""What the earlier steps of one plan on a new site would have made (host-side library).

``maia install --test`` on a site with no cluster yet: stages 3 and 4 read an empty cluster, so
each of their states predicts a creation (docs/orchestration.md, "The plan on a new site"). The
dashboard step then applies stage 4's Applications again; on its own it would predict every
creation a second time, where a real run finds them made by the admin step. So, under
``test=True`` with the pillar ``maia:orch:plan`` (an id the orchestration sets only for a plan on a
new site), a state that predicts a change on a cluster it cannot read records it here, and a
later state of the same plan that reads the same object compares with the record.

A record holds fingerprints, never values: for each leaf of the object's desired view, a keyed
hash (HMAC-SHA256, the key a random one per plan file) of its JSON. Two records differ in the
leaves whose fingerprints differ, which names fields as a real patch does, without values.

The file is ``<cachedir>/maia_plan/<plan>.json`` (0600); files of earlier plans older than a day
are removed when one is written. Plain functions, no Salt dunders.
"""
import hashlib
import hmac
import json
import os
import re
import secrets
import time

FOLDER = "maia_plan"
KEEP_SECONDS = 86400


class Overlay:
    """The records of one plan, read from and written to its file."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            data = {}
        self.key = bytes.fromhex(data.get("key") or secrets.token_hex(32))
        self.records = data.get("records") or {}

    def fingerprint(self, value):
        """``{dotted path: keyed hash}`` of every leaf of ``value``."""
        out = {}
        for path, leaf in _leaves(value):
            digest = hmac.new(self.key, json.dumps(leaf, sort_keys=True).encode(), hashlib.sha256)
            out[path] = digest.hexdigest()[:32]
        return out

    def get(self, what):
        """The record of ``what`` (a name such as ``Application argocd/x``), or None."""
        return self.records.get(what)

    def differs(self, what, value):
        """The dotted paths where ``value`` differs from the record of ``what`` (None: no record)."""
        return self._differs(self.get(what), self.fingerprint(value))

    @staticmethod
    def _differs(recorded, now):
        if recorded is None:
            return None
        return sorted(p for p in set(recorded) | set(now) if recorded.get(p) != now.get(p))

    def record(self, what, value):
        """Record ``value`` as what an earlier step of the plan would have made of ``what``."""
        self.records[what] = self.fingerprint(value)
        self._save()

    def predict(self, what, value, save=True):
        """What a state predicts for ``what`` when it cannot read the cluster: ``None`` (no record:
        it would be created), ``[]`` (as an earlier step of the plan would leave it) or the paths
        that step would leave different. Recorded for the steps after it (saved unless ``save`` is
        false: the caller saves once for many)."""
        now = self.fingerprint(value)
        fields = self._differs(self.get(what), now)
        if fields != []:
            self.records[what] = now
            if save:
                self._save()
        return fields

    def predict_objects(self, objects):
        """``predict`` for each of ``objects`` (``{name: object}``), as a summary of
        ``maia_kube.apply_manifests``: the names it would create, the fields it would change.
        The file is written once."""
        summary = {"objects": len(objects), "created": [], "changed": []}
        for what, value in objects.items():
            planned = self.predict(what, value, save=False)
            if planned is None:
                summary["created"].append(what)
            else:
                summary["changed"].extend(planned)
        if summary["created"] or summary["changed"]:
            self._save()
        return summary

    def _save(self):
        folder = os.path.dirname(self.path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        _prune(folder, keep=os.path.basename(self.path))
        tmp = f"{self.path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"key": self.key.hex(), "records": self.records}, fh)
        os.replace(tmp, self.path)


def active(opts, pillar):
    """The overlay of this run's plan, or None: only under ``test=True`` with ``maia:orch:plan``."""
    if not opts.get("test"):
        return None
    plan = str((((pillar or {}).get("maia") or {}).get("orch") or {}).get("plan") or "")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", plan):
        return None
    return Overlay(os.path.join(opts.get("cachedir") or "/var/cache/salt/minion", FOLDER, f"{plan}.json"))


def _leaves(value, prefix=""):
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            yield from _leaves(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _leaves(item, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix or ".", value


def _prune(folder, keep):
    cutoff = time.time() - KEEP_SECONDS
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            if name != keep and os.stat(path).st_mtime < cutoff:
                os.unlink(path)
        except OSError:
            pass
