"""Run `maia install` as a user does (in a pipe) and check what it printed against Salt's job cache."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROW = re.compile(r"^(preflight|prepare|k8s|workers|join|core|admin|rancher|dashboard|leaving|worker|others)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)s$")
# rows of orchestration steps that are states on the master (orch.maia's Rancher step and worker
# join, orch.maia_remove_host's worker removal): no stage job
STEP_ROWS = {"rancher", "join", "worker"}
TOTAL = re.compile(r"^(\d+) hosts, (\d+) states, (\d+) changed, (\d+) failed")
STAGE_JOB = re.compile(r"stage \d (prepare|k8s|core|admin|dashboard) on (.+) \(job (\d+)\)$")
PROGRESS = re.compile(r"^\[\s*\d+\.\ds\] (.*)$")
# a plan's (--test) line for each state that would change; its changes and comment follow, indented 6
WOULD_CHANGE = re.compile(r"^  WOULD CHANGE (\S+) on (\S+): (\S+)$")
# Salt's warnings and stack dumps: a `maia` command sends them to its log file (runlog), never to the terminal
NOISE = re.compile(r"TransportWarning|[Uu]nclosed|Traceback")


def assert_quiet(text: str) -> None:
    """What a `maia` or `maia-configure` command printed holds none of Salt's warnings or stack dumps."""
    found = NOISE.search(text)
    assert not found, f"{found[0]!r} in what a maia command printed:\n{text}"


@dataclass
class Row:
    states: int
    changed: int
    failed: int


@dataclass
class InstallRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return f"exit {self.returncode}\n--- stderr\n{self.stderr}\n--- stdout\n{self.stdout}"

    def summary_rows(self) -> dict[tuple[str, str], Row]:
        rows = {}
        for line in self.stdout.splitlines():
            m = ROW.match(line)
            if m:
                assert (m[1], m[2]) not in rows, f"{m[1]} {m[2]} twice in\n{self.stdout}"
                rows[(m[1], m[2])] = Row(int(m[3]), int(m[4]), int(m[5]))
        return rows

    def would_change(self) -> dict[tuple[str, str], dict[str, list[str]]]:
        """A plan's (``--test``) states that would change, per (stage, host): {state: the lines
        that follow its WOULD CHANGE line (its changes, one a key, then its comment), stripped}.
        The plan is the last thing `maia install --test` prints."""
        rows: dict[tuple[str, str], dict[str, list[str]]] = {}
        lines = None
        for line in self.stdout.splitlines():
            m = WOULD_CHANGE.match(line)
            if m:
                lines = rows.setdefault((m[1], m[2]), {}).setdefault(m[3], [])
            elif lines is not None and line.strip():
                lines.append(line.strip())
        return rows

    def stage_jobs(self) -> dict[str, tuple[str, list[str]]]:
        """{stage: (jid, hosts)} from the progress lines."""
        jobs = {}
        for line in self.progress_lines():
            m = STAGE_JOB.search(line)
            if m:
                jobs[m[1]] = (m[3], m[2].split(", "))
        return jobs

    def progress_lines(self, prefix: str = "") -> list[str]:
        found = []
        for line in self.stderr.splitlines():
            m = PROGRESS.match(line)
            if m and m[1].startswith(prefix):
                found.append(m[1])
        return found

    def order_of(self, prefixes: list[str]) -> bool:
        """True when a progress line starting with each prefix appears, in this order."""
        lines = self.progress_lines()
        at = 0
        for prefix in prefixes:
            while at < len(lines) and not lines[at].startswith(prefix):
                at += 1
            if at == len(lines):
                return False
        return True


def maia_bin() -> str:
    return str(Path(sys.executable).with_name("maia"))


def maia_install(lab, *args: str, timeout: float = 3600) -> InstallRun:
    """`maia install -c LABDIR ARGS` with stdout and stderr in pipes (so: plain progress lines)."""
    proc = run_maia("install", "-c", lab.dir, *args, timeout=timeout)
    return InstallRun(proc.returncode, proc.stdout, proc.stderr)


def installed_as_documented(lab, documented_runs, text="maia install") -> InstallRun:
    """The documented `maia install` (or `maia install --ssh`) verbatim from the lab's folder, in a
    pipe (the same run as maia_install, which names the folder with -c); kept in ``documented_runs``
    (support.doc_commands.run_verbatim)."""
    from support.doc_commands import run_verbatim

    proc = run_verbatim(lab, text, documented_runs, timeout=3600)
    assert_quiet(proc.stdout + proc.stderr)
    return InstallRun(proc.returncode, proc.stdout, proc.stderr)


def run_maia(*args: str, timeout: float = 3600, **kw) -> subprocess.CompletedProcess:
    """`maia ARGS` with stdout and stderr in pipes; asserts that neither holds Salt's noise."""
    proc = subprocess.run([maia_bin(), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)
    assert_quiet(proc.stdout + proc.stderr)
    return proc


def start_install(lab, *args: str) -> subprocess.Popen:
    """`maia install` in its own process group (as on a terminal, Ctrl-C reaches salt-run too)."""
    return subprocess.Popen([maia_bin(), "install", "-c", lab.dir, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, start_new_session=True)


def wait_for_line(proc: subprocess.Popen, pattern: str, timeout: float = 600) -> tuple[str, list[str]]:
    """Read proc's stderr until a line matches ``pattern``; (that line, every line read)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        assert_quiet(line)
        if re.search(pattern, line):
            return line, seen
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    """Wait for a started `maia` command to end; (the rest of its stdout, of its stderr), which hold no noise.
    Both are read through the same buffered files as wait_for_line (communicate() would skip what they hold)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        out, err = pool.submit(proc.stdout.read), pool.submit(proc.stderr.read)
        proc.wait(timeout=timeout)
        out, err = out.result(timeout=timeout), err.result(timeout=timeout)
    assert_quiet(out + err)
    return out, err


def ctrl_c(proc: subprocess.Popen) -> None:
    """What a terminal sends on Ctrl-C: SIGINT to the whole foreground process group."""
    import os

    os.killpg(proc.pid, signal.SIGINT)


_JOB_CACHES = {}  # lab folder: (its master's returners, the job cache's name)


def _job_cache(lab):
    """The lab master's job cache as `salt-run jobs.lookup_jid` and `jobs.list_jobs` read it: Salt's own
    job-cache returner (``master_job_cache``, or ``ext_job_cache`` when set) under the master's config,
    loaded once per lab. A `salt-run` process per lookup took about 3 s here, nearly all of it Salt's
    start-up (the runner builds its MasterMinion twice per lookup), and the e2e tests make dozens."""
    if lab.dir not in _JOB_CACHES:
        import salt.config
        import salt.loader

        opts = salt.config.master_config(str(Path(lab.dir, "master")))
        name = opts.get("ext_job_cache") or opts["master_job_cache"]
        _JOB_CACHES[lab.dir] = (salt.loader.returners(opts, {}), name)
    return _JOB_CACHES[lab.dir]


def _as_printed(data):
    """What `salt-run --out json` prints of ``data``, read back (JSON types only)."""
    return json.loads(json.dumps(data, default=str))


def job_returns(lab, jid: str) -> dict:
    """{host: its return} of job ``jid`` in the master job cache, as `salt-run jobs.lookup_jid JID` gives it."""
    returners, name = _job_cache(lab)
    return _as_printed({host: ret.get("return") for host, ret in returners[f"{name}.get_jid"](jid).items()})


def runner_jids(lab, function: str = "runner.state.orch") -> set[str]:
    """The jids of the master's runner jobs of ``function`` in its job cache (`salt-run jobs.list_jobs`)."""
    returners, name = _job_cache(lab)
    jobs = _as_printed(returners[f"{name}.get_jids"]())
    return {jid for jid, job in jobs.items() if isinstance(job, dict) and job.get("Function") == function}


def orchestrated_as_documented(lab, documented_runs, text: str):
    """A documented ``salt-run state.orch orch.maia ...`` verbatim from the lab's folder (kept in
    ``documented_runs``: the documented-commands test checks this run instead of running it again),
    and its report as `maia install` makes it: the orchestration's return and each stage job's
    host returns, read from the master job cache. (process, maia_salt.install.InstallReport)"""
    from maia_salt import summary
    from maia_salt.install import InstallReport
    from support.doc_commands import by_kind, run_verbatim

    assert text in {c.text for c in by_kind("lab")}, f"not a documented lab command: {text}"
    before = runner_jids(lab)
    proc = run_verbatim(lab, text, documented_runs, timeout=3600)
    jids = sorted(runner_jids(lab) - before)
    assert len(jids) == 1, (jids, proc.stdout[-2000:], proc.stderr[-2000:])
    (job,) = job_returns(lab, jids[0]).values()  # {master id: the runner job}, its return under "return"
    results, failed = summary.from_orchestration(job["return"],
                                                 lambda jid, _stage: job_returns(lab, jid) if jid else {})
    return proc, InstallReport(results, failed, 0, proc.returncode)


def states_of(ret) -> dict[str, dict]:
    """A host's return of a state run (or its salt-ssh / full_return wrapper): {state key: its return}."""
    if isinstance(ret, dict) and "return" in ret and not any("_|-" in k for k in ret):
        ret = ret["return"]
    return {key: s for key, s in ret.items() if isinstance(s, dict) and "result" in s}


def counts(ret) -> Row:
    states = list(states_of(ret).values())
    return Row(len(states), sum(1 for s in states if s.get("changes")), sum(1 for s in states if s["result"] is False))


def check_truthful(lab, run: InstallRun, stage_hosts: dict[str, set[str]]) -> dict[tuple[str, str], Row]:
    """Assert the summary has a row for every host of every stage, with the counts of the
    stage job's returns in the master job cache; returns the rows. A row of STEP_ROWS has no job:
    it is one state that did not fail."""
    rows = run.summary_rows()
    assert {stage for stage, _ in rows} == set(stage_hosts), run.text
    for stage, hosts in stage_hosts.items():
        assert {h for s, h in rows if s == stage} == hosts, (stage, run.text)
    for stage, host in rows:
        if stage in STEP_ROWS:
            assert (rows[(stage, host)].states, rows[(stage, host)].failed) == (1, 0), (stage, host, run.text)
    jobs = run.stage_jobs()
    assert set(jobs) == set(stage_hosts) - STEP_ROWS, run.text
    for stage, (jid, hosts) in jobs.items():
        assert set(hosts) == stage_hosts[stage], (stage, hosts, run.text)
        truth = job_returns(lab, jid)
        assert set(truth) == stage_hosts[stage], (stage, jid, sorted(truth))
        for host, ret in truth.items():
            assert rows[(stage, host)] == counts(ret), (stage, host, rows[(stage, host)], counts(ret), run.text)
            assert rows[(stage, host)].states > 0
    total = next(TOTAL.match(line) for line in run.stdout.splitlines() if TOTAL.match(line))
    assert int(total[1]) == len({h for _, h in rows}), run.text
    assert int(total[2]) == sum(r.states for r in rows.values()), run.text
    assert int(total[3]) == sum(r.changed for r in rows.values()), run.text
    # every host's result was shown as it arrived, not only at the end
    for stage, host in rows:
        assert any(line.startswith(f"{stage:<8} {host} ") for line in run.progress_lines()), (stage, host, run.stderr)
    return rows


def job_states(lab, run: InstallRun, rows) -> dict[tuple[str, str], dict[str, dict]]:
    """Every state's return in ``rows`` ((stage, host)) of ``run``, changed or not, read from its
    stage jobs in the master job cache (a row of STEP_ROWS has no job): {row: {state id: return}}."""
    from maia_salt import summary

    found = {}
    jobs = run.stage_jobs()
    for stage in sorted({stage for stage, _ in rows} & set(jobs)):
        for host, ret in job_returns(lab, jobs[stage][0]).items():
            if (stage, host) in rows:
                found[(stage, host)] = {summary.state_id(key): s for key, s in states_of(ret).items()}
    return found


def outcome(state: dict) -> str:
    """One line for a state's return: its result, whether it has changes, its comment."""
    comment = " ".join(str(state.get("comment", "")).split())
    return f"result {state.get('result')}, {'changes' if state.get('changes') else 'no changes'}: {comment}"


def rows_explained(want: dict, got: dict, named: dict[str, dict], said: dict[str, dict] | None = None) -> str:
    """Each row ((stage, host)) where two summaries differ (``want``, ``got``: {row: Row}), with
    the states that changed or would change there as each run of ``named`` ({label: {row: {state:
    lines}}}, e.g. InstallRun.would_change()) names them: those all name, then each run's others
    with their lines, then what a run said of the states it does not name (``said``: {label: {row:
    {state id: return}}}, e.g. job_states). So a failure names the state and why, not only the count."""
    out = []
    for row in sorted(set(want) | set(got)):
        if want.get(row) == got.get(row):
            continue
        by_run = {label: rows.get(row, {}) for label, rows in named.items()}
        common = set.intersection(*map(set, by_run.values())) if by_run else set()
        every = set().union(*map(set, by_run.values())) if by_run else set()
        out.append(f"{row[0]} on {row[1]}: {want.get(row)} expected, {got.get(row)} found")
        out.append(f"  named by every run ({len(common)}): {', '.join(sorted(common)) or '-'}")
        for label, states in by_run.items():
            others = sorted(set(states) - common)
            out.append(f"  {label} ({len(states)} states) names also: {', '.join(others) or '-'}")
            for state in others:
                out += [f"    {state}"] + [f"      {line}" for line in states[state]]
        for label, states in by_run.items():
            returns = (said or {}).get(label, {}).get(row, {})
            for state in sorted(every - set(states)):
                told = outcome(returns[state]) if state in returns else "no such state in its job"
                out.append(f"  {label} of {state}: {told}")
    return "\n".join(out) or "no row differs"
