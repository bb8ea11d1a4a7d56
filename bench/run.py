#!/usr/bin/env python3
"""`make bench`: wall time of orch.maia on lab hosts, re-runs, zero changes, API calls, memory.

Run as root from the checkout:  .venv/bin/python bench/run.py [--quick] [--sizes 1,3,6] [--full-n 3]
                                [--compare-runs 3] [--compare-only] [--lab-prefix bench]

In one run on this machine, with a fresh lab per size and mode (`bench-m<N>` with
master + minions, `bench-s<N>` salt-ssh only; brought down afterwards, also on errors):

* stage 1 (prepare) on N hosts: first run and second (no-op) run;
* on the `--full-n` lab of each mode: stages 2 and 3 (k8s, core) first and no-op run,
  the Kubernetes API requests of that no-op run per Application (the API stand-in's
  request log), the first run of the later stages (admin), then two no-op runs of all stages
  (their changes must be 0): the first still one job per stage, the second one job per host;
* CPU seconds of each host, the master, salt-run and the machine during every run;
* peak memory, sampled every 0.5 s during every run: the salt-master's process tree,
  the controller (`salt-run` and the `salt-ssh` it starts), and Salt inside each host
  (salt-minion processes, or the salt-ssh thin `python3`);
* the same Applications in isolation (bench/argocd_api_calls.py, 18 Applications);
* beside the MAIA Ansible collection (issue 25; bench/ansible_compare.py): where
  MAIA_ANSIBLE_COLLECTION names the collection's ansible/MAIA/Installation folder (kept outside
  this repository), `--compare-runs` rounds (default 3) of its prepare_hosts.yaml and of
  maia-salt's stage 1 (minions, salt-ssh), each on a fresh 3-host lab (`<prefix>-c<round><a|m|s>`),
  ufw and sudo pre-installed; the ratios are taken within each round. Without the collection
  or Ansible the ratio targets are "not measured", with the reason.

The targets are issue 25's (bench/bench_targets.py); the checks of earlier issues (no change on
a re-run, the API requests of a no-op) are kept beside them. `--lab-prefix` (or
MAIA_BENCH_LAB_PREFIX) names the labs `<prefix>-...` instead of `bench-...`.

STAND-INS (see docs/standins.md): every lab is made with `--standins`: the Kubernetes
API, MicroK8s and the ArgoCD controller are stand-ins, and the lab's pillar switches off the steps
this machine cannot run (LV creation, NFS server start and mounts). The Debian
packages, UFW, PV/VG, users and files of stage 1 are real.

Raw results: bench/results/run-<UTC stamp>.json (and latest.json); the report:
docs/performance.md (`--no-doc` leaves it alone; `--from-json FILE` only rewrites it).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import shlex
import shutil
import ssl
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(BENCH))

import ansible_compare  # noqa: E402
import argocd_api_calls  # noqa: E402  (APP_PATH, CONTROLLER_UA, run)
from bench_targets import checks, cpu_series, find, fmt, slope, targets  # noqa: E402
from lab_bench import mem_available_mib  # noqa: E402
from maia_salt.checks import INSTALL_STAGES  # noqa: E402
from maia_salt.install import run_orchestration  # noqa: E402
from maia_lab.lab.core import Lab, all_labs  # noqa: E402

RESULTS = BENCH / "results"
DOC = REPO / "docs" / "performance.md"
T0 = time.monotonic()
MODES = {"minions": "m", "ssh": "s"}
# the stage-1 setup: only UFW (and the users/sudo it needs) on
UFW_ONLY = {"maia": {"prepare": {"nvidia_drivers": False, "lvm": False, "nfs": False, "cifs": False}}}


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.0f}s] {msg}", flush=True)


# ------------------------------------------------------------------ memory sampling
def _procs() -> dict:
    """pid -> (ppid, network namespace inode, cmdline) of every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            ns = os.stat(f"/proc/{entry.name}/ns/net").st_ino
        except (OSError, IndexError, ValueError):
            continue
        out[int(entry.name)] = (ppid, ns, cmd)
    return out


def _tree(procs: dict, roots) -> set:
    children = collections.defaultdict(list)
    for pid, (ppid, _, _) in procs.items():
        children[ppid].append(pid)
    pids, todo = set(), [r for r in roots if r in procs]
    while todo:
        pid = todo.pop()
        pids.add(pid)
        todo += [c for c in children[pid] if c not in pids]
    return pids


def _rss_pss_kib(pid: int) -> tuple:
    """(Rss, Pss) of a process in KiB, one read of smaps_rollup."""
    found = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key in ("Rss", "Pss"):
                    found[key] = int(line.split()[1])
    except OSError:
        pass
    return found.get("Rss", 0), found.get("Pss", 0)


def _mib(pids) -> tuple:
    """(RSS, PSS) summed over pids, MiB."""
    both = [_rss_pss_kib(p) for p in pids]
    return sum(r for r, _ in both) / 1024, sum(p for _, p in both) / 1024


class PeakMemory(threading.Thread):
    """Peak RSS (MiB) of the master tree, the controller tree and Salt in each host, while running."""

    def __init__(self, lab: Lab, interval: float = 0.5):
        super().__init__(daemon=True)
        self.lab, self.interval, self.stop = lab, interval, threading.Event()
        self.peak = collections.defaultdict(float)
        self.netns = {}
        for h in lab.hosts:
            try:
                self.netns[os.stat(f"/run/netns/{h.netns}").st_ino] = h.name
            except OSError:
                pass

    def sample(self) -> None:
        procs = _procs()
        master = self.lab.state.get("master_pid")
        me = os.getpid()
        # `maia install` runs salt-run's code in a forked child of this process (same command
        # line as this benchmark): every child of ours and its descendants are the controller
        runs = [p for p, (ppid, _, _) in procs.items() if ppid == me]
        values = {"master": _mib(_tree(procs, [master] if master else [])),
                  "controller": _mib(_tree(procs, runs))}
        per_host = collections.defaultdict(list)
        for pid, (_, ns, cmd) in procs.items():
            if ns in self.netns and "salt" in cmd:
                per_host[self.netns[ns]].append(pid)
        values["host_salt"] = max((_mib(p) for p in per_host.values()), default=(0.0, 0.0))
        for key, (rss, pss) in values.items():
            self.peak[key] = max(self.peak[key], rss)
            self.peak[key + "_pss"] = max(self.peak[key + "_pss"], pss)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join()


# ------------------------------------------------------------------ CPU accounting
CLK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a process and its reaped children."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLK  # utime stime cutime cstime


def _cgroup_cpu(dirs) -> float | None:
    """CPU seconds a cgroup used (cgroup v2 cpu.stat), everything a host ran included."""
    for folder in dirs:
        try:
            with open(os.path.join(folder, "cpu.stat")) as fh:
                for line in fh:
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
        except OSError:
            continue
    return None


def _machine_busy() -> float:
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK  # all but idle and iowait


class CpuUse:
    """CPU seconds used during a run: each host's cgroup, the salt-master's tree, the whole machine."""

    def __init__(self, lab: Lab):
        self.lab = lab

    def snap(self) -> dict:
        master = self.lab.state.get("master_pid")
        me = os.times()
        return {"hosts": {h.name: _cgroup_cpu(self.lab.cgroup_dirs(h.name)) for h in self.lab.hosts},
                "master": sum(_proc_cpu(p) for p in _tree(_procs(), [master])) if master else None,
                "controller": me.children_user + me.children_system, "sampler": me.user + me.system,
                "machine": _machine_busy()}

    def __enter__(self):
        self.before, self.started = self.snap(), time.monotonic()
        return self

    def __exit__(self, *exc):
        after = self.snap()
        window = time.monotonic() - self.started
        hosts = [after["hosts"][h] - b for h, b in self.before["hosts"].items()
                 if b is not None and after["hosts"].get(h) is not None]
        self.used = {
            "host_mean": round(sum(hosts) / len(hosts), 2) if hosts else None,
            "host_max": round(max(hosts), 2) if hosts else None,
            "master": None if self.before["master"] is None else round(after["master"] - self.before["master"], 2),
            # salt-run (and salt-ssh) with the job lookups of `maia install`; this benchmark's own sampling
            "controller": round(after["controller"] - self.before["controller"], 2),
            "sampler": round(after["sampler"] - self.before["sampler"], 2),
            "machine": round(after["machine"] - self.before["machine"], 2),
            # the measured window: salt-run and the job lookups after it (longer than the run's wall time)
            "window": round(window, 2),
        }


# ------------------------------------------------------------------ API stand-in request log
def _standin_api(lab: Lab, method: str, path: str = "/_standin/requests") -> dict:
    kc = yaml.safe_load(Path(lab.state["standins_kubeconfig"]).read_text())
    cluster, user = kc["clusters"][0]["cluster"], kc["users"][0]["user"]
    import base64

    ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    req = urllib.request.Request(cluster["server"] + path, method=method,
                                 headers={"Authorization": f"Bearer {user['token']}"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        return json.load(resp)


def read_kind(path: str) -> str:
    """``object`` (one object), ``list`` (a collection) or ``discovery`` for a GET path of the
    Kubernetes API: after /api/v1 or /apis/<group>/<version>, a collection has an odd number of
    segments (``pods``, ``namespaces/x/pods``) and an object an even one (``namespaces/x``,
    ``namespaces/x/pods/y``)."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:] if parts[:1] == ["apis"] else []
    if not rest:
        return "discovery"
    return "list" if len(rest) % 2 else "object"


def api_requests(lab: Lab) -> dict:
    """Requests Salt made since the last call (the log is read and cleared), per Application."""
    log_ = [r for r in _standin_api(lab, "DELETE")["requests"]
            if not (r.get("user_agent") or "").startswith(argocd_api_calls.CONTROLLER_UA)]
    apps = _standin_api(lab, "GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications").get("items", [])
    _standin_api(lab, "DELETE")  # forget the listing above
    per_app = collections.Counter({a["metadata"]["name"]: 0 for a in apps})
    for r in log_:
        match = argocd_api_calls.APP_PATH.match(r["path"])
        if match:
            per_app[match.group(1)] += 1
    reads = collections.Counter(r["path"] for r in log_ if r["method"] == "GET")
    objects = {p: n for p, n in reads.items() if read_kind(p) == "object"}
    lists = {p: n for p, n in reads.items() if read_kind(p) == "list"}
    return {"applications": len(per_app), "requests_total": len(log_),
            "writes": sum(1 for r in log_ if r["method"] != "GET"),
            "reads_max_per_path": max(reads.values(), default=0),
            "read_more_than_once": sorted(p for p, n in reads.items() if n > 1),
            # one object read more than once, and one kind listed more than once, with the counts
            "objects_read": len(objects), "object_reads_max": max(objects.values(), default=0),
            "objects_read_twice": {p: n for p, n in sorted(objects.items()) if n > 1},
            "lists": sum(lists.values()), "lists_repeated": {p: n for p, n in sorted(lists.items()) if n > 1},
            "per_app_max": max(per_app.values(), default=0),
            "per_app_mean": round(sum(per_app.values()) / len(per_app), 2) if per_app else 0,
            "by_method": dict(collections.Counter(r["method"] for r in log_)),
            "top_paths": collections.Counter(f"{r['method']} {re.sub(r'/[^/]+$', '/*', r['path'])}"
                                             for r in log_).most_common(12)}


# ------------------------------------------------------------------ one lab
def orch_steps(data) -> dict:
    """Step id -> seconds of every step of the orchestration's own return (Salt reports each
    state's duration in ms); what the wall time has beyond their sum is salt-run's start, the
    orchestration's render and the job lookups of `maia install`."""
    steps = {}

    def walk(node):
        if isinstance(node, dict):
            if "__id__" in node and isinstance(node.get("duration"), (int, float)):
                steps[node["__id__"]] = round(node["duration"] / 1000, 2)
                return
            for value in node.values():
                walk(value)

    walk(data)
    return steps


def raw_apply(lab: Lab, mode: str, out: dict) -> None:
    """The same stage-1 no-op as one plain `salt '*' state.apply` / `salt-ssh '*' state.apply`,
    without the orchestration: what the state run alone costs, in wall time and CPU per host."""
    pillar = json.dumps(UFW_ONLY)
    with CpuUse(lab) as cpu:
        started = time.monotonic()
        if mode == "ssh":
            done = lab.salt_ssh("*", "state.apply", "maia.prepare", f"pillar={pillar}", "--out", "json", check=False)
        else:
            done = lab.salt("*", "state.apply", "maia.prepare", f"pillar={pillar}", "--out", "json", check=False)
        seconds = round(time.monotonic() - started, 1)
    rec = {"run": "raw state.apply", "seconds": seconds, "ok": done.returncode == 0, "cpu_s": cpu.used}
    out["runs"].append(rec)
    log(f"  {lab.name} raw state.apply maia.prepare: {seconds} s, rc {done.returncode}, CPU s {cpu.used}")


def orch(lab: Lab, mode: str, stages, label: str, out: dict, count_api: bool = False, pillar=None) -> dict:
    if count_api:
        _standin_api(lab, "DELETE")
    with PeakMemory(lab) as mem, CpuUse(lab) as cpu:
        report = run_orchestration(lab.dir, stages=stages, ssh=mode == "ssh", pillar=pillar)
    rec = {"run": label, "stages": stages or list(INSTALL_STAGES), "seconds": round(report.seconds, 1),
           "changed": report.changed, "states": sum(r.states for r in report.results), "ok": report.ok,
           "hosts_seconds": {f"{r.stage}/{r.host}": round(r.seconds, 1) for r in report.results},
           "peak_mib": {k: round(v, 1) for k, v in mem.peak.items()}, "cpu_s": cpu.used}
    rec["steps"] = orch_steps(report.data)
    if count_api:
        rec["api"] = api_requests(lab)
    out["runs"].append(rec)
    log(f"  {lab.name} {label}: {rec['seconds']} s, {rec['states']} states, {rec['changed']} changed, "
        f"ok={rec['ok']}, peak MiB {rec['peak_mib']}, CPU s {rec['cpu_s']}" + (f", API {rec['api']}" if count_api else ""))
    if not report.ok:
        out["error"] = f"{label}: " + report.render()[-3000:]
        raise RuntimeError(out["error"])
    return rec


def scenario(n: int, mode: str, full: bool, prefix: str = "bench") -> dict:
    lab = Lab(f"{prefix}-{MODES[mode]}{n}")
    out = {"mode": mode, "hosts": n, "lab": lab.name, "runs": []}
    log(f"lab {lab.name}: {n} host(s), {mode}" + (", all stages" if full else ""))
    try:
        lab.down()  # leftovers of an interrupted bench
        started = time.monotonic()
        lab.up(hosts=n, minions=mode == "minions", standins=True)
        out["up_seconds"] = round(time.monotonic() - started, 1)
        orch(lab, mode, ["prepare"], "prepare first", out, pillar=UFW_ONLY)
        orch(lab, mode, ["prepare"], "prepare second", out, pillar=UFW_ONLY)
        raw_apply(lab, mode, out)
        if full:
            orch(lab, mode, ["k8s", "core"], "k8s+core first", out)
            orch(lab, mode, ["k8s", "core"], "k8s+core no-op", out, count_api=True)
            later = [s for s in INSTALL_STAGES if s not in ("prepare", "k8s", "core")]
            if later:  # so that the run of all stages below is a no-op (stage 4, admin, since session 13)
                orch(lab, mode, later, "+".join(later) + " first", out)
            # the first run of all stages with these inputs still runs one job per stage; the next
            # one, of a converged site, one job per host (docs/orchestration.md)
            orch(lab, mode, None, "all stages ordered no-op", out, pillar=UFW_ONLY)
            orch(lab, mode, None, "all stages no-op", out, pillar=UFW_ONLY)
    except Exception as exc:  # recorded; the other labs still run
        out.setdefault("error", f"{type(exc).__name__}: {exc}")
        log(f"  {lab.name} FAILED: {out['error'][:2000]}")
    finally:
        started = time.monotonic()
        lab.down()
        out["down_seconds"] = round(time.monotonic() - started, 1)
    return out


# ------------------------------------------------------------------ the Ansible collection beside it
def playbook(lab: Lab, setup: dict, label: str, out: dict, workdir: Path) -> dict:
    """One run of the collection's prepare_hosts.yaml, measured as `orch` measures ours."""
    with PeakMemory(lab) as mem, CpuUse(lab) as cpu:
        rec = ansible_compare.run_playbook(setup, lab, workdir)
    rec.update(run=label, peak_mib={k: round(v, 1) for k, v in mem.peak.items()}, cpu_s=cpu.used)
    out["runs"].append(rec)
    log(f"  {lab.name} collection {label}: {rec['seconds']} s, {rec['changed']} changed, ok={rec['ok']}, "
        f"CPU s {rec['cpu_s']}")
    if not rec["ok"]:
        out["error"] = f"collection {label}: " + rec.get("error", "")
        raise RuntimeError(out["error"])
    return rec


def compare_lab(side: str, name: str, setup: dict) -> dict:
    """A fresh 3-host lab for one side of a round: the collection (`ansible`), `minions` or `ssh`;
    ufw and sudo pre-installed (untimed), then stage 1 (UFW only) twice."""
    lab = Lab(name)
    out = {"side": side, "lab": name, "hosts": ansible_compare.HOSTS, "runs": []}
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    log(f"lab {name}: {ansible_compare.HOSTS} hosts, {side}, stage 1 beside the collection")
    try:
        lab.down()
        started = time.monotonic()
        lab.up(hosts=ansible_compare.HOSTS, minions=side == "minions", standins=side != "ansible")
        out["up_seconds"] = round(time.monotonic() - started, 1)
        out["prepared_seconds"] = ansible_compare.prepare_lab(lab)
        for label in ansible_compare.RUNS:
            if side == "ansible":
                playbook(lab, setup, label, out, workdir)
            else:
                orch(lab, side, ["prepare"], label, out, pillar=UFW_ONLY)
    except Exception as exc:  # recorded; the other sides still run
        out.setdefault("error", f"{type(exc).__name__}: {exc}")
        log(f"  {name} FAILED: {out['error'][:2000]}")
    finally:
        lab.down()  # also ends the ssh connections Ansible kept open (they name the lab key)
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def comparison(setup: dict, rounds: int, modes: list, prefix: str, save) -> dict:
    """Rounds of the collection and maia-salt's stage 1 on fresh labs, one side after the other;
    the ratios are taken within each round."""
    res = dict(setup, rounds=[])
    if not setup["measured"]:
        log(f"comparison with the Ansible collection: not measured: {setup['reason']}")
        return res
    log(f"comparison with the Ansible collection ({setup['collection']}, {setup['ansible']}): {rounds} round(s)")
    for i in range(1, rounds + 1):
        rnd = {"round": i}
        res["rounds"].append(rnd)
        for side in ["ansible", *modes]:
            rnd[side] = compare_lab(side, f"{prefix}-c{i}{side[0]}", setup)
            save()
        log(f"  round {i}: x faster than the collection (first, no-op): {ansible_compare.round_ratios(rnd)}")
    return res


# ------------------------------------------------------------------ machine and report
def salt_version() -> str:
    import salt.version

    return salt.version.__version__


def machine(prefix: str = "bench") -> dict:
    mem_total = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) // 1024
    return {"nproc": os.cpu_count(), "mem_total_mib": mem_total, "mem_available_mib": round(mem_available_mib()),
            "kernel": platform.release(), "debian": Path("/etc/debian_version").read_text().strip(),
            "python": platform.python_version(), "salt": salt_version(), "load": [round(x, 2) for x in os.getloadavg()],
            "other_labs": sorted(lab.name for lab in all_labs() if not lab.name.startswith(prefix + "-"))}


def secs(run) -> str:
    return "-" if run is None else f"{run['seconds']} s" if run["ok"] else f"FAILED after {run['seconds']} s"


def error_summary(text: str) -> str:
    """The failed step's first line and the last exception line of a run's error text."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    step = next((x for x in lines if "FAILED" in x), lines[0] if lines else "")
    exc = [x for x in lines if re.match(r"^[A-Za-z_.]+(Error|Exception)\b.*:", x)]
    return step[:300] + (f" ... {exc[-1][:300]}" if exc else "")


def peak(runs, key):
    """'RSS / PSS MiB' peak of key over runs."""
    if not runs:
        return "-"
    top = lambda k: round(max(r["peak_mib"].get(k, 0) for r in runs))  # noqa: E731
    return f"{top(key)} / {top(key + '_pss')} MiB"


def where_time_goes(res: dict) -> list:
    """Per no-op run of the full-size lab: each orchestration step's duration, what is left of the
    wall time outside the steps, and the same stage 1 as one plain state.apply."""
    lines = ["", f"## Where the time goes ({res['full_n']} hosts, no-op runs)", "",
             "Each step's duration as Salt reports it in the orchestration's return; *outside the steps* is the "
             "rest of the wall time: the `salt-run` process start, the orchestration's render (the master's "
             "pillar for it) and the job lookups of `maia install`. *Plain state.apply* is the same stage-1 "
             "no-op as one `salt '*' state.apply maia.prepare` (or `salt-ssh '*' ...`) without the "
             "orchestration: what the state run itself costs.", "",
             "| mode | run | wall time | steps (seconds) | outside the steps |", "|---|---|---|---|---|"]
    for mode in MODES:
        for run in ("prepare second", "k8s+core no-op", "all stages ordered no-op", "all stages no-op"):
            r = find(res, mode, res["full_n"], run)
            if not r or not r.get("steps"):
                continue
            steps = ", ".join(f"{k.replace('maia-orch-', '')} {v}" for k, v in r["steps"].items())
            rest = round(r["seconds"] - sum(r["steps"].values()), 1)
            lines.append(f"| {mode} | {run} | {r['seconds']} s | {steps} | {rest} s |")
    for mode in MODES:
        raw = find(res, mode, res["full_n"], "raw state.apply")
        if raw:
            cpu = raw.get("cpu_s") or {}
            lines.append(f"| {mode} | plain state.apply maia.prepare | {secs(raw)} | CPU per host {fmt(cpu.get('host_mean'))} "
                         f"(mean), master {fmt(cpu.get('master'))}, controller {fmt(cpu.get('controller'))} | - |")
    return lines


def render(res: dict) -> str:
    m = res["machine"]
    yes = {True: "**met**", False: "**NOT met**", None: "not measured"}
    lines = [
        "# Performance",
        "",
        "Measured by `make bench` (bench/run.py), every figure in one run on one machine; "
        "regenerate with `make bench`. Raw JSON: `bench/results/` (not committed).",
        "",
        f"- Command: `{res['command']}`",
        f"- Run: {res['started']} to {res['finished']} ({res['total_seconds'] / 60:.0f} min)",
        f"- Machine: {m['nproc']} CPUs, {m['mem_total_mib']} MiB memory ({m['mem_available_mib']} MiB available at start), "
        f"kernel {m['kernel']}, Debian {m['debian']}, Python {m['python']}, Salt {m.get('salt') or salt_version()}",
        f"- Load: load average {'/'.join(map(str, m['load']))} at start, "
        f"{'/'.join(map(str, res['machine_end']['load']))} at the end; other labs up at start: "
        f"{', '.join(m['other_labs']) or 'none'}. Other work on this shared VM moves every figure; "
        "compare runs of the same machine and load only.",
        "- Hosts: `maia lab` systemd-nspawn Debian hosts (docs/lab.md), a fresh lab per size and mode. "
        "**Stand-ins** (see docs/standins.md): the Kubernetes API, MicroK8s and the ArgoCD controller; "
        "stage 1 runs without the states this machine cannot run (LV creation, NFS server start and "
        "mounts: the lab's pillar switches them off); what it runs (apt packages, UFW, users) is real.",
        "- Times are the wall time of `salt-run state.orch orch.maia` (`maia install`), first runs "
        "include apt downloads through the lab proxy and, with salt-ssh, the thin deployment (the labs "
        "beside the Ansible collection have `ufw` and `sudo` pre-installed). Stage 1 runs as in issues "
        "15 and 25: only UFW on (`nvidia_drivers`, `lvm`, `nfs`, `cifs` false).",
        "",
        "## Targets (issue 25)",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {v} | {yes[ok]} |" for t, v, ok in targets(res)]
    lines += ["", "Checks kept from earlier issues (8, 15):", "", "| check | measured | |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {yes[ok]} |" for t, v, ok in checks(res)]
    lines += ansible_compare.render(res.get("comparison"))
    lines += ["", "## Stage 1 (prepare) by number of hosts", "",
              "| mode | hosts | lab up | first run | second run (no-op) | no-op changes | second run / 1 host "
              "| state time per host, second run (max) | CPU per host, second run (mean / max) "
              "| master CPU, second run | machine CPU busy, second run "
              "| peak master | peak controller | peak Salt in a host |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode in MODES:
        base = find(res, mode, min(res["sizes"]), "prepare second") if res["sizes"] else None
        for sc in [s for s in res["scenarios"] if s["mode"] == mode]:
            first, second = find(res, mode, sc["hosts"], "prepare first"), find(res, mode, sc["hosts"], "prepare second")
            runs = [r for r in (first, second) if r]
            growth = fmt(round(second["seconds"] / base["seconds"], 2), " x") if second and base else "-"
            state_time = fmt(max(second["hosts_seconds"].values(), default=None)) if second else "-"
            cpu = (second or {}).get("cpu_s") or {}
            busy = "-"
            if cpu.get("machine") is not None and cpu.get("window"):
                capacity = cpu["window"] * res["machine"]["nproc"]
                parts = [f"{k} {cpu[k]} s" for k in ("controller", "sampler") if cpu.get(k) is not None]
                busy = (f"{cpu['machine']} s of {round(capacity, 1)} s ({round(100 * cpu['machine'] / capacity)} %"
                        + (f"; {', '.join(parts)}" if parts else "") + ")")
            lines.append(f"| {mode} | {sc['hosts']} | {fmt(sc.get('up_seconds'))} | {secs(first)} | "
                         f"{secs(second)} | {fmt(second and second['changed'], '')} | {growth} | {state_time} | "
                         f"{fmt(cpu.get('host_mean'))} / {fmt(cpu.get('host_max'))} | "
                         f"{fmt(cpu.get('master')) if mode == 'minions' else '-'} | {busy} | "
                         f"{peak(runs, 'master') if mode == 'minions' else '-'} | {peak(runs, 'controller')} | {peak(runs, 'host_salt')} |")
    lines += ["", "## Cost per added host (stage-1 no-op run, CPU seconds)", "",
              "Wall time on this 2-CPU machine cannot show the parallelism of a site where every host has its "
              "own CPUs, so the cost per host is measured in CPU seconds: inside each host (its cgroup) and on "
              "the master and controller side (salt-master tree, salt-run or salt-ssh, the job lookups).", "",
              "| mode | hosts | CPU per host (mean) | master + controller | fitted slope per added host |",
              "|---|---|---|---|---|"]
    for mode in MODES:
        series = cpu_series(res, mode)
        fitted = slope([(h, side) for h, _, side in series])
        for hosts, per_host, side in series:
            lines.append(f"| {mode} | {hosts} | {fmt(per_host)} | {fmt(side)} | {fmt(fitted, ' CPU-s')} |")
    lines += ["", f"## All stages, {res['full_n']} hosts", "",
              "| mode | run | wall time | states | changed | ok | API requests per Application (max / mean) | peak master | peak controller | peak Salt in a host |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for sc in [s for s in res["scenarios"] if s["hosts"] == res["full_n"]]:
        for r in [r for r in sc["runs"] if "states" in r]:  # (the plain state.apply has its own table)
            api = r.get("api")
            api_text = (f"{api['per_app_max']} / {api['per_app_mean']} ({api['applications']} apps; all requests "
                        f"{api['requests_total']}: " + ", ".join(f"{k} {v}" for k, v in sorted(api["by_method"].items()))
                        + ")") if api else "-"
            lines.append(f"| {sc['mode']} | {r['run']} | {secs(r)} | {r['states'] or '-'} | {r['changed']} | "
                         f"{'yes' if r['ok'] else 'NO'} | {api_text} | {peak([r], 'master') if sc['mode'] == 'minions' else '-'} | "
                         f"{peak([r], 'controller')} | {peak([r], 'host_salt')} |")
    lines += where_time_goes(res)
    busiest = [(sc["mode"], r["api"]["top_paths"]) for sc in res["scenarios"] for r in sc["runs"] if r.get("api", {}).get("top_paths")]
    if busiest:
        lines += ["", "Most requested paths on the no-op run of stages 2 and 3 (last segment as `*`):", ""]
        lines += [f"- {mode}: " + ", ".join(f"`{k}` {v}" for k, v in top) for mode, top in busiest]
    iso = res.get("isolated_api")
    if iso:
        waves = ", ".join(f"{w}: {t} s" for w, t in (iso.get("first_run_wave_seconds") or {}).items())
        lines += ["", f"Isolated ArgoCD objects (bench/argocd_api_calls.py, `salt-call --local` against the API and "
                      f"controller stand-ins: the ArgoCD manifest, namespaces, an AppProject and {iso['applications']} "
                      f"Applications in {iso.get('waves', '-')} sync waves): first run {iso['first_run_seconds']} s "
                      f"(sync states {iso.get('first_run_sync_seconds', '-')} s; per wave {waves or '-'}), "
                      f"no-op run {iso['noop_run_seconds']} s, {len(iso['noop_changes'])} changes, "
                      f"{iso['noop_requests_total']} API requests ({iso.get('noop_writes', '-')} writes), per Application "
                      f"max {iso['noop_requests_per_app_max']} (mean {iso['noop_requests_per_app_mean']})."]
    errors = [f"- {s['lab']}: {error_summary(s['error'])}" for s in res["scenarios"] if s.get("error")]
    if errors:
        lines += ["", "## Errors in this run (full text in the JSON)", "", *errors]
    if res.get("notes"):
        lines += ["", "## Notes on this run", "", *[f"- {n}" for n in res["notes"]]]
    lines += [
        "",
        "## How it is measured",
        "",
        "- Peak memory is RSS summed over a process tree, sampled every 0.5 s during each run: "
        "*master* = the salt-master's tree (minion mode); *controller* = `salt-run` and what it starts "
        "(with salt-ssh: the `salt-ssh` processes); *Salt in a host* = the largest sum over one host of "
        "its Salt processes (salt-minion and its job processes, or the salt-ssh thin `python3`), found "
        "through the host's network namespace. Shown as RSS / PSS: RSS counts shared pages in every "
        "process of the tree (an upper bound), PSS shares them out (what the tree really costs).",
        "- CPU: seconds of CPU used during the run. *Per host*: the host's cgroup (everything it ran: "
        "salt-minion and its jobs, or the salt-ssh thin, and the commands they started); *master*: the "
        "salt-master's process tree; *machine busy*: all CPUs of this machine (all processes, other work "
        "included) against what they could give while it was measured (CPUs x the time of `salt-run` "
        "and the job lookups `maia install` makes after it, a little longer than the wall time); of it, *controller* "
        "is `salt-run` (or `salt-ssh`) with the job lookups of `maia install`, *sampler* this benchmark's "
        "own memory sampling. When the machine "
        "is near 100 % busy, the lab's hosts are waiting for each other's CPU: wall time then grows "
        "with the number of hosts on this machine however little each host does.",
        "- State time per host: the sum of the durations Salt reports for that host's states; the rest "
        "of the wall time is Salt's own work (salt-run start, module sync and pillar refresh with minions, "
        "ssh connections and thin checks with salt-ssh, job publication and returns).",
        "- States `-`: a salt-ssh step that changed nothing returns no per-host data, and salt-ssh keeps "
        "no job cache where `maia install` could look it up, so its states are not counted; its changes "
        "are (a step that changes something returns them).",
        "- API requests: the lab's Kubernetes API stand-in's request log (`/_standin/requests`), cleared "
        "before the no-op run of stages 2 and 3 and read after it, without the ArgoCD controller "
        "stand-in's own requests; per Application = requests to that Application's path.",
        "- Beside the Ansible collection (issue 25, bench/ansible_compare.py): with `MAIA_ANSIBLE_COLLECTION` "
        "naming the collection's `ansible/MAIA/Installation` folder (kept outside this repository), each round "
        "brings up one fresh 3-host lab for the collection's `playbooks/prepare_hosts.yaml` (the pinned PyPI "
        "`ansible` in its own virtualenv under the lab cache: ansible-core plus community.general, whose `ufw` "
        "module the role uses; forks 10, pipelining, only `ufw` on) and one for each mode of maia-salt's stage 1, "
        "one after the other, with `ufw` and `sudo` pre-installed as in the issue's table; ratios are the "
        "collection's wall time / maia-salt's within a round, and the targets are judged on their median over "
        "the rounds. Without the collection or Ansible the ratio targets are *not measured*, with the reason. "
        "What the playbook needs and how the bench gives it: bench/ansible_compare.py's docstring.",
        "- The zero-change gate in `make test` is tests/e2e/test_orchestration.py "
        "(`test_minions_install_all_stages_then_rerun_changes_nothing`, `test_salt_ssh_mode_reruns_clean`): "
        "it fails when a second run reports any change; this benchmark reports the same count with timings.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes 1,3 only, one comparison round and no isolated API benchmark")
    ap.add_argument("--sizes", help="comma-separated host counts for stage 1 (default 1,3,6)")
    ap.add_argument("--full-n", type=int, default=3, help="lab size that also runs stages 2 and 3 (0: none)")
    ap.add_argument("--modes", default="minions,ssh")
    ap.add_argument("--compare-runs", type=int, help="rounds beside the Ansible collection (default 3, 1 with --quick; 0: none)")
    ap.add_argument("--compare-only", action="store_true", help="only the rounds beside the Ansible collection")
    ap.add_argument("--lab-prefix", default=os.environ.get("MAIA_BENCH_LAB_PREFIX", "bench"),
                    help="first part of the labs' names (default bench, or $MAIA_BENCH_LAB_PREFIX)")
    ap.add_argument("--note", action="append", default=[], help="a sentence for the report's notes (repeatable)")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/performance.md")
    ap.add_argument("--from-json", help="only render docs/performance.md from this results file")
    args = ap.parse_args(argv)
    if args.from_json:
        res = json.loads(Path(args.from_json).read_text())
        res["notes"] = res.get("notes", []) + args.note
        DOC.write_text(render(res))
        print(f"wrote {DOC}")
        return 0
    if os.geteuid() != 0:
        raise SystemExit("bench/run.py needs root (it starts lab hosts)")
    sizes = {int(x) for x in (args.sizes or ("1,3" if args.quick else "1,3,6")).split(",")}
    sizes = [] if args.compare_only else sorted(sizes | ({args.full_n} if args.full_n else set()))
    rounds = args.compare_runs if args.compare_runs is not None else 1 if args.quick else 3
    modes = [m for m in args.modes.split(",") if m]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    RESULTS.mkdir(parents=True, exist_ok=True)
    res = {"command": " ".join([".venv/bin/python", "bench/run.py", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]),
           "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "sizes": sizes, "full_n": args.full_n,
           "machine": machine(args.lab_prefix), "notes": args.note, "scenarios": []}
    out = RESULTS / f"run-{stamp}.json"

    def save():
        res["machine_end"] = machine(args.lab_prefix)
        res["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        res["total_seconds"] = round(time.monotonic() - T0)
        text = json.dumps(res, indent=1)
        out.write_text(text)
        (RESULTS / "latest.json").write_text(text)

    log(f"bench: sizes {sizes}, modes {modes}, comparison rounds {rounds}, machine {res['machine']}")
    for mode in modes:
        for n in sizes:
            res["scenarios"].append(scenario(n, mode, n == args.full_n, args.lab_prefix))
            save()
    if rounds:
        setup = ansible_compare.setup(os.environ, lab_cache())
        res["comparison"] = comparison(setup, rounds, modes, args.lab_prefix, save)
    else:
        res["comparison"] = {"measured": False, "reason": "--compare-runs 0"}
    if not args.quick and not args.compare_only:
        log("isolated ArgoCD Applications (bench/argocd_api_calls.py, 18 Applications)")
        try:
            res["isolated_api"] = argocd_api_calls.run(18)
        except (Exception, SystemExit) as exc:
            log(f"  isolated API benchmark failed: {exc}")
    save()
    log(f"results: {out}")
    for t, v, ok in targets(res) + checks(res):
        log(f"target: {t}: {v} -> {'met' if ok else 'NOT met' if ok is False else 'not measured'}")
    if not args.no_doc:
        DOC.write_text(render(res))
        log(f"wrote {DOC}")
    failed = [s for s in res["scenarios"] if s.get("error")]
    failed += [side for rnd in res["comparison"].get("rounds", []) for side in rnd.values()
               if isinstance(side, dict) and side.get("error")]
    return 1 if failed else 0


def lab_cache() -> str:
    """The lab's cache folder (the pinned Ansible's virtualenv lives under it)."""
    from maia_lab.lab import base

    return base.CACHE_DIR


if __name__ == "__main__":
    sys.exit(main())
