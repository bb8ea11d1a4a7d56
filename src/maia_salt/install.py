"""``maia install``: run orch.maia with Salt's own tools, show it as it goes, then sum it up.

The orchestration does the work (``salt-run state.orch orch.maia``, with minions
or over salt-ssh when ``maia:orch:ssh`` is true). While it runs, this module
follows the stage jobs (:mod:`maia_salt.returns`: the master's event bus with
minions, the master job cache over salt-ssh) and hands every host's return to a
:class:`maia_salt.progress.Progress` the moment it arrives; during stage 3 it
also shows each ArgoCD Application's sync and health (:mod:`maia_salt.app_status`).
The closing summary is built from those same returns, so it names every host of
every stage that ran, also on a run that changes nothing.

A host that is still running an earlier state run (an interrupted ``maia
install``) answers a new stage with Salt's "is running as PID ..." and no
state runs there. The run says so once, naming the hosts and the job; with
``wait`` (or after asking, on a terminal) it waits for that job to end and runs
again.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import eventbus, returns, saltrun, summary
from .terminal import printable
from .inventory import ssh_control_dir
from .orchestrations import INSTALL, ONE_JOB, Orchestration
from .pillar_map import deep_merge
from .progress import Progress
from .run_again import busy_message, silent_hosts, wait_for_jobs


@dataclass
class InstallReport:
    results: list[summary.HostResult]
    failed_steps: list[tuple[str, str]]
    seconds: float
    returncode: int
    raw_error: str = ""
    busy: dict[str, list[str]] = field(default_factory=dict)  # earlier jid -> hosts still running it
    notes: list[str] = field(default_factory=list)  # e.g. a leaving host that did not answer
    data: dict = field(default_factory=dict, repr=False)  # the orchestration's own return

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and not self.failed_steps
            and not self.raw_error
            and all(r.ok for r in self.results)
        )

    @property
    def changed(self) -> int:
        return sum(r.changed for r in self.results)

    def render(self) -> str:
        text = summary.render(self.results, self.seconds)
        for step, comment in self.failed_steps:
            text += f"\n  FAILED step {step}: {comment[:2000]}"
        if self.raw_error:
            text += f"\n  salt-run: {printable(self.raw_error[-2000:])}"
        return text + "".join(f"\n  NOTE {note}" for note in self.notes)


class Interrupted(Exception):
    """Ctrl-C during a run; ``str()`` tells what keeps running on the hosts and how to follow or stop it."""


def salt_bin(name: str) -> str:
    """The Salt script installed beside this interpreter (the venv's), else from PATH."""
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else name


def orch_pillar(stages: list[str] | None, ssh: bool, extra: dict | None) -> dict:
    # run: this command run's mark on its stage jobs (orch.maia passes it on), so that the live
    # progress shows this run's jobs only (returns.run_of)
    maia: dict = {"orch": {"ssh": ssh, "run": uuid.uuid4().hex[:16]}}
    if stages:
        maia["stages"] = list(stages)
    return deep_merge({"maia": maia}, extra or {})


def master_opts(salt_config: str) -> dict:
    import salt.config

    return salt.config.master_config(os.path.join(salt_config, "master"))


class RunWatch:
    """The stage jobs of one run and every host's return, fed to a Progress as they arrive."""

    def __init__(self, progress: Progress | None, split: dict[str, dict[str, str]] | None = None):
        self.progress = progress
        self.split = split or {}  # a one-job step's rows, by stage (Orchestration.split)
        self.returns: dict[str, dict[str, object]] = {}  # jid -> {host: return}
        self.stage_jid: dict[str, str] = {}
        self.job_hosts: dict[str, list[str]] = {}
        self.current: tuple[str, str] | None = None  # (stage, jid) of the stage job running now

    def feed(self, record) -> None:
        if isinstance(record, returns.StepStarted):
            if self.progress:
                self.progress.step(record.step)
        elif isinstance(record, returns.JobStarted):
            self.stage_jid[record.stage] = record.jid
            self.job_hosts[record.jid] = record.hosts
            self.current = (record.stage, record.jid)
            if self.progress:
                self.progress.stage_started(record.stage, record.hosts, record.jid)
        elif isinstance(record, returns.HostReturned):
            if record.stage not in self.stage_jid:  # salt-ssh returns with no job start seen
                self.stage_jid[record.stage] = record.jid
                self.current = (record.stage, record.jid)
            self.job_hosts.setdefault(record.jid, [])
            if record.host not in self.job_hosts[record.jid]:
                self.job_hosts[record.jid].append(record.host)
            self.returns.setdefault(record.jid, {})[record.host] = record.ret
            if self.progress:
                for result in summary.host_results(record.stage, record.host, record.ret, self.split.get(record.stage)):
                    self.progress.host_done(result)

    def running_hosts(self) -> list[str]:
        """Hosts of the current stage job that have not answered yet."""
        if not self.current:
            return []
        jid = self.current[1]
        return [h for h in self.job_hosts.get(jid, []) if h not in self.returns.get(jid, {})]

    def lookup(self, jid: str | None, stage: str) -> dict | None:
        """Every host's return of the stage's job. Over salt-ssh the step's ``__jid__`` is the
        jid the host's salt-call reported, not the job's jid in the master job cache (where
        ``jobs.lookup_jid`` finds nothing under it): then the stage's job seen on the way."""
        if jid in self.returns:
            return self.returns[jid]
        seen = self.stage_jid.get(stage)
        return self.returns.get(seen) if seen else None


def _job_lookup(salt_config: str):
    def lookup_job(jid: str) -> dict:
        job = saltrun.run(["-c", salt_config, "--out", "json", "--log-level", "quiet", "jobs.lookup_jid", jid],
                          timeout=120)
        try:
            return json.loads(job.stdout)
        except json.JSONDecodeError:
            return {}

    return lookup_job


def interrupted_message(salt_config: str, ssh: bool, watch: RunWatch, command: str = "maia install") -> str:
    """What keeps running after Ctrl-C, and the commands to follow it or stop it."""
    if not watch.current:
        return "interrupted before any stage started on the hosts; nothing is left running there."
    stage, jid = watch.current
    hosts = watch.running_hosts() or watch.job_hosts.get(jid, [])
    who = ", ".join(hosts) if hosts else "its hosts"
    if ssh:
        follow = f"salt-ssh -c {salt_config} -L {','.join(hosts) or '<hosts>'} saltutil.running"
        stop = f"salt-ssh -c {salt_config} -L {','.join(hosts) or '<hosts>'} saltutil.kill_job <jid shown by saltutil.running>"
    else:
        follow = f"salt-run -c {salt_config} jobs.active   (its returns: salt-run -c {salt_config} jobs.lookup_jid {jid})"
        stop = f"salt -c {salt_config} -L {','.join(hosts) or '<hosts>'} saltutil.kill_job {jid}"
    return (
        f"interrupted: {who} carry on with stage {stage} (job {jid}); Salt does not stop a state run "
        "when the command that started it ends. The later stages do not start.\n"
        f"  follow it: {follow}\n"
        f"  stop it:   {stop}\n"
        f"  then run {command} again" + (" (--wait waits for a state run still going on a host)." if command == "maia install" else ".")
    )


def _run_once(salt_config, opts, orchestration, pillar, ssh, test, timeout, progress) -> tuple[InstallReport, RunWatch]:
    cmd = [
        "-c", salt_config, "--out", "json", "--log-level", "quiet",
        "state.orch", orchestration.sls, f"pillar={json.dumps(pillar)}",
    ]
    if test:
        cmd.append("test=True")
    watch = RunWatch(progress, orchestration.split)
    # every orchestration passes this run's mark on to its stage jobs (orch/steps.jinja mark_run)
    run = ((pillar.get("maia") or {}).get("orch") or {}).get("run")
    source = _source(opts, ssh, progress, orchestration, run)
    apps = None
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, _ctrl_c() as ctrl_c:
        proc = saltrun.SaltRunChild(cmd, out, err)  # salt-run, without a second start of Salt
        try:
            while True:
                done = proc.poll() is not None
                for record in _poll(source, 0.1 if done else 0.5, progress):
                    watch.feed(record)
                if ctrl_c.is_set():
                    _stop(proc)
                    raise Interrupted(interrupted_message(salt_config, ssh, watch, orchestration.command))
                if done:
                    break
                if time.monotonic() - started > timeout:
                    proc.terminate()
                if progress and watch.current and watch.current[0] in ("core", "admin", ONE_JOB) and apps is None:
                    apps = _start_app_watch(opts)
                if apps is not None and apps.latest is not None and progress:
                    progress.app_status(apps.latest)
        except eventbus.Terminated:  # SIGTERM/SIGHUP to maia: salt-run ends too (the hosts' jobs go on)
            _stop(proc)
            raise
        finally:
            if source:
                source.close()
            if apps is not None:
                apps.stop()
                if apps.latest is not None and progress and not ctrl_c.is_set():
                    progress.app_status(apps.latest)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    try:
        data = json.loads(stdout)
        if not isinstance(data, dict):
            raise ValueError(data)
    except ValueError:  # also json.JSONDecodeError
        return InstallReport([], [], seconds, proc.returncode or 1,
                             raw_error=(stderr or stdout).strip() or "no output"), watch
    lookup_job = _job_lookup(salt_config)

    def returns_of(jid, stage):
        seen = watch.lookup(jid, stage)
        if seen is None and jid:
            seen = lookup_job(jid)  # the watch missed the job (e.g. no event bus): ask the job cache
        return seen

    results, failed_steps = summary.from_orchestration(data, returns_of, orchestration)
    if progress:  # a step that is a row of its own has no job to follow: shown when its return is known
        for r in results:
            if r.stage in orchestration.step_rows.values() and (r.stage, r.host) not in progress.done:
                progress.host_done(r)
    report = InstallReport(results, failed_steps, seconds, proc.returncode, busy=summary.busy_hosts(results),
                           data=data["data"] if isinstance(data.get("data"), dict) else data)
    return report, watch


def _source(opts, ssh, progress, orchestration, run=None):
    """Where the returns come from as they arrive: the event bus (minions), the job cache (salt-ssh);
    with ``run``, that run's stage jobs only."""
    if opts is None:
        return None
    try:
        if ssh:
            return returns.JobCache(opts, orchestration.sls_stage, run)
        return returns.EventBus(opts, orchestration.sls_stage, run)
    except Exception as exc:  # pylint: disable=broad-except
        if progress:
            progress.note(f"no live progress ({type(exc).__name__}: {exc}); the summary follows at the end")
        return None


def _poll(source, wait: float, progress) -> list:
    """The source's new records; a source that fails is dropped (the summary then asks the job cache)."""
    if source is None or getattr(source, "broken", False):
        time.sleep(wait)
        return []
    try:
        return source.poll(wait)
    except Exception as exc:  # pylint: disable=broad-except
        source.broken = True
        if progress:
            progress.note(f"live progress stopped ({type(exc).__name__}: {str(exc)[:200]}); the summary follows at the end")
        return []


def _start_app_watch(opts):
    from .app_status import ApplicationWatch

    watch = ApplicationWatch(opts)
    watch.start()
    return watch


@contextlib.contextmanager
def _ctrl_c():
    """Ctrl-C sets an event instead of raising KeyboardInterrupt wherever the main thread is
    (Salt's event client swallows it); the run loop checks the event."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.set())
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(proc: saltrun.SaltRunChild) -> None:
    """salt-run got the terminal's SIGINT too; make sure it ends (the hosts' jobs go on)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_orchestration(
    salt_config: str,
    stages: list[str] | None = None,
    ssh: bool = False,
    pillar: dict | None = None,
    test: bool = False,
    timeout: float = 3600,
    progress: Progress | None = None,
    wait: bool | None = False,
    orchestration: Orchestration = INSTALL,
) -> InstallReport:
    """Run ``orchestration`` (orch.maia unless told) once (again after waiting, see ``wait``)
    and return its report.

    ``wait``: when hosts still run an earlier state run, True waits for it and runs
    again, False stops with a report that names them, None asks ``progress``."""
    try:
        opts = master_opts(salt_config)
    except Exception as exc:  # pylint: disable=broad-except
        opts = None
        if progress:
            progress.note(f"cannot read {salt_config}/master ({exc}); no live progress")
    if ssh:
        ssh_control_dir()  # the roster's shared-connection sockets live there
    # agentless, usually no salt-master runs: without a bus each runner event waits 1 s (eventbus.py)
    with eventbus.master_bus(opts) if ssh else contextlib.nullcontext():
        return _run_until_not_busy(salt_config, opts, orchestration, stages, ssh, pillar, test, timeout, progress,
                                   wait)


def _run_until_not_busy(salt_config, opts, orchestration, stages, ssh, pillar, test, timeout, progress, wait):
    started = time.monotonic()
    notes: list[str] = []  # of earlier attempts, carried into the report returned
    while True:
        report, _ = _run_once(salt_config, opts, orchestration, orch_pillar(stages, ssh, pillar), ssh, test, timeout,
                              progress)
        report.seconds = time.monotonic() - started  # with the waits and earlier attempts
        report.notes[:0] = notes
        silent = silent_hosts(report.results, report.raw_error) if ssh and not notes else []
        if silent:
            # Once: the orchestration is idempotent, so the run again finishes what the dropped
            # session left; its report is the one returned, with this attempt named in a note.
            notes.append(f"{', '.join(silent)} sent no reply over ssh in the first attempt "
                         f"({report.changed} states had changed by then); ran the orchestration again")
            if progress:
                progress.note(notes[-1] + " ...")
                progress.done.clear()  # the attempt's hosts show again as the run again reaches them
            continue
        if not report.busy:
            return report
        if progress:
            progress.note(busy_message(report.busy))
        go_on = wait if wait is not None else bool(progress and progress.ask(
            "Wait for it to end, then run again?"))
        if not go_on or opts is None or ssh:
            if progress:
                how = "run maia install --wait to wait for it" if orchestration is INSTALL else "wait for it to end"
                progress.note(f"{how}, or see it with: salt-run -c {salt_config} jobs.active")
            return report
        wait_for_jobs(opts, report.busy, progress)


def default_salt_config() -> str:
    return os.environ.get("SALT_CONFIG_DIR", "/etc/salt")
