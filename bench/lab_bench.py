#!/usr/bin/env python3
"""Benchmark `maia lab`: first up (debootstrap included), up from the cached root, down, idle host memory.

Run as root from the checkout:  .venv/bin/python bench/lab_bench.py [--hosts 3] [--skip-first] [-o FILE]

Targets (issue 3): up of 3 hosts from the cached root < 30 s, first up < 3 min,
down < 10 s, an idle host < 100 MB. The first up uses a separate, temporary
base-root cache (MAIA_LAB_CACHE) so the shared cache is neither used nor lost.
Results are written as markdown (default bench/results/lab.md) and printed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = [sys.executable, "-m", "maia_lab.lab.cli"]


def timed(cmd, env=None, check=True):
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.monotonic() - t0
    if check and proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return dt, proc


def mem_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def host_memory(lab_name: str) -> dict:
    """PSS and RSS summed over every process of each host (its network namespace holds all of them), MiB."""
    from maia_lab.lab import Lab

    out = {}
    for h in Lab(lab_name).hosts:
        pids = subprocess.run(["ip", "netns", "pids", h.netns], capture_output=True, text=True).stdout.split()
        out[h.name] = (
            sum(mem_kib(int(p), "Pss") for p in pids) / 1024,
            sum(mem_kib(int(p), "Rss") for p in pids) / 1024,
            len(pids),
        )
    return out


def mem_available_mib() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--name", default="bench")
    ap.add_argument("--skip-first", action="store_true", help="skip the first-up measurement (debootstrap, ~1 min)")
    ap.add_argument("--rounds", type=int, default=3, help="cached up/down rounds")
    ap.add_argument("-o", "--output", default=os.path.join(CHECKOUT, "bench", "results", "lab.md"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    rows = []
    name = args.name
    subprocess.run(LAB + ["down", "--name", name], capture_output=True)

    if not args.skip_first:
        cache = f"/var/cache/maia-lab-bench-{os.getpid()}"
        env = dict(os.environ, MAIA_LAB_CACHE=cache)
        try:
            dt, _ = timed(LAB + ["up", "--name", name, "--hosts", str(args.hosts)], env=env)
            rows.append(("first `up` (debootstrap + boot)", args.hosts, dt, 180))
            dt, _ = timed(LAB + ["down", "--name", name], env=env)
        finally:
            subprocess.run(LAB + ["down", "--name", name], env=env, capture_output=True)
            shutil.rmtree(cache, ignore_errors=True)

    # make sure the shared cache exists before timing cached ups
    subprocess.run(LAB + ["up", "--name", name, "--hosts", "1"], check=True, capture_output=True)
    subprocess.run(LAB + ["down", "--name", name], check=True, capture_output=True)

    ups, downs = [], []
    mem = {}
    avail_delta = 0.0
    for r in range(args.rounds):
        before = mem_available_mib()
        dt, _ = timed(LAB + ["up", "--name", name, "--hosts", str(args.hosts)])
        ups.append(dt)
        if r == 0:
            time.sleep(15)  # let the hosts settle to idle
            mem = host_memory(name)
            avail_delta = before - mem_available_mib()
            t0 = time.monotonic()
            proc = subprocess.run(
                [os.path.join(os.path.dirname(sys.executable), "salt-ssh"), "*", "test.ping", "--out=json", "--static"],
                cwd=f"/var/lib/maia-lab/{name}" if not os.environ.get("MAIA_LAB_ROOT") else os.path.join(os.environ["MAIA_LAB_ROOT"], name),
                capture_output=True, text=True,
            )
            ssh_ping = time.monotonic() - t0
            ok = proc.returncode == 0 and all(json.loads(proc.stdout or "{}").values())
            rows.append(("first `salt-ssh '*' test.ping` (thin deploy)", args.hosts, ssh_ping, None if ok else -1))
        dt, _ = timed(LAB + ["down", "--name", name])
        downs.append(dt)
    rows.append((f"`up` from the cached root (best of {args.rounds})", args.hosts, min(ups), 30))
    rows.append((f"`up` from the cached root (worst of {args.rounds})", args.hosts, max(ups), 30))
    rows.append((f"`down` (worst of {args.rounds})", args.hosts, max(downs), 10))

    dt, _ = timed(LAB + ["up", "--name", name, "--hosts", str(args.hosts), "--minions"])
    rows.append(("`up --minions` (master + minions answering)", args.hosts, dt, None))
    dt, _ = timed(LAB + ["down", "--name", name])
    rows.append(("`down` of a minion lab", args.hosts, dt, 10))

    load = os.getloadavg()
    lines = [
        "# maia lab benchmark",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, kernel {platform.release()}, "
        f"load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| step | hosts | seconds | target | ok |",
        "|---|---|---|---|---|",
    ]
    for what, n, sec, target in rows:
        if target == -1:
            lines.append(f"| {what} | {n} | {sec:.1f} | answers | FAILED |")
        elif target is None:
            lines.append(f"| {what} | {n} | {sec:.1f} | - | - |")
        else:
            lines.append(f"| {what} | {n} | {sec:.1f} | < {target} s | {'yes' if sec < target else 'NO'} |")
    lines += [
        "",
        "Idle host memory, 15 s after `up` (target < 100 MB). PSS shares pages common to several hosts",
        "(same base root) between them; RSS counts them in full for each host, so it is the upper bound:",
        "",
        "| host | processes | PSS MiB | RSS MiB | ok |",
        "|---|---|---|---|---|",
    ]
    for host, (pss, rss, n) in mem.items():
        lines.append(f"| {host} | {n} | {pss:.1f} | {rss:.1f} | {'yes' if rss < 100 else 'NO'} |")
    lines += [
        "",
        f"MemAvailable dropped by {avail_delta:.0f} MiB over the whole lab (hosts, proxy, page cache); "
        "other work on the machine moves this number, the per-host figures above do not.",
        "",
    ]
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
