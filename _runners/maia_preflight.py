"""Preflight of a MAIA site: every host's read-only checks and the site checks, gathered at once.

``run`` asks every inventory host for ``maia_preflight.check`` (one job, with
minions or over salt-ssh), then adds what only the master can see: whether the
hosts' clocks agree with its own, whether the CONFIG_FOLDER is complete, and
which hosts did not answer. It changes nothing anywhere.

``orch.maia`` runs it as its first step (after the module sync) with
``strict=True``: any error stops the run before a change, with every problem in
one message. ``orch.maia_preflight`` (``maia preflight``) runs it alone and
returns the findings by host.

CLI examples::

    salt-run maia_preflight.run
    salt-run maia_preflight.run ssh=True flags='{"prepare": {"lvm": false}}'
"""
from __future__ import annotations

import json
import logging
import time

import salt.client
from salt.exceptions import SaltRunnerError

# the site's own checks (also those of orch.maia's one-job run, _orch_states/maia_orch.py)
from maia_salt.site_checks import (  # noqa: F401 (clock_findings, MAX_CLOCK_SKEW: the runner's API)
    MAX_CLOCK_SKEW, clock_findings, config_folder_findings, finding as _finding, truthy as _truthy,
)

log = logging.getLogger(__name__)

__virtualname__ = "maia_preflight"

SITE = "site"


def __virtual__():
    return __virtualname__


# ------------------------------------------------------------------ gather


def _master_pillar():
    import salt.pillar

    pillar = salt.pillar.get_pillar(__opts__, __opts__.get("grains", {}), __opts__["id"],
                                    saltenv=__opts__.get("saltenv") or "base").compile_pillar()
    return pillar.get("maia", {}) if isinstance(pillar, dict) else {}


# the stage flags the host checks read (passing a host only what it reads keeps the job small)
FLAGS_READ = {"prepare": ("lvm", "nfs", "nvidia_drivers"), "k8s": ("install_microk8s",)}


def _host_pillars(names, saltenv="base"):
    """{host: {"maia": {host, roles, preflight, prepare, k8s}}}: each host's pillar compiled now
    on the master (as ``salt-run pillar.show_pillar`` does), for the checks to read."""
    import salt.pillar
    import salt.utils.minions

    found = {}
    for name in names:
        _, grains, _ = salt.utils.minions.get_minion_data(name, __opts__)
        compiled = salt.pillar.Pillar(__opts__, grains or {}, name, saltenv).compile_pillar()
        maia = compiled.get("maia", {}) if isinstance(compiled, dict) else {}
        subset = {k: maia[k] for k in ("host", "roles", "preflight") if k in maia}
        for stage, names_ in FLAGS_READ.items():
            subset[stage] = {f: (maia.get(stage) or {})[f] for f in names_ if f in (maia.get(stage) or {})}
        found[name] = {"maia": subset}
    return found


def _ask(hosts, ssh, kwarg, timeout):
    if ssh:
        from salt.client.ssh.client import SSHClient

        # salt-ssh passes arguments as text: JSON, which the module reads back
        kwarg = {key: json.dumps(value) for key, value in kwarg.items()}

        raw = SSHClient(mopts=__opts__).cmd(hosts, "maia_preflight.check", kwarg=kwarg, tgt_type="list", timeout=timeout)
    else:
        with salt.client.get_local_client(__opts__["conf_file"]) as client:
            raw = client.cmd(hosts, "maia_preflight.check", kwarg=kwarg, tgt_type="list", timeout=timeout)
    answers = {}
    for host in hosts:
        ret = (raw or {}).get(host)
        if isinstance(ret, dict) and "return" in ret and "findings" not in ret:
            ret = ret["return"]  # salt-ssh wraps each return
        answers[host] = ret
    return answers


def _no_answer(host, ret, ssh):
    said = str(ret or "").strip().splitlines()
    detail = f": {said[-1][:300]}" if said else ""
    if "is not available" in str(ret):
        return _finding("answer", f"maia_preflight.check is not on {host}{detail}",
                        "sync the modules first (salt-run maia_orch.sync_minions or orch.maia_preflight)")
    fix = ("check the roster entry and that the host takes SSH with the site key" if ssh else
           "start its salt-minion, accept its key, and use the inventory name as its minion id")
    return _finding("answer", f"{host} did not answer{detail}", fix)


def summary_line(report):
    """Every error of a report on one line (what ``maia install`` shows for a failed step)."""
    parts = []
    for host, data in sorted(report["hosts"].items()):
        for f in data["findings"]:
            if f["level"] == "error":
                parts.append(f"{host}: {f['message']} (fix: {f['fix']})")
    return f"preflight found {report['errors']} problem(s): " + "; ".join(parts)


def run(hosts=None, ssh=False, flags=None, settings=None, config_folder=None,
        max_clock_skew=None, strict=False, timeout=300, host_pillars=True, sync=None):
    """
    Check every host of ``hosts`` (default: pillar ``maia:hosts`` of the master)
    and the site. Returns ``{"ok", "errors", "warnings", "hosts": {host:
    {"roles", "checks", "findings"}}, "window": [before, after]}`` with the
    site's own findings under host ``site``.

    hosts
        Host names (minion ids / roster names) or the ``maia:hosts`` dict.
    flags
        Stage flags as ``orch.maia`` passes them to the stages; ``admin``
        (present when the run includes stage 4) checks the admin layer's secrets.
    strict
        Raise with every error on one line when there is any (``orch.maia``);
        otherwise a report with errors carries an ``Error`` key, which fails
        an orchestration step while keeping the findings.
    host_pillars
        Compile each host's pillar here and hand it to the host (default): a
        minion's own copy may predate an inventory change, and a module run
        over salt-ssh has none. With minions the orchestrations pass False:
        their sync step has just made every minion's pillar current, so a
        second compile per host (about 0.15 CPU-s each) would change nothing.
    sync
        With minions: the module kinds to bring up to date first, in the same
        job as the checks (runner ``maia_orch.sync_minions`` with its ``also``):
        on a converged site the module sync costs no job of its own. A minion
        that needed a sync or a pillar refresh is checked again after it. A
        minion that does not answer fails the sync, and with it this run.
    """
    maia = None
    if hosts is None or config_folder is None:
        maia = _master_pillar()
    if hosts is None:
        hosts = maia.get("hosts", {})
    if config_folder is None:
        config_folder = maia.get("config_folder")
    conf = dict((maia or {}).get("preflight") or {})
    conf.update(settings or {})
    max_skew = max_clock_skew if max_clock_skew is not None else conf.get("max_clock_skew", MAX_CLOCK_SKEW)
    names = sorted(hosts)
    report = {"hosts": {}, "window": None}
    if names:
        kwarg = {"flags": flags or {}, "settings": {k: v for k, v in conf.items() if k != "max_clock_skew"},
                 "site": _host_pillars(names) if _truthy(host_pillars) else {}}
        before = time.time()
        if sync and not ssh:
            answers = __salt__["maia_orch.sync_minions"](
                names, tgt_type="list", types=sync, timeout=timeout, also=["maia_preflight.check", kwarg])["also"]
        else:
            answers = _ask(names, ssh, kwarg, timeout)
        after = time.time()
        report["window"] = [before, after]
        times = {}
        for host, ret in answers.items():
            if isinstance(ret, dict) and isinstance(ret.get("findings"), list):
                report["hosts"][host] = {"roles": ret.get("roles", []), "checks": ret.get("checks", []),
                                         "findings": list(ret["findings"]), "time": ret.get("time")}
                times[host] = ret.get("time")
            else:
                report["hosts"][host] = {"roles": [], "checks": [], "findings": [_no_answer(host, ret, ssh)]}
        for host, found in clock_findings(times, before, after, max_skew).items():
            report["hosts"][host]["checks"].append("clock")
            report["hosts"][host]["findings"] += found
    lvm = ((flags or {}).get("prepare") or {}).get("lvm", True)
    site = config_folder_findings(config_folder, lvm_enabled=_truthy(lvm), admin=(flags or {}).get("admin"))
    if not names:
        site.append(_finding("inventory", "no hosts in pillar maia:hosts",
                             "write inventory.yaml in CONFIG_FOLDER and configure the maia ext_pillar"))
    report["hosts"][SITE] = {"roles": [], "checks": ["config_folder"], "findings": site}
    every = [f for data in report["hosts"].values() for f in data["findings"]]
    report["errors"] = sum(1 for f in every if f["level"] == "error")
    report["warnings"] = len(every) - report["errors"]
    report["ok"] = report["errors"] == 0
    if not report["ok"]:
        line = summary_line(report)
        if strict:
            raise SaltRunnerError(line)
        report["Error"] = line
    return report
