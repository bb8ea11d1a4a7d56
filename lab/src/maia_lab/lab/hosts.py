"""The lab's hosts: an overlay root over the cached base root, their identity files, and their boot.

Each host is ``systemd-nspawn --boot`` on ``hosts/<host>/merged`` (overlayfs:
the base root read-only below, the host's own upper dir), in its own network
namespace and its own cgroup, with its own SSH host keys.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
import uuid
from typing import TYPE_CHECKING

from .util import echo, pid_alive, run, ssh_banner, wait_for, write_file

if TYPE_CHECKING:
    from .core import Lab

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


def root(lab: Lab, host: Host) -> str:
    """The host's root as this machine sees it (writable: the overlay's merged dir)."""
    return lab.path("hosts", host.name, "merged")


def make_keys(lab: Lab) -> None:
    """The lab key (root on every host), each host's SSH host keys and the lab's known_hosts."""
    if not os.path.exists(lab.key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"maia-lab-{lab.name}", "-f", lab.key])
    lines = []
    for h in lab.hosts:
        keydir = lab.path("hosts", h.name, "hostkeys")
        os.makedirs(os.path.join(keydir, "etc", "ssh"), exist_ok=True)
        run(["ssh-keygen", "-A", "-f", keydir])
        with open(os.path.join(keydir, "etc/ssh/ssh_host_ed25519_key.pub"), encoding="utf-8") as fh:
            typ, key = fh.read().split()[:2]
        lines.append(f"{h.name},{h.address} {typ} {key}\n")
    with open(lab.known_hosts, "w", encoding="utf-8") as fh:
        fh.writelines(lines)


def mount_overlays(lab: Lab, base_root: str) -> None:
    lab.state["base_root"] = base_root
    lab.save()
    for h in lab.hosts:
        hd = lab.path("hosts", h.name)
        for sub in ("upper", "work", "merged"):
            os.makedirs(os.path.join(hd, sub), exist_ok=True)
        if not os.path.ismount(root(lab, h)):
            run([
                "mount", "-t", "overlay", f"maialab-{lab.name}", "-o",
                f"lowerdir={base_root},upperdir={hd}/upper,workdir={hd}/work", root(lab, h),
            ])


def write_identity(lab: Lab) -> None:
    """Name, /etc/hosts, machine id, SSH keys and apt proxy of every host, in its root."""
    etc_hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    etc_hosts += f"{lab.bridge_address}\tmaia-lab-bridge salt\n"
    etc_hosts += "".join(f"{h.address}\t{h.name}\n" for h in lab.hosts)
    with open(lab.key + ".pub", encoding="utf-8") as fh:
        pubkey = fh.read()
    for h in lab.hosts:
        top = root(lab, h)
        write_file(os.path.join(top, "etc/hostname"), h.name + "\n")
        # a lab host is thrown away at `down`: do not wait long for units that linger
        write_file(os.path.join(top, "etc/systemd/system.conf.d/maia-lab.conf"), "[Manager]\nDefaultTimeoutStopSec=3s\n")
        write_file(os.path.join(top, "etc/hosts"), etc_hosts)
        write_file(os.path.join(top, "etc/machine-id"), uuid.uuid4().hex + "\n", 0o444)
        os.makedirs(os.path.join(top, "root/.ssh"), mode=0o700, exist_ok=True)
        write_file(os.path.join(top, "root/.ssh/authorized_keys"), pubkey, 0o600)
        keydir = lab.path("hosts", h.name, "hostkeys", "etc", "ssh")
        for f in os.listdir(keydir):
            shutil.copy2(os.path.join(keydir, f), os.path.join(top, "etc/ssh", f))
        write_file(
            os.path.join(top, "etc/apt/apt.conf.d/01maia-lab-proxy"),
            f'Acquire::http::Proxy "{lab.proxy_url}";\nAcquire::https::Proxy "{lab.proxy_url}";\n',
        )


def cgroup_dirs(lab: Lab, host: str | None = None) -> list[str]:
    """This lab's (or one host's) cgroup in each writable hierarchy nspawn uses."""
    roots = [r for r in CGROUP_ROOTS if os.path.isfile(os.path.join(r, "cgroup.procs")) and os.access(r, os.W_OK)]
    if not roots and os.path.isfile("/sys/fs/cgroup/cgroup.controllers") and os.access("/sys/fs/cgroup", os.W_OK):
        roots = ["/sys/fs/cgroup"]  # pure cgroup v2
    return [os.path.join(r, "maia-lab", lab.name, *([host] if host else [])) for r in roots]


def _nspawn_command(lab: Lab, h: Host, binds: list[str]) -> list[str]:
    cmd = [
        "systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
        f"--directory={root(lab, h)}",
        f"--machine={h.machine}", f"--hostname={h.name}",
        f"--network-namespace-path=/run/netns/{h.netns}",
        "--capability=CAP_NET_ADMIN",
        "--resolv-conf=off", "--timezone=off", "--link-journal=no",
        "--console=read-only",
    ]
    cmd += [f"--bind={dev}" for dev in h.devices]
    cmd += [f"--bind-ro={b}" for b in binds]
    return cmd


def boot(lab: Lab, binds: list[str]) -> None:
    """Start every host (``binds``: this machine's folders bound read-only) and wait for its sshd."""
    echo(f"booting {len(lab.hosts)} host(s) with systemd-nspawn...")
    t0 = time.monotonic()
    for h in lab.hosts:
        log = open(lab.path("logs", f"{h.name}.log"), "ab")
        # Each host in its own cgroup: with --keep-unit nspawn puts the container in
        # <its cgroup>/payload, so hosts started from one cgroup would share their
        # cgroup tree and race on it (units failing with 219/CGROUP at boot).
        cg = cgroup_dirs(lab, h.name)
        for d in cg:
            os.makedirs(d, exist_ok=True)
        enter = "".join(f'echo $$ > "{d}/cgroup.procs" 2>/dev/null; ' for d in cg)
        proc = subprocess.Popen(
            ["/bin/sh", "-c", enter + 'exec "$@"', "sh", *_nspawn_command(lab, h, binds)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            # no image lock files in /run/systemd/nspawn/locks: the lab's state file is the lock
            env=lab.env(SYSTEMD_NSPAWN_LOCK="0"),
        )
        h.pid = proc.pid
        lab.record_host(h)
    for h in lab.hosts:
        console = lab.path("logs", h.name + ".log")
        try:
            wait_for(lambda: ssh_banner(h.address) or not pid_alive(h.pid), BOOT_TIMEOUT, 0.1, f"sshd on {h.name}")
        except TimeoutError:
            raise RuntimeError(f"{h.name} did not start sshd in {BOOT_TIMEOUT}s; console: {console}")
        if not pid_alive(h.pid):
            raise RuntimeError(f"{h.name}: systemd-nspawn exited; console: {console}")
    echo(f"hosts answer on ssh after {time.monotonic() - t0:.1f}s")
