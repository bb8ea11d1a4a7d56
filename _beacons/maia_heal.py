"""
The ``maia_heal`` beacon (self-healing, pillar ``maia:heal``; docs/operations.md): it watches the
files and services a MAIA stage owns and tells the master when one of them changed.

Stage 1 (``maia.prepare.heal``) configures it on each minion::

    beacons:
      maia_heal:
        - interval: 10
        - disable_during_state_run: true
        - watches:
            ufw: {files: [/etc/ufw/user.rules, /etc/ufw/ufw.conf], services: []}
            nfs: {files: [/etc/exports], services: [nfs-server]}

Every ``interval`` seconds it takes a fingerprint of each watch (sha256 of each file, or
``absent``; ``systemctl is-active`` of each service) and fires
``salt/beacon/<id>/maia_heal/<watch>`` for each watch whose fingerprint differs from the one it
took before. The first look after the minion starts only records them (the master heals a
starting minion anyway). While a state run is in progress Salt skips the beacon and calls
``close``, which forgets the fingerprints: what a state run changes (``maia install``, a heal)
becomes the new reference instead of an event. The event carries the watch's name and which of its files and services
changed, never their content; the master decides what, if anything, to re-apply.
"""
import hashlib
import logging

import salt.utils.beacons
import salt.utils.path

log = logging.getLogger(__name__)

__virtualname__ = "maia_heal"
SEEN = "maia_heal.seen"


def __virtual__():
    return __virtualname__


def validate(config):
    """The configuration must be a list with a ``watches`` mapping of {name: {files, services}}
    (not ``watch``: that word is a requisite in a state's arguments)."""
    if not isinstance(config, list):
        return False, "maia_heal beacon: the configuration must be a list"
    watch = salt.utils.beacons.list_to_dict(config).get("watches")
    if not isinstance(watch, dict) or not watch:
        return False, "maia_heal beacon: 'watches' must map watch names to {files, services}"
    for name, spec in watch.items():
        if not isinstance(spec, dict) or set(spec) - {"files", "services"}:
            return False, f"maia_heal beacon: watch {name} takes files and services only"
        for key in ("files", "services"):
            if not isinstance(spec.get(key) or [], list):
                return False, f"maia_heal beacon: watch {name}: {key} must be a list"
    return True, "Valid beacon configuration"


def _file(path):
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        return f"unreadable: {exc.errno}"


def _service(name):
    if not salt.utils.path.which("systemctl"):
        return "unknown"
    return __salt__["cmd.run_stdout"](["systemctl", "is-active", name], python_shell=False,
                                      ignore_retcode=True, output_loglevel="quiet").strip()


def fingerprints(watch):
    """{watch: {"file:<path>" or "service:<name>": fingerprint}}."""
    return {name: {**{f"file:{p}": _file(p) for p in spec.get("files") or []},
                   **{f"service:{s}": _service(s) for s in spec.get("services") or []}}
            for name, spec in watch.items()}


def beacon(config):
    """One event per watch whose files or services changed since the last look."""
    watch = salt.utils.beacons.list_to_dict(config)["watches"]
    now = fingerprints(watch)
    before = __context__.get(SEEN)
    __context__[SEEN] = now
    if before is None:
        return []
    events = []
    for name, prints in sorted(now.items()):
        changed = sorted(k for k in prints if before.get(name, {}).get(k) != prints[k])
        if changed:
            log.info("maia_heal beacon: %s changed: %s", name, ", ".join(changed))
            events.append({"tag": name, "watch": name, "changed": changed})
    return events


def close(config):
    """Salt calls this instead of ``beacon`` while a state run is in progress: forget the
    fingerprints, so that the next look takes what the run left as the reference."""
    __context__.pop(SEEN, None)
