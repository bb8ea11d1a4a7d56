"""The lab's hosts: an overlay root over the cached base root, their identity files, and their boot.

Each host is ``systemd-nspawn --boot`` on ``hosts/<host>/merged`` (overlayfs:
the base root read-only below, the host's own upper dir), in its own network
namespace and its own cgroup, with its own SSH host keys.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import time
import uuid
from typing import Callable

from .folder import LabFolder
from .util import echo, pid_alive, reap, run, signal_process, ssh_banner, wait_for, write_file

BOOT_TIMEOUT = 90
# cgroup hierarchies of a hybrid (v1 + unified) layout; pure v2 is handled in cgroup_dirs
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")


@dataclasses.dataclass
class Host:
    name: str
    index: int
    address: str
    netns: str
    veth: str
    machine: str
    devices: list = dataclasses.field(default_factory=list)
    pid: int | None = None


def make_keys(folder: LabFolder, lab_name: str, hosts: list[Host]) -> None:
    """The lab key (root on every host), each host's SSH host keys and the lab's known_hosts."""
    if not os.path.exists(folder.key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"maia-lab-{lab_name}", "-f", folder.key])
    lines = []
    for h in hosts:
        keydir = folder.host_dir(h.name, "hostkeys")
        os.makedirs(os.path.join(keydir, "etc", "ssh"), exist_ok=True)
        run(["ssh-keygen", "-A", "-f", keydir])
        with open(os.path.join(keydir, "etc/ssh/ssh_host_ed25519_key.pub"), encoding="utf-8") as fh:
            typ, key = fh.read().split()[:2]
        lines.append(f"{h.name},{h.address} {typ} {key}\n")
    with open(folder.known_hosts, "w", encoding="utf-8") as fh:
        fh.writelines(lines)


def mount_overlays(folder: LabFolder, lab_name: str, base_root: str, hosts: list[Host]) -> None:
    for h in hosts:
        hd = folder.host_dir(h.name)
        for sub in ("upper", "work", "merged"):
            os.makedirs(os.path.join(hd, sub), exist_ok=True)
        if not os.path.ismount(folder.host_root(h.name)):
            run([
                "mount", "-t", "overlay", f"maialab-{lab_name}", "-o",
                f"lowerdir={base_root},upperdir={hd}/upper,workdir={hd}/work", folder.host_root(h.name),
            ])


def write_identity(folder: LabFolder, hosts: list[Host], bridge_address: str, proxy_url: str) -> None:
    """Name, /etc/hosts, machine id, SSH keys and apt proxy of every host, in its root."""
    etc_hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    etc_hosts += f"{bridge_address}\tmaia-lab-bridge salt\n"
    etc_hosts += "".join(f"{h.address}\t{h.name}\n" for h in hosts)
    with open(folder.key + ".pub", encoding="utf-8") as fh:
        pubkey = fh.read()
    for h in hosts:
        top = folder.host_root(h.name)
        write_file(os.path.join(top, "etc/hostname"), h.name + "\n")
        # a lab host is thrown away at `down`: do not wait long for units that linger
        write_file(os.path.join(top, "etc/systemd/system.conf.d/maia-lab.conf"), "[Manager]\nDefaultTimeoutStopSec=3s\n")
        write_file(os.path.join(top, "etc/hosts"), etc_hosts)
        write_file(os.path.join(top, "etc/machine-id"), uuid.uuid4().hex + "\n", 0o444)
        os.makedirs(os.path.join(top, "root/.ssh"), mode=0o700, exist_ok=True)
        write_file(os.path.join(top, "root/.ssh/authorized_keys"), pubkey, 0o600)
        keydir = folder.host_dir(h.name, "hostkeys", "etc", "ssh")
        for f in os.listdir(keydir):
            shutil.copy2(os.path.join(keydir, f), os.path.join(top, "etc/ssh", f))
        write_file(
            os.path.join(top, "etc/apt/apt.conf.d/01maia-lab-proxy"),
            f'Acquire::http::Proxy "{proxy_url}";\nAcquire::https::Proxy "{proxy_url}";\n',
        )


def cgroup_dirs(lab_name: str, host: str | None = None) -> list[str]:
    """A lab's (or one host's) cgroup in each writable hierarchy nspawn uses."""
    roots = [r for r in CGROUP_ROOTS if os.path.isfile(os.path.join(r, "cgroup.procs")) and os.access(r, os.W_OK)]
    if not roots and os.path.isfile("/sys/fs/cgroup/cgroup.controllers") and os.access("/sys/fs/cgroup", os.W_OK):
        roots = ["/sys/fs/cgroup"]  # pure cgroup v2
    return [os.path.join(r, "maia-lab", lab_name, *([host] if host else [])) for r in roots]


def _nspawn_command(folder: LabFolder, h: Host, binds: list[str]) -> list[str]:
    cmd = [
        "systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
        f"--directory={folder.host_root(h.name)}",
        f"--machine={h.machine}", f"--hostname={h.name}",
        f"--network-namespace-path=/run/netns/{h.netns}",
        "--capability=CAP_NET_ADMIN",
        "--resolv-conf=off", "--timezone=off", "--link-journal=no",
        "--console=read-only",
    ]
    cmd += [f"--bind={dev}" for dev in h.devices]
    cmd += [f"--bind-ro={b}" for b in binds]
    return cmd


def _start(folder: LabFolder, lab_name: str, h: Host, binds: list[str], env: dict) -> int:
    """Start ``h``'s systemd-nspawn in the host's own cgroup; its pid (a session leader)."""
    log = open(folder.log(h.name), "ab")
    # Each host in its own cgroup: with --keep-unit nspawn puts the container in
    # <its cgroup>/payload, so hosts started from one cgroup would share their
    # cgroup tree and race on it (units failing with 219/CGROUP at boot).
    cg = cgroup_dirs(lab_name, h.name)
    for d in cg:
        os.makedirs(d, exist_ok=True)
    enter = "".join(f'echo $$ > "{d}/cgroup.procs" 2>/dev/null; ' for d in cg)
    proc = subprocess.Popen(
        ["/bin/sh", "-c", enter + 'exec "$@"', "sh", *_nspawn_command(folder, h, binds)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        # no image lock files in /run/systemd/nspawn/locks: the lab's state file is the lock
        env=dict(env, SYSTEMD_NSPAWN_LOCK="0"),
    )
    return proc.pid


def _wait_ssh(folder: LabFolder, h: Host) -> None:
    console = folder.log(h.name)
    try:
        wait_for(lambda: ssh_banner(h.address) or not pid_alive(h.pid), BOOT_TIMEOUT, 0.1, f"sshd on {h.name}")
    except TimeoutError:
        raise RuntimeError(f"{h.name} did not start sshd in {BOOT_TIMEOUT}s; console: {console}")
    if not pid_alive(h.pid):
        raise RuntimeError(f"{h.name}: systemd-nspawn exited; console: {console}")


def boot(folder: LabFolder, lab_name: str, hosts: list[Host], binds: list[str], env: dict,
         record_host: Callable[[Host], None]) -> None:
    """Start every host (``binds``: this machine's folders bound read-only; ``env``: the lab's
    process environment), record its pid, and wait for its sshd."""
    echo(f"booting {len(hosts)} host(s) with systemd-nspawn...")
    t0 = time.monotonic()
    for h in hosts:
        h.pid = _start(folder, lab_name, h, binds, env)
        record_host(h)
    for h in hosts:
        _wait_ssh(folder, h)
    echo(f"hosts answer on ssh after {time.monotonic() - t0:.1f}s")


def cgroup_pids(dirs: list[str]) -> set[int]:
    """Every process in the cgroups ``dirs`` and below."""
    found = set()
    for top in dirs:
        for root, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(root, "cgroup.procs"), encoding="utf-8") as fh:
                        found.update(int(p) for p in fh.read().split())
                except OSError:
                    pass
    return found


def shut_down(lab_name: str, h: Host, timeout: float) -> None:
    """An orderly shutdown of the running host ``h``: SIGTERM to its systemd-nspawn, which asks the
    container's systemd to shut down (SIGRTMIN+3, systemd's orderly halt), so its units stop
    as on a real host. After ``timeout`` seconds nspawn and whatever is left in the host's cgroup
    are killed (said on stderr), as a power cut would."""
    echo(f"shutting {h.name} down...")
    signal_process(h.pid, signal.SIGTERM)
    try:
        wait_for(lambda: not pid_alive(h.pid), timeout, 0.1, f"{h.name} to shut down")
    except TimeoutError:
        echo(f"{h.name} did not shut down in {timeout:.0f}s: killing it")
    left = ({h.pid} if pid_alive(h.pid) else set()) | cgroup_pids(cgroup_dirs(lab_name, h.name))
    for pid in left:
        signal_process(pid, signal.SIGKILL)
    wait_for(lambda: not any(pid_alive(p) for p in left), 10, 0.05, f"the processes of {h.name} to exit")
    reap([h.pid])


def start_again(folder: LabFolder, lab_name: str, h: Host, binds: list[str], env: dict,
                record_host: Callable[[Host], None]) -> None:
    """Boot the stopped host ``h`` with the command line `up` used (same root, disks, network
    namespace and binds), record its new pid, and wait for its sshd."""
    t0 = time.monotonic()
    h.pid = _start(folder, lab_name, h, binds, env)
    record_host(h)
    _wait_ssh(folder, h)
    echo(f"{h.name} answers on ssh again after {time.monotonic() - t0:.1f}s")
