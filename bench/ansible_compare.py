"""The MAIA Ansible collection's stage 1 beside maia-salt's (issue 25, "Targets").

Where ``MAIA_ANSIBLE_COLLECTION`` names the ``ansible/MAIA/Installation`` folder of the public
minnelab/MAIA repository (kept outside this repository, never committed), `make bench` runs the
collection's ``playbooks/prepare_hosts.yaml`` on a fresh 3-host lab, and maia-salt's stage 1 on
two more fresh 3-host labs (minions, salt-ssh), in the same run, and reports how many times faster
maia-salt is (the collection's wall time / maia-salt's), within each round.

What the playbook needs, read from the collection:

- ``hosts: all``, ``become: true`` (sudo, also as root), facts gathered: the ``ufw`` role allows
  every inventory host by ``hostvars[h].ansible_default_ipv4.address``, which Ansible takes from
  the host's default route. Lab hosts have none, so every lab of a round gets a default route
  to an address of its own slice that nothing answers (no packet leaves this machine);
- the roles as ``maia.installation.<role>``: the folder is linked in as the collection
  ``maia.installation`` (namespace and name from its galaxy.yml) under a private
  ``ANSIBLE_COLLECTIONS_PATH``;
- the ``ufw`` module, which ansible-core only redirects to ``community.general.ufw``: Galaxy is
  not reachable here, so the collections come from PyPI's ``ansible`` package (ansible-core plus
  the community collections), pinned, in its own virtualenv under the lab cache, never in
  maia-salt's setup.py;
- the switches ``nvidia_drivers``, ``ufw``, ``nfs``, ``cifs`` (and ``lvm`` in older versions of the
  playbook): only ``ufw`` is on, as in maia-salt's stage 1 here;
- an INI inventory with the collection's groups (``control-plane``, ``nfs_server``,
  ``nfs_clients``), ``ansible_host`` and ``ansible_user=root``, the lab key and known_hosts.

Both sides run as the issue's table was measured: ``ufw`` and ``sudo`` pre-installed on every
host before the first run (apt through the lab proxy, untimed), Ansible with forks 10 and
pipelining. When the collection or Ansible is missing the comparison is "not measured", with the
reason; nothing is faked.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ENV = "MAIA_ANSIBLE_COLLECTION"
PLAYBOOK = "playbooks/prepare_hosts.yaml"
# PyPI `ansible` (ansible-core and the community collections: community.general has `ufw`);
# the newest pair pip offers for this machine's Python 3.11
ANSIBLE_PIN = "12.3.0"
ANSIBLE_CORE_PIN = "2.19.14"
FORKS = 10
HOSTS = 3
PREINSTALLED = ("ufw", "sudo")
# the stage 1: only UFW on (`lvm` is a switch in older versions of the playbook)
EXTRA_VARS = {"nvidia_drivers": False, "lvm": False, "ufw": True, "nfs": False, "cifs": False}
SIDES = ("ansible", "minions", "ssh")
RUNS = ("prepare first", "prepare second")


# ------------------------------------------------------------------ what is there
def collection_problem(path: str | None) -> str | None:
    """Why the collection at ``path`` cannot be run (None: it can)."""
    if not path:
        return f"{ENV} is not set (the collection's ansible/MAIA/Installation folder)"
    folder = Path(path)
    if not folder.is_dir():
        return f"{ENV}={path}: no such folder"
    if not (folder / PLAYBOOK).is_file():
        return f"{ENV}={path}: no {PLAYBOOK} in it (the ansible/MAIA/Installation folder is meant)"
    if not (folder / "roles" / "ufw" / "tasks").is_dir():
        return f"{ENV}={path}: no roles/ufw in it"
    return None


def collection_name(collection: Path) -> tuple[str, str]:
    """(namespace, name) from the collection's galaxy.yml; maia.installation without one."""
    try:
        meta = yaml.safe_load((collection / "galaxy.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        meta = {}
    return str(meta.get("namespace") or "maia"), str(meta.get("name") or "installation")


def venv_dir(cache: str) -> Path:
    return Path(cache) / "bench-ansible" / f"ansible-{ANSIBLE_PIN}"


def ensure_ansible(cache: str, python: str = sys.executable, install: bool = True) -> tuple[Path | None, str]:
    """(virtualenv, version text) of the pinned Ansible, made on first use; (None, why) when it is
    missing and cannot be installed."""
    venv = venv_dir(cache)
    playbook = venv / "bin" / "ansible-playbook"
    marker = venv / ".installed"
    if not marker.exists():
        if not install:
            return None, f"Ansible is not installed in {venv}"
        steps = [[python, "-m", "venv", "--clear", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "-q", f"ansible=={ANSIBLE_PIN}", f"ansible-core=={ANSIBLE_CORE_PIN}"]]
        venv.parent.mkdir(parents=True, exist_ok=True)
        for cmd in steps:
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return None, f"installing Ansible into {venv} failed: {exc}"
            if done.returncode != 0:
                tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
                return None, f"installing Ansible into {venv} failed (exit {done.returncode}): {tail[-400:]}"
        marker.write_text(f"ansible=={ANSIBLE_PIN} ansible-core=={ANSIBLE_CORE_PIN}\n", encoding="utf-8")
    try:
        done = subprocess.run([str(playbook), "--version"], capture_output=True, text=True, timeout=120)
    except OSError as exc:
        return None, f"{playbook} does not run: {exc}"
    if done.returncode != 0:
        return None, f"{playbook} --version failed (exit {done.returncode})"
    return venv, done.stdout.splitlines()[0].strip() if done.stdout else "?"


def setup(env: dict, cache: str, install: bool = True) -> dict:
    """What the comparison runs with, or why it does not run: {"measured": bool, "reason", ...}."""
    path = env.get(ENV)
    problem = collection_problem(path)
    if problem:
        return {"measured": False, "reason": problem}
    venv, version = ensure_ansible(cache, install=install)
    if venv is None:
        return {"measured": False, "reason": version, "collection": path}
    return {"measured": True, "collection": str(Path(path).resolve()), "venv": str(venv), "ansible": version,
            "pins": f"ansible=={ANSIBLE_PIN}, ansible-core=={ANSIBLE_CORE_PIN}"}


# ------------------------------------------------------------------ the run's files
def inventory_ini(hosts: list[tuple[str, str]], key: str, known_hosts: str) -> str:
    """The collection's INI inventory for (name, address) hosts: the first host is the control
    plane and NFS server, the others NFS clients, as in `maia lab`'s inventory."""
    names = [n for n, _ in hosts]
    lines = ["[all]", *[f"{n} ansible_host={a}" for n, a in hosts], "",
             "[control-plane]", *names[:1], "", "[nfs_server]", *names[:1], "", "[nfs_clients]", *names[1:], "",
             "[all:vars]", "ansible_user=root", f"ansible_ssh_private_key_file={key}",
             f"ansible_ssh_common_args='-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes'",
             "ansible_python_interpreter=/usr/bin/python3", ""]
    return "\n".join(lines)


def workdir_for(collection: str, workdir: Path, hosts, key: str, known_hosts: str) -> Path:
    """Lay out ``workdir``: the collection linked in as ansible_collections/<ns>/<name>, the
    inventory, Ansible's own temp and control-socket folders. Returns the inventory's path."""
    ns, name = collection_name(Path(collection))
    link = workdir / "collections" / "ansible_collections" / ns / name
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(Path(collection).resolve(), target_is_directory=True)
    for sub in ("tmp", "cp"):
        (workdir / sub).mkdir(exist_ok=True)
    # Ansible's defaults only: no ansible.cfg of the working folder or the user is read
    (workdir / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    inventory = workdir / "inventory.ini"
    inventory.write_text(inventory_ini(hosts, key, known_hosts), encoding="utf-8")
    return inventory


def playbook_command(setup_: dict, workdir: Path, inventory: Path) -> tuple[list[str], dict]:
    """argv and environment of one ansible-playbook run: forks 10, pipelining, only UFW on."""
    argv = [str(Path(setup_["venv"]) / "bin" / "ansible-playbook"), "-i", str(inventory),
            "-e", json.dumps(EXTRA_VARS), str(Path(setup_["collection"]) / PLAYBOOK)]
    env = dict(os.environ, ANSIBLE_CONFIG=str(workdir / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(workdir / "collections"),
               ANSIBLE_FORKS=str(FORKS), ANSIBLE_PIPELINING="True", ANSIBLE_HOST_KEY_CHECKING="True",
               ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"), ANSIBLE_SSH_CONTROL_PATH_DIR=str(workdir / "cp"),
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_HOME=str(workdir / "home"))
    return argv, env


RECAP_LINE = re.compile(r"^(\S+)\s*:\s*((?:\w+=\d+\s*)+)$")


def recap(stdout: str) -> dict:
    """host -> {ok, changed, unreachable, failed, ...} from ansible-playbook's PLAY RECAP."""
    hosts, inside = {}, False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            inside = True
            continue
        match = RECAP_LINE.match(line.strip()) if inside else None
        if match:
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def recap_ok(counts: dict, expected_hosts: int) -> bool:
    return len(counts) == expected_hosts and all(
        not c.get("failed") and not c.get("unreachable") for c in counts.values())


# ------------------------------------------------------------------ on a lab
def spare_gateway(bridge_address: str) -> str:
    """An address of the lab's own slice that nothing holds (the bridge is .1, hosts start at .11)."""
    return str(ipaddress.ip_address(bridge_address) + 1)


def prepare_lab(lab) -> float:
    """Every host as the issue's table had them: ufw and sudo installed, and a default route that
    leads nowhere (Ansible's ansible_default_ipv4). Returns the seconds it took (not timed in runs)."""
    started, errors = time.monotonic(), []
    gateway = spare_gateway(lab.bridge_address)
    cmd = (f"ip route replace default via {gateway} dev eth0 && "
           "export DEBIAN_FRONTEND=noninteractive && apt-get -q update >/dev/null && "
           f"apt-get -q install -y {' '.join(PREINSTALLED)} >/dev/null")

    def one(host):
        done = lab.ssh(host.name, cmd, check=False, timeout=600)
        if done.returncode != 0:
            errors.append(f"{host.name}: exit {done.returncode}: {(done.stderr or '').strip()[-300:]}")

    threads = [threading.Thread(target=one, args=(h,)) for h in lab.hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("pre-installing " + ", ".join(PREINSTALLED) + " failed: " + "; ".join(errors))
    return round(time.monotonic() - started, 1)


def run_playbook(setup_: dict, lab, workdir: Path) -> dict:
    """One ansible-playbook run of prepare_hosts.yaml on the lab: seconds, per-host recap, ok."""
    inventory = workdir_for(setup_["collection"], workdir, [(h.name, h.address) for h in lab.hosts],
                            lab.key, lab.known_hosts)
    argv, env = playbook_command(setup_, workdir, inventory)
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    seconds = round(time.monotonic() - started, 1)
    counts = recap(done.stdout)
    ok = done.returncode == 0 and recap_ok(counts, len(lab.hosts))
    rec = {"seconds": seconds, "ok": ok, "returncode": done.returncode, "recap": counts,
           "changed": sum(c.get("changed", 0) for c in counts.values()),
           "tasks_ok": sum(c.get("ok", 0) for c in counts.values())}
    if not ok:
        rec["error"] = (done.stdout + done.stderr)[-3000:]
    return rec


# ------------------------------------------------------------------ ratios
def ratio(theirs, ours) -> float | None:
    """How many times faster ours is: the collection's seconds / ours; None unless both ran."""
    if not theirs or not ours or not theirs.get("ok") or not ours.get("ok") or not ours.get("seconds"):
        return None
    return round(theirs["seconds"] / ours["seconds"], 2)


def _run(round_: dict, side: str, run: str):
    return next((r for r in (round_.get(side) or {}).get("runs", []) if r["run"] == run), None)


def round_ratios(round_: dict) -> dict:
    """{mode: {run: ratio}} of one round (one lab per side, run one after the other)."""
    return {mode: {run: ratio(_run(round_, "ansible", run), _run(round_, mode, run)) for run in RUNS}
            for mode in ("minions", "ssh")}


def summary(rounds: list) -> dict:
    """{mode: {run: {"median", "min", "max", "n", "ratios"}}} over the rounds that measured both
    sides; the median is what the targets are judged on (noise on a shared machine)."""
    out = {}
    for mode in ("minions", "ssh"):
        for run in RUNS:
            values = [r for r in (round_ratios(x)[mode][run] for x in rounds) if r is not None]
            out.setdefault(mode, {})[run] = {
                "ratios": values, "n": len(values),
                "median": round(statistics.median(values), 2) if values else None,
                "min": min(values, default=None), "max": max(values, default=None)}
    return out


def side_seconds(rounds: list, side: str, run: str) -> list:
    """Wall seconds of one side's run over the rounds (successful runs only)."""
    return [r["seconds"] for r in (_run(x, side, run) for x in rounds) if r and r.get("ok")]


# ------------------------------------------------------------------ report
def _cell(rec, key="seconds", unit=" s") -> str:
    if not rec:
        return "-"
    if not rec.get("ok"):
        return f"FAILED after {rec.get('seconds')} s"
    value = rec.get(key)
    return "-" if value is None else f"{value}{unit}"


def render(comparison: dict | None) -> list:
    """The report's section on the collection: how it ran (or why not), each round, the ratios."""
    lines = ["", f"## Beside the Ansible collection (stage 1, UFW only, {HOSTS} hosts)", ""]
    comparison = comparison or {"measured": False, "reason": "the comparison did not run"}
    if not comparison.get("measured"):
        return lines + [f"Not measured: {comparison.get('reason')}. The ratio targets above are not measured "
                        f"either; set `{ENV}` to the `ansible/MAIA/Installation` folder of the public "
                        "minnelab/MAIA repository (kept outside this repository) to measure them."]
    lines += [f"The collection's `{PLAYBOOK}` from `{comparison['collection']}`, run by {comparison['ansible']} "
              f"({comparison['pins']}, in its own virtualenv `{comparison['venv']}`) with forks {FORKS} and "
              "pipelining, only `ufw` on; maia-salt's stage 1 through `maia install` (minions, and `--ssh`). "
              f"Each round is one fresh {HOSTS}-host lab per side, run one after the other; every host has "
              f"{' and '.join(PREINSTALLED)} pre-installed and a default route that leads nowhere (Ansible "
              "reads `ansible_default_ipv4` from it), neither timed. *x faster* is the collection's wall "
              "time / maia-salt's, within the round.", "",
              "| round | side | first run | no-op re-run | no-op changes | CPU per host, no-op (mean) "
              "| master + controller CPU, no-op | x faster: first / no-op |",
              "|---|---|---|---|---|---|---|---|"]
    for rnd in comparison.get("rounds") or []:
        ratios = round_ratios(rnd)
        for side in SIDES:
            data = rnd.get(side)
            if not data:
                continue
            first, second = _run(rnd, side, RUNS[0]), _run(rnd, side, RUNS[1])
            cpu = dict((second or {}).get("cpu_s") or {})
            if cpu.get("controller") is not None:  # with minions the salt-master's CPU too
                cpu["controller"] = round(cpu["controller"] + (cpu.get("master") or 0), 2)
            faster = "1x" if side == "ansible" else " / ".join(
                "-" if ratios[side][r] is None else f"{ratios[side][r]}x" for r in RUNS)
            changes = "-" if not second else second.get("changed")
            lines.append(f"| {rnd['round']} | {'collection' if side == 'ansible' else side} | {_cell(first)} | "
                         f"{_cell(second)} | {changes} | {_cell({'ok': True, **cpu}, 'host_mean')} | "
                         f"{_cell({'ok': True, **cpu}, 'controller')} | {faster} |")
            if data.get("error") and not second:
                lines.append(f"| {rnd['round']} | {side} | error: {data['error'].splitlines()[0][:200]} | | | | | |")
    return lines
