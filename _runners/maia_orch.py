"""Runner steps of orch.maia that run on the master side.

``sync_minions``: syncs only the kinds of extension modules maia-salt ships
(modules, states, grains, utils), and only to minions whose copy differs from
the master's, and refreshes the master's copy of every minion's pillar.
``saltutil.sync_all`` plus ``refresh_pillar`` on every run cost more than
stage 1 itself on a converged site (docs/performance.md).

``wait_for_reboots``: stage 1 schedules a reboot where it installed an NVIDIA
driver, and marks it with a file under /run (a tmpfs, so the mark is gone once
the host has rebooted). This waits until every marked host answers again
without the mark, so stage 2 never starts on a host that is going down.

CLI examples::

    salt-run maia_orch.sync_minions '*'
    salt-run maia_orch.sync_minions 'I@maia:host:address:*' tgt_type=compound types='[modules, states]'
    salt-run maia_orch.wait_for_reboots '[maia-node-0, maia-node-1]' tgt_type=list
    salt-run maia_orch.wait_for_reboots '*' ssh=True timeout=900
"""
import logging
import re
import time

import salt.client
import salt.fileserver
from salt.exceptions import SaltRunnerError

log = logging.getLogger(__name__)

__virtualname__ = "maia_orch"

REBOOT_MARKER = "/run/maia-reboot-pending"
SYNC_TYPES = ("modules", "states", "grains", "utils", "beacons")
# the files saltutil.sync_<kind> copies (salt.utils.extmods.sync)
SYNCED_FILE = re.compile(r"\.(pyx?|so|zip)$")
# kinds saltutil can sync to a minion
SYNCABLE = ("modules", "states", "grains", "utils", "renderers", "returners", "output", "executors",
            "serializers", "matchers", "beacons", "engines", "proxymodules", "sdb", "log_handlers")


def __virtual__():
    return __virtualname__


def _master_hashes(kinds, saltenv):
    """What ``maia_extmods.hashes`` returns on a minion that is in sync."""
    fs = salt.fileserver.Fileserver(__opts__)
    found = {}
    for path in fs.file_list({"saltenv": saltenv}):
        kind, _, rel = path.partition("/")
        if (kind.startswith("_") and kind[1:] in kinds and SYNCED_FILE.search(rel)
                and "__pycache__" not in rel.split("/")):
            found[f"{kind[1:]}/{rel}"] = fs.file_hash({"path": path, "saltenv": saltenv})["hsum"]
    return found


def _no_answer(ret) -> str:
    # LocalClient gives None or a "Minion did not return. [...]" text for a minion that did not answer
    said = str(ret or "").strip().splitlines()
    return "did not answer (is its salt-minion running and connected?)" + (f": {said[0]}" if said else "")


def _job(client, expected, tgt, tgt_type, funs, args, timeout):
    """{minion: {fun: return}} of one job with several functions, for every minion
    ``expected`` to answer or that did; None for a minion that did not answer."""
    raw = client.cmd(tgt, funs, args, tgt_type=tgt_type, timeout=timeout)
    return {minion: raw.get(minion) for minion in sorted(set(expected) | set(raw))}


def sync_minions(tgt, tgt_type="glob", types=SYNC_TYPES, saltenv="base", timeout=300, also=None):
    """
    Bring the extension modules of ``types`` up to date on every minion of
    ``tgt`` and refresh the master's copy of each minion's pillar (what
    ``I@`` targeting reads).

    One job asks every minion for its module hashes (``maia_extmods.hashes``)
    and compiles its pillar (``maia_extmods.pillar_current``: the master caches
    the pillar; the job returns only whether the minion's pillar in memory, which
    it matches ``I@`` targets against, is still the current one). Only minions
    whose modules differ from the master's, or whose pillar in memory is stale,
    get a second job: ``saltutil.sync_<kind>`` for each kind and
    ``saltutil.refresh_pillar`` (which also reloads modules and grains). Returns
    ``{"minions": n, "up_to_date": n, "synced": {minion: [kind.module, ...]}}``;
    raises when a minion does not answer or a step fails.

    also
        ``[function, {keyword: value}]``: one more function for the same check
        job (another runner's read-only question, e.g. the preflight's), so that
        a converged site answers it without a job of its own. A minion that
        gets synced or refreshed is asked again after that, with its new modules
        and pillar. Its answers come back under ``"also"``: ``{minion: return}``.
    """
    if isinstance(types, str):
        types = [t.strip() for t in types.split(",") if t.strip()]
    types = list(types)
    unknown = sorted(set(types) - set(SYNCABLE))
    if unknown:
        raise SaltRunnerError(f"maia_orch.sync_minions: unknown module kinds {unknown}; use some of {SYNCABLE}")
    wanted = _master_hashes(types, saltenv)
    failed = {}
    with salt.client.get_local_client(__opts__["conf_file"]) as client:
        expected = client.gather_minions(tgt, tgt_type)
        if not expected:
            raise SaltRunnerError(f"no minion matches {tgt!r} ({tgt_type}): are the minion keys accepted "
                                  "and the minion ids the host names of inventory.yaml?")
        funs, args = ["maia_extmods.hashes", "maia_extmods.pillar_current"], [[types, __opts__["hash_type"]], []]
        if also:
            funs.append(also[0])
            args.append([dict(also[1] or {}, __kwarg__=True)])
        checked = _job(client, expected, tgt, tgt_type, funs, args, timeout)
        stale = []
        for minion, ret in checked.items():
            if not isinstance(ret, dict):
                failed[minion] = _no_answer(ret)
            elif ret.get("maia_extmods.hashes") != wanted:  # also: maia_extmods not there yet
                stale.append(minion)
            elif ret.get("maia_extmods.pillar_current") is not True:  # stale pillar in memory, or an error
                if ret.get("maia_extmods.pillar_current") is not False:
                    failed[minion] = f"pillar: {str(ret.get('maia_extmods.pillar_current')).strip()[-500:]}"
                else:
                    stale.append(minion)
        synced = {}
        if stale:
            funs = [f"saltutil.sync_{kind}" for kind in types] + ["saltutil.refresh_pillar"]
            args = [[f"saltenv={saltenv}", "refresh=False"] for _ in types] + [["wait=True"]]
            for minion, ret in _job(client, stale, stale, "list", funs, args, timeout).items():
                bad = {fun: out for fun, out in (ret or {}).items()
                       if out is not True and not (fun.startswith("saltutil.sync_") and isinstance(out, list))}
                if not isinstance(ret, dict) or bad:
                    failed[minion] = ("; ".join(f"{fun}: {str(out).strip()[-500:]}" for fun, out in bad.items())
                                      if isinstance(ret, dict) else _no_answer(ret))
                    continue
                synced[minion] = [mod for fun, out in ret.items() if isinstance(out, list) for mod in out]
        answers = {minion: (ret or {}).get(also[0]) if isinstance(ret, dict) else ret
                   for minion, ret in checked.items()} if also else {}
        if also and synced:  # asked again with the modules and pillar they have now
            again = client.cmd(sorted(synced), also[0], kwarg=dict(also[1] or {}), tgt_type="list", timeout=timeout)
            answers.update({minion: (again or {}).get(minion) for minion in synced})
    if failed:
        raise SaltRunnerError(
            "module sync and pillar refresh failed on "
            + "; ".join(f"{minion}: {why}" for minion, why in sorted(failed.items()))
        )
    done = {"minions": len(checked), "up_to_date": len(checked) - len(stale), "synced": synced}
    if also:
        done["also"] = answers
    return done


def _marker_states(tgt, tgt_type, ssh, marker, timeout):
    """{host: True/False} for the hosts that answered ``file.file_exists marker``."""
    if ssh:
        from salt.client.ssh.client import SSHClient

        raw = SSHClient(mopts=__opts__).cmd(tgt, "file.file_exists", [marker], tgt_type=tgt_type, timeout=timeout)
    else:
        with salt.client.get_local_client(__opts__["conf_file"]) as client:
            raw = client.cmd(tgt, "file.file_exists", [marker], tgt_type=tgt_type, timeout=timeout)
    states = {}
    for host, ret in (raw or {}).items():
        if isinstance(ret, dict) and "return" in ret:
            ret = ret["return"]
        if isinstance(ret, bool):
            states[host] = ret
    return states


def wait_for_reboots(tgt, tgt_type="glob", ssh=False, timeout=600, interval=5, marker=REBOOT_MARKER):
    """
    Wait until every host of ``tgt`` that carries ``marker`` has rebooted (answers
    again, without the marker). Returns ``{"rebooted": [...], "waited": seconds}``;
    raises when a host is not back within ``timeout`` seconds.
    """
    started = time.monotonic()
    first = _marker_states(tgt, tgt_type, ssh, marker, timeout=30)
    pending = sorted(host for host, marked in first.items() if marked)
    if not pending:
        return {"rebooted": [], "waited": 0, "comment": "no host has a reboot pending"}
    log.info("waiting for %s to reboot (up to %ss)", ", ".join(pending), timeout)
    waiting = set(pending)
    deadline = started + float(timeout)
    while waiting:
        if time.monotonic() > deadline:
            raise SaltRunnerError(
                f"{', '.join(sorted(waiting))} did not come back from the NVIDIA driver reboot within "
                f"{timeout}s (maia:prepare:nvidia_reboot_timeout); check the console of each host"
            )
        time.sleep(float(interval))
        answered = _marker_states(sorted(waiting), "list", ssh, marker, timeout=10)
        waiting -= {host for host, marked in answered.items() if not marked}
    return {"rebooted": pending, "waited": round(time.monotonic() - started, 1)}

