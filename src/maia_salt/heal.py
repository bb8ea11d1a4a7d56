"""Self-healing with minions (pillar ``maia:heal``): what the master decides when a host reports.

Two kinds of event reach the master's reactor (``REACTOR``, docs/operations.md, "Self-healing"):

- ``salt/minion/<id>/start``: a minion started (a reboot, a rebuilt host, a restarted daemon);
  the heal re-applies every stage the host runs;
- ``salt/beacon/<id>/maia_heal/<watch>``: the host's ``maia_heal`` beacon saw a watched file or
  service change; the heal re-applies the state that owns that watch (``WATCHES``).

What an event says is data the host sent, not a command: ``decide`` accepts it only when the
host is one of the inventory's and the watch one of ``WATCHES``; the states it returns are
always maia's own. ``Ledger`` keeps, per host and target, when the last heal ran and whether it
failed, in one file on the master, so that heals are rate-limited and a failed heal is reported
once and not retried before ``retry_after``. This module is plain Python (no Salt): the runner
``maia_heal`` gives it the host's pillar and the master's running jobs.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time

# a watch the beacon may name -> the state that owns what it watches
WATCHES = {
    "ufw": "maia.prepare.ufw",
    "nfs": "maia.prepare.nfs",
    "kubernetes": "maia.k8s",
}
# what a host runs: maia.prepare everywhere, the other stages on the control plane
CONTROL_PLANE_STAGES = ("k8s", "core", "admin")
# runner jobs of the master that are orchestrations: no heal while one runs
ORCHESTRATIONS = {f"runner.state.{name}" for name in ("orch", "orchestrate", "orchestrate_single", "orchestrate_high")}
START_TAG = re.compile(r"^salt/minion/(?P<id>[^/]+)/start$")
BEACON_TAG = re.compile(r"^salt/beacon/(?P<id>[^/]+)/maia_heal/(?P<watch>[^/]*)/?$")
DEFAULTS = {"enabled": None, "min_interval": 120, "retry_after": 3600}

# the master's reactor configuration (master config key ``reactor``): both events go to the one
# reaction, which hands them to the runner
REACTION = "salt://maia/reactor/heal.sls"
REACTOR = [
    {"salt/minion/*/start": [REACTION]},
    {"salt/beacon/*/maia_heal/*": [REACTION]},
]


class Refused(ValueError):
    """The event does not name an inventory host and a known watch: nothing is run."""


def parse(tag: str, data: dict | None) -> tuple[str, str]:
    """``(host, watch)`` of an event (watch ``start`` for a minion start); Refused otherwise."""
    data = data if isinstance(data, dict) else {}
    start, beacon = START_TAG.match(tag or ""), BEACON_TAG.match(tag or "")
    match = start or beacon
    if not match:
        raise Refused(f"not a heal event: {tag!r}")
    host = match.group("id")
    if data.get("id") not in (None, host):
        raise Refused(f"event {tag!r} names host {data.get('id')!r} in its data")
    if start:
        return host, "start"
    watch = beacon.group("watch") or str(data.get("watch") or "")
    if watch not in WATCHES:
        raise Refused(f"event {tag!r}: unknown watch {watch!r} (known: {', '.join(sorted(WATCHES))})")
    return host, watch


def settings(maia: dict) -> dict:
    """``maia:heal`` of a host's pillar over ``DEFAULTS``."""
    given = (maia or {}).get("heal") or {}
    return {**DEFAULTS, **{k: v for k, v in given.items() if k in DEFAULTS and v is not None}}


def targets(maia: dict, watch: str) -> list[str]:
    """The states a heal of ``watch`` re-applies on a host with pillar ``maia`` (never a name the
    event gave: ``watch`` is a key of ``WATCHES`` or ``start``)."""
    if watch != "start":
        return [WATCHES[watch]]
    control = "control-plane" in ((maia or {}).get("roles") or [])
    return ["maia.prepare"] + ([f"maia.{stage}" for stage in CONTROL_PLANE_STAGES] if control else [])


def orchestration_running(jobs: list[dict]) -> str | None:
    """The jid of a running orchestration among the master's running jobs, if any."""
    for job in jobs or []:
        if isinstance(job, dict) and job.get("fun") in ORCHESTRATIONS:
            return str(job.get("jid") or "?")
    return None


def decide(host: str, watch: str, maia: dict, jobs: list[dict]) -> tuple[str, list[str]]:
    """``(why not, [])`` or ``("", states)``: whether the heal may run at all (before the ledger)."""
    if (maia or {}).get("host") is None or host not in ((maia or {}).get("hosts") or {}):
        return f"{host} is not a host of the inventory", []
    if settings(maia)["enabled"] is not True:
        return "maia:heal:enabled is not true", []
    running = orchestration_running(jobs)
    if running:
        return f"an orchestration runs (job {running})", []
    return "", targets(maia, watch)


class Ledger:
    """When each (host, target) was last healed and whether that failed: one JSON file, read and
    written under an exclusive lock (the reactor runs heals in parallel processes)."""

    def __init__(self, path: str, now=time.time):
        self.path, self.now = path, now

    @contextlib.contextmanager
    def _locked(self):
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        with open(self.path + ".lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with open(self.path, encoding="utf-8") as fh:
                    entries = json.load(fh)
            except (OSError, ValueError):
                entries = {}
            yield entries
            tmp = f"{self.path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(entries, fh, sort_keys=True)
            os.replace(tmp, self.path)

    def claim(self, host: str, watch: str, min_interval: float, retry_after: float) -> str:
        """Take the slot for a heal of ``watch`` on ``host``: "" when it may run (the start time is
        recorded at once, so a second event in the same moment is turned away), else why not."""
        key, now = f"{host}/{watch}", self.now()
        with self._locked() as entries:
            last = entries.get(key) or {}
            since = now - float(last.get("started", 0))
            if last.get("failed") and since < retry_after:
                return f"the last heal failed {since:.0f} s ago: not retried before {retry_after:.0f} s"
            if since < min_interval:
                return f"healed {since:.0f} s ago (at most one heal per {min_interval:.0f} s)"
            entries[key] = {"started": now, "failed": False}
        return ""

    def release(self, host: str, watch: str) -> None:
        """Give the slot back (the heal did not run: the host was busy)."""
        with self._locked() as entries:
            entries.pop(f"{host}/{watch}", None)

    def finish(self, host: str, watch: str, failed: bool) -> None:
        with self._locked() as entries:
            entries.setdefault(f"{host}/{watch}", {"started": self.now()})["failed"] = bool(failed)


def outcome(ret) -> tuple[str, list[str], list[str]]:
    """``(verdict, changed ids, failed ids)`` of one minion's ``state.sls`` return: verdict
    ``busy`` (another state run holds the host), ``failed`` or ``ok``."""
    if isinstance(ret, list) and any("is running as PID" in str(line) for line in ret):
        return "busy", [], []
    if not isinstance(ret, dict):
        return "failed", [], [str(ret)[:200]]
    changed, failed = [], []
    for key, state in ret.items():
        if not isinstance(state, dict) or "result" not in state:
            continue
        state_id = key.split("_|-")[1] if "_|-" in key else key
        if state.get("result") is False:
            failed.append(state_id)
        elif state.get("changes"):
            changed.append(state_id)
    return ("failed" if failed else "ok"), sorted(changed), sorted(failed)
