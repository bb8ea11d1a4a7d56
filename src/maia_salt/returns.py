"""The stage jobs of a running orchestration (``orch.maia`` and the day-2 ones) and
their hosts' returns, as they arrive.

Two sources, one shape (:class:`JobStarted`, :class:`HostReturned`, :class:`StepStarted`):

- :class:`EventBus` (master and minions): the master's event bus. ``salt/job/<jid>/new``
  names the hosts of a ``state.sls`` job, ``salt/job/<jid>/ret/<host>`` carries a
  host's return the moment the master gets it, ``salt/run/<jid>/new`` a runner
  step of the orchestration (module sync, reboot wait, kubeconfig fetch).
- :class:`JobCache` (salt-ssh): salt-ssh needs no master, so there may be no
  event bus; it writes every host's return into the master job cache
  (``local_cache``) as the host answers. This polls the cache for jobs that
  started after the watch began.

Only ``state.sls`` jobs of the orchestration's stages (its ``sls_stage``, e.g.
``maia.prepare``, ``maia.k8s``, ``maia.core`` for ``orch.maia``) are reported; a
job's arguments (which carry pillar) never leave this module.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from .orchestrations import INSTALL

STEP_OF_RUNNER = {
    "maia_preflight.run": "preflight",
    "maia_hosts.drop_host": "inventory",
    "maia_orch.sync_minions": "sync",
    "maia_orch.wait_for_reboots": "reboots",
    "maia_kubeconfig.fetch_kubeconfig": "kubeconfig",
    "maia_rancher.local_kubeconfig": "rancher",
}


@dataclass
class JobStarted:
    jid: str
    stage: str
    hosts: list[str] = field(default_factory=list)


@dataclass
class HostReturned:
    jid: str
    stage: str
    host: str
    ret: object


@dataclass
class StepStarted:
    step: str


def stage_of(fun: str, args, sls_stage: dict | None = None) -> str | None:
    """The stage a job runs: ``state.sls maia.prepare`` -> ``prepare`` (``sls_stage``, orch.maia's
    by default); None for anything else."""
    if fun not in ("state.sls", "state.apply") or not args:
        return None
    first = args[0]
    if isinstance(first, dict):  # state.apply mods=...
        first = first.get("mods")
    return (INSTALL.sls_stage if sls_stage is None else sls_stage).get(str(first))


def run_of(args) -> str | None:
    """The maia command run that started a stage job or an orchestration: pillar ``maia:orch:run``
    in its arguments (the orchestrations pass it on to every stage), None when the job carries none."""
    for arg in args or []:
        pillar = arg.get("pillar") if isinstance(arg, dict) else None
        if isinstance(pillar, dict):
            run = ((pillar.get("maia") or {}).get("orch") or {}).get("run")
            return str(run) if run else None
    return None


def unwrap(ret):
    """A host's own return out of the wrappers around it (event payload, job cache, salt-ssh)."""
    while isinstance(ret, dict) and "return" in ret and not any("_|-" in str(k) for k in ret):
        ret = ret["return"]
    return ret


ORCHESTRATE = ("state.orch", "state.orchestrate")


def _runner_step(tag: str, parts: list[str], data: dict, orchs: set | None, run: str | None) -> list:
    """A runner step of an orchestration. Without ``run``: every runner job's start
    (``salt/run/<jid>/new``). With ``run``: the orchestrations started with that mark in their
    pillar are remembered (``orchs``), and only the runner steps they announce
    (``salt/run/<orchestration jid>/args``, which Salt fires before each runner step) are steps."""
    fun = str(data.get("fun", "")).removeprefix("runner.")
    if not run:
        step = STEP_OF_RUNNER.get(fun) if parts[3] == "new" else None
        return [StepStarted(step)] if step else []
    if orchs is None:
        return []
    if parts[3] == "new" and fun in ORCHESTRATE and run_of(data.get("fun_args")) == run:
        orchs.add(parts[2])
    elif parts[3] == "args" and parts[2] in orchs and data.get("type") == "runner":
        step = STEP_OF_RUNNER.get(str(data.get("name", "")))
        if step == "preflight" and (data.get("kwargs") or {}).get("sync"):
            step = "sync-preflight"  # orch.maia with minions: the module sync rides in the preflight's job
        return [StepStarted(step)] if step else []
    return []


def from_event(tag: str, data: dict, stages: dict, sls_stage: dict | None = None, run: str | None = None,
               orchs: set | None = None) -> list:
    """Records of one master event; ``stages`` ({jid: stage}) remembers the stage jobs seen start.
    With ``run``, only the jobs of that run (:func:`run_of`): another orchestration's are not shown;
    ``orchs`` then remembers the jids of this run's orchestration (for its runner steps)."""
    parts = tag.split("/")
    if tag.startswith("salt/run/") and len(parts) == 4:
        return _runner_step(tag, parts, data, orchs, run)
    if not tag.startswith("salt/job/") or len(parts) < 4:
        return []
    jid = parts[2]
    if parts[3] == "new":
        stage = stage_of(str(data.get("fun", "")), data.get("arg"), sls_stage)
        if stage is None or (run and run_of(data.get("arg")) != run):
            return []
        stages[jid] = stage
        return [JobStarted(jid, stage, sorted(data.get("minions") or []))]
    if parts[3] == "ret" and len(parts) == 5:
        # salt-ssh fires ret events too (with no "new" event before them) when a master runs
        stage = stages.get(jid)
        if stage is None and not (run and run_of(data.get("fun_args")) != run):
            stage = stage_of(str(data.get("fun", "")), data.get("fun_args"), sls_stage)
        if stage is None:
            return []
        return [HostReturned(jid, stage, parts[4], unwrap(data))]
    return []


class EventBus:
    """The master's event bus (listening from before the run starts, so nothing is missed)."""

    def __init__(self, opts: dict, sls_stage: dict | None = None, run: str | None = None):
        import salt.utils.event

        self._sls_stage = sls_stage
        self._run = run
        self._event = salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=True)
        self._stages: dict[str, str] = {}
        self._orchs: set[str] = set()

    def poll(self, wait: float) -> list:
        found = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            item = self._event.get_event(wait=max(left, 0.01), full=True, no_block=left <= 0)
            if item:
                found += from_event(item.get("tag", ""), item.get("data") or {}, self._stages, self._sls_stage,
                                    self._run, self._orchs)
            if not item or left <= 0:
                return found

    def close(self) -> None:
        self._event.destroy()


class JobCache:
    """The master job cache (``local_cache``), polled for stage jobs newer than the watch."""

    def __init__(self, opts: dict, sls_stage: dict | None = None, run: str | None = None):
        import salt.loader

        self._sls_stage = sls_stage
        self._run = run
        self._opts = opts
        self._jobs = os.path.join(opts["cachedir"], "jobs")
        self._returners = salt.loader.returners(opts, {})
        self._since = time.time() - 1
        self._seen_dirs: set[str] = set()
        self._tries: dict[str, int] = {}
        self._open_jobs: dict[str, tuple[str, set[str]]] = {}  # jid -> (stage, hosts not returned yet)
        self._reported: set[tuple[str, str]] = set()
        self.usable = opts.get("master_job_cache", "local_cache") == "local_cache"

    def _new_jobs(self) -> list[tuple[str, str]]:
        """(job folder, jid) of the job folders made since the watch began and not read yet."""
        jobs = []
        try:
            tops = list(os.scandir(self._jobs))
        except FileNotFoundError:
            return jobs
        for top in tops:
            try:
                if not top.is_dir() or top.stat().st_mtime < self._since:
                    continue
                for sub in os.scandir(top.path):
                    if sub.path in self._seen_dirs or sub.stat().st_mtime < self._since:
                        continue
                    with open(os.path.join(sub.path, "jid"), encoding="utf-8") as fh:
                        jobs.append((sub.path, fh.read().strip()))
            except FileNotFoundError:
                continue  # being made (or cleaned): next poll
        return jobs

    def _load(self, path: str, jid: str) -> dict | None:
        """The job's load once salt-ssh has written all of it (None: not yet, try again)."""
        try:
            load = self._returners["local_cache.get_load"](jid) or {}
        except Exception:  # pylint: disable=broad-except  # .minions.p not written yet
            load = {}
        tries = self._tries.get(path, 0) + 1
        self._tries[path] = tries
        if (not load or "Minions" not in load) and tries < 20:
            return None
        self._seen_dirs.add(path)
        return load

    def poll(self, wait: float) -> list:
        time.sleep(wait)
        if not self.usable:
            return []
        found = []
        for path, jid in self._new_jobs():
            load = self._load(path, jid)
            if load is None:
                continue
            stage = stage_of(str(load.get("fun", "")), load.get("arg"), self._sls_stage)
            if stage is None or (self._run and run_of(load.get("arg")) != self._run):
                continue
            hosts = sorted(load.get("Minions") or [])
            self._open_jobs[jid] = (stage, set(hosts))
            found.append(JobStarted(jid, stage, hosts))
        for jid, (stage, waiting) in list(self._open_jobs.items()):
            for host, ret in sorted((self._returners["local_cache.get_jid"](jid) or {}).items()):
                if (jid, host) not in self._reported:
                    self._reported.add((jid, host))
                    waiting.discard(host)
                    found.append(HostReturned(jid, stage, host, unwrap(ret)))
            if not waiting and any(j == jid for j, _ in self._reported):
                del self._open_jobs[jid]  # every host named in the job has answered
        return found

    def close(self) -> None:
        pass
