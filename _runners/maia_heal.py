"""
The master's side of self-healing (pillar ``maia:heal``; docs/operations.md, "Self-healing"):
the reactor SLS ``salt://maia/reactor/heal.sls`` hands every minion start and every event of the
hosts' ``maia_heal`` beacon to ``react``.

``react`` takes the event as data (``maia_salt.heal``): it compiles the host's pillar here, runs
nothing for a host outside the inventory, a watch it does not know, a site without
``maia:heal:enabled``, or while an orchestration runs on this master; it rate-limits heals per
host and watch and does not retry a failed heal before ``retry_after``. Then it applies maia's
own states for that watch on that host, logs the result on the master (``maia heal:`` lines in
the master's log) and fires ``maia/heal/<host>/<verdict>``.

CLI example (what the reactor runs)::

    salt-run maia_heal.react tag=salt/beacon/maia-node-1/maia_heal/ufw data='{"id": "maia-node-1"}'
"""
import logging
import os
import time

import salt.client
import salt.pillar
import salt.utils.event
import salt.utils.master
import salt.utils.minions

from maia_salt import heal

log = logging.getLogger(__name__)

__virtualname__ = "maia_heal"
# another state run holds the host (a drift check, a state.apply by hand): ask again this often
BUSY_TRIES, BUSY_WAIT = 6, 10


def __virtual__():
    return __virtualname__


def _host_pillar(host):
    _, grains, _ = salt.utils.minions.get_minion_data(host, __opts__)
    compiled = salt.pillar.Pillar(__opts__, grains or {}, host, "base").compile_pillar()
    return compiled.get("maia", {}) if isinstance(compiled, dict) else {}


def _ledger():
    return heal.Ledger(os.path.join(__opts__["cachedir"], "maia_heal", "ledger.json"))


def _fire(host, verdict, data):
    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as bus:
        bus.fire_event(dict(data, host=host), f"maia/heal/{host}/{verdict}")


def _apply(host, states, timeout):
    """``heal.outcome`` of ``states`` applied on ``host``; while another state run holds the host,
    asked again up to ``BUSY_TRIES`` times, unless an orchestration starts meanwhile."""
    client = salt.client.LocalClient(mopts=__opts__)
    for attempt in range(BUSY_TRIES):
        if attempt:
            time.sleep(BUSY_WAIT)
            if heal.orchestration_running(salt.utils.master.get_running_jobs(__opts__)):
                return "skipped", [], []
        ret = client.cmd(host, "state.sls", [",".join(states)], kwarg={"queue": False}, tgt_type="list",
                         timeout=timeout)
        verdict, changed, failed = heal.outcome(ret.get(host, "did not answer"))
        if verdict != "busy":
            break
    return verdict, changed, failed


def react(tag, data=None, timeout=600):
    """
    Heal the host an event names, if it may: ``{"host", "watch", "verdict", "reason", "states",
    "changed", "failed"}``; verdict ``refused``, ``skipped``, ``busy``, ``ok`` or ``failed``.
    """
    try:
        host, watch = heal.parse(tag, data)
    except heal.Refused as exc:
        log.warning("maia heal: refused: %s", exc)
        return {"verdict": "refused", "reason": str(exc)}
    report = {"host": host, "watch": watch, "states": [], "changed": [], "failed": []}
    maia = _host_pillar(host)
    why_not, states = heal.decide(host, watch, maia, salt.utils.master.get_running_jobs(__opts__))
    if why_not:
        log.debug("maia heal: %s/%s not healed: %s", host, watch, why_not)
        return dict(report, verdict="skipped", reason=why_not)
    limits = heal.settings(maia)
    ledger = _ledger()
    why_not = ledger.claim(host, watch, limits["min_interval"], limits["retry_after"])
    if why_not:
        log.info("maia heal: %s/%s not healed: %s", host, watch, why_not)
        return dict(report, verdict="skipped", reason=why_not)
    log.warning("maia heal: %s/%s: re-applying %s", host, watch, ", ".join(states))
    verdict, changed, failed = _apply(host, states, timeout)
    report.update(states=states, changed=changed, failed=failed, verdict=verdict)
    if verdict in ("busy", "skipped"):
        ledger.release(host, watch)
        why = "an orchestration started" if verdict == "skipped" else "another state run holds the host"
        log.info("maia heal: %s/%s: %s; not healed", host, watch, why)
        return dict(report, reason=why)
    ledger.finish(host, watch, verdict == "failed")
    if verdict == "failed":
        log.error("maia heal: %s/%s FAILED (%s); not retried for %s s: run maia install", host, watch,
                  ", ".join(failed), limits["retry_after"])
    else:
        log.warning("maia heal: %s/%s healed: %d state(s) changed: %s", host, watch, len(changed),
                    ", ".join(changed) or "none")
    _fire(host, verdict, report)
    return report
