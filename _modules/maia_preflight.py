"""Read-only checks of one host before maia-salt changes anything on it.

``maia_preflight.check`` looks at the host as the stages would use it and
returns every problem it finds, each with the fix, instead of stopping at the
first one. It only reads: ``/proc``, ``/sys``, the resolver, ``blkid`` and
the LVM reports (through ``maia_storage``). The runner ``maia_preflight.run``
gathers it from every host and adds the site checks (clock skew between
hosts, CONFIG_FOLDER); ``orch.maia`` runs that first.

A finding is ``{"check", "level", "message", "fix"}``; ``level`` is ``error``
(the install would fail or harm the host) or ``warning``.

CLI examples::

    salt maia-node-0 maia_preflight.check
    salt-call maia_preflight.check flags='{"prepare": {"lvm": false}}'
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import time

import salt.utils.data
import salt.utils.network
import salt.utils.secret

log = logging.getLogger(__name__)

__virtualname__ = "maia_preflight"

# the releases stage 1 is rendered for in tests/prepare/test_render.py (OS)
SUPPORTED_OS = ("Debian-12", "Debian-13", "Ubuntu-20.04", "Ubuntu-22.04", "Ubuntu-24.04")

# ports the stages open, by role, and the processes that may hold them already
# (a converged site: MicroK8s, its ingress, the kernel NFS server, rpcbind)
K8S_PORTS = (16443, 80, 443)
NFS_PORTS = (2049, 111)
OWN_LISTENERS = {
    16443: {"kubelite", "kube-apiserver", "k8s-dqlite"},
    80: {"nginx", "kubelite", "containerd-shim"},
    443: {"nginx", "kubelite", "containerd-shim"},
    10250: {"kubelite", "kubelet", "k3s-agent", "k3s-server", "k3s", "rke2", "k0s"},
    2049: {""},  # nfsd is a kernel thread: its socket belongs to no process
    111: {"rpcbind", "systemd"},  # rpcbind.socket is held by systemd
}

# a worker host: the kubelet's port on itself, and where it joins the control plane, by distribution
WORKER_PORTS = (10250,)
JOIN_PORTS = {"microk8s": 25000, "k3s": 6443, "rke2": 9345, "k0s": 6443}

DEFAULTS = {
    "min_memory_mb": 4096,  # MicroK8s with the MAIA core layer; MicroK8s itself needs 540 MB
    "min_cpus": 2,
    "vg": "MAIA_Storage",
    "default_size": "100%FREE",
}


def __virtual__():
    return __virtualname__


def _pillar(key, default=None, pillar=None):
    """``key`` of ``pillar`` (the master's fresh compile, which the runner sends), else of this
    host's own pillar; unmasked either way (Salt 3008 masks pillar values in modules)."""
    if pillar is None:
        return __salt__["pillar.get"](key, default, unmask=True)
    return salt.utils.secret.expose(salt.utils.data.traverse_dict_and_list(pillar, key, default, delimiter=":"))


def _finding(check, message, fix, level="error"):
    return {"check": check, "level": level, "message": message, "fix": fix}


def _flag(flags, pillar, stage, name, default=True):
    value = (flags.get(stage) or {}).get(name, _pillar(f"maia:{stage}:{name}", default, pillar))
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


# ------------------------------------------------------------------- checks


def os_findings(osfinger=None):
    osfinger = osfinger if osfinger is not None else __grains__.get("osfinger", "")
    if osfinger in SUPPORTED_OS:
        return []
    return [_finding("os", f"{osfinger or 'this OS'} is not a supported release",
                     f"install one of {', '.join(SUPPORTED_OS)}")]


def _storage_fix(message):
    if "does not exist" in message:
        return "attach the disk or correct device_list in the host's vars of inventory.yaml"
    if "not a block device" in message:
        return "name a disk or partition under /dev in device_list"
    if "in use" in message:
        return "unmount it (and remove it from /etc/fstab, swapoff) or name another disk in device_list"
    if "filesystem" in message or "partition table" in message or "LVM metadata" in message:
        return "if its data is not needed, wipe it (wipefs -a DEVICE); else name another disk in device_list"
    if "physical volume of volume group" in message:
        return "name a disk that is not part of another volume group in device_list"
    if "_size" in message:
        return "lower local_storage_size/nfs_storage_size in the host's vars or add disks to device_list"
    return "correct the host's vars in inventory.yaml"


def storage_findings(host, roles, vg=DEFAULTS["vg"], default_size=DEFAULTS["default_size"]):
    """``device_list`` and the requested sizes, checked as ``maia.prepare.lvm`` would (maia_storage.validate)."""
    volumes = [{"lv": "maia_0_local", "key": "local_storage_size",
                "size": host.get("local_storage_size") or default_size}]
    if "nfs_server" in roles:
        volumes.append({"lv": "maia_0", "key": "nfs_storage_size", "size": host.get("nfs_storage_size") or default_size})
    problems = __salt__["maia_storage.validate"](host.get("device_list") or [], volumes, vg)
    return [_finding("storage", p, _storage_fix(p)) for p in problems]


def _own_addresses():
    """This host's addresses, less loopback and IPv6 link-local (no inventory names those)."""
    found = set(salt.utils.network.ip_addrs(include_loopback=False))
    found |= set(salt.utils.network.ip_addrs6(include_loopback=False))
    return {a for a in found if not ipaddress.ip_address(a.split("%")[0]).is_link_local}


def _resolve(name):
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(name, None)})
    except OSError:
        return []


def names_findings(minion_id, address, own=None):
    """The host name resolves, and the inventory address is one of this host's addresses."""
    found = []
    hostname = socket.gethostname()
    if not _resolve(hostname):
        found.append(_finding("names", f"the host name {hostname!r} does not resolve",
                              f"add '{hostname}' with the host's address to /etc/hosts or to DNS"))
    if not address:
        found.append(_finding("names", f"{minion_id} has no address in inventory.yaml",
                              "set address: in the host's entry of inventory.yaml"))
        return found
    try:
        wanted = [str(ipaddress.ip_address(address))]
    except ValueError:
        wanted = _resolve(address)
        if not wanted:
            found.append(_finding("names", f"the inventory address {address!r} does not resolve",
                                  f"use an IP address or add {address} to DNS or /etc/hosts"))
            return found
    own = _own_addresses() if own is None else set(own)
    if not own & set(wanted):
        have = ", ".join(sorted(own)) or "none"
        found.append(_finding("names", f"the inventory address {address} is not an address of this host (it has {have})",
                              "set address: in inventory.yaml to the address other hosts reach this one on"))
    return found


def _listening_inodes(port):
    """Socket inodes listening on TCP ``port`` (IPv4 and IPv6)."""
    inodes = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path, encoding="ascii") as fh:
                next(fh, None)
                for line in fh:
                    fields = line.split()
                    if len(fields) < 10 or fields[3] != "0A":  # 0A: LISTEN
                        continue
                    if int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            continue
    return inodes


def _socket_owners(inodes):
    """{pid: process name} of the processes holding any of ``inodes``."""
    links = {f"socket:[{inode}]" for inode in inodes}
    owners = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in links:
                    with open(f"/proc/{pid}/comm", encoding="utf-8") as fh:
                        owners[int(pid)] = fh.read().strip()
                    break
            except OSError:
                continue
    return owners


def port_findings(ports):
    """Ports the stages will open that something else listens on already."""
    found = []
    for port in ports:
        inodes = _listening_inodes(port)
        if not inodes:
            continue
        owners = _socket_owners(inodes)
        names = set(owners.values()) or {""}
        if names <= OWN_LISTENERS.get(port, set()):
            continue
        who = ", ".join(f"{name} (pid {pid})" for pid, name in sorted(owners.items())) or "a kernel socket"
        found.append(_finding("ports", f"TCP port {port} is taken by {who}",
                              f"stop or move that service: maia-salt needs port {port} on this host"))
    return found


def join_findings(pillar=None, timeout=3):
    """A worker: can it reach the control plane's join port (``JOIN_PORTS``)? A refused connection
    is fine (the control plane answers; before its first stage 2 nothing listens there yet); no
    answer at all is a warning: a firewall between them drops it (stage 2 opens it in the control
    plane's UFW for the workers; any other firewall must let it through)."""
    cluster = _pillar("maia:cluster", {}, pillar) or {}
    distribution = cluster.get("k8s_distribution") or "microk8s"
    port = JOIN_PORTS.get(distribution)
    hosts = _pillar("maia:hosts", {}, pillar) or {}
    control = [h.get("address") or h.get("ip") for _n, h in sorted(hosts.items())
               if "control-plane" in (h.get("roles") or [])]
    if not port or not control or not control[0]:
        return []
    address = control[0]
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return []
    except ConnectionRefusedError:
        return []
    except OSError as exc:
        return [_finding("join", f"the control plane {address}:{port} ({distribution}'s join port) does not answer "
                                 f"from this worker ({type(exc).__name__})",
                         f"let this host reach {address} on TCP {port} (stage 2 opens it in the control plane's UFW "
                         f"for the workers; open it in any firewall between them)", level="warning")]


def _memory_mb():
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def resources_findings(min_memory_mb, min_cpus):
    found = []
    memory = _memory_mb()
    if memory < int(min_memory_mb):
        found.append(_finding("resources", f"{memory} MB of memory, MicroK8s with MAIA needs {min_memory_mb} MB",
                              "give the control-plane host more memory or pick a bigger host"))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
    if cpus < int(min_cpus):
        found.append(_finding("resources", f"{cpus} CPUs, MicroK8s with MAIA needs {min_cpus}",
                              "give the control-plane host more CPUs or pick a bigger host"))
    return found


def gpu_findings(nvidia_drivers):
    gpu = __grains__.get("maia_gpu") or {}
    if gpu.get("nvidia") and not nvidia_drivers:
        devices = ", ".join(gpu.get("nvidia_devices") or [])
        return [_finding("gpu", f"an NVIDIA GPU is present ({devices}) but maia:prepare:nvidia_drivers is off",
                         "set maia:prepare:nvidia_drivers to true unless the driver is managed another way",
                         level="warning")]
    return []


# --------------------------------------------------------------------- main


def _job_started():
    """This host's clock when the process running this job started: the job's arrival (a minion
    starts a process per job, salt-ssh a Python per call). From /proc; now where it cannot tell."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()


def clock_findings(clock, started=None):
    """This host's clock against the master's, as orch.maia's one-job run hands it over:
    ``clock`` = ``{"at", "slack", "max_skew"}``, the master's clock when it sent the job out and
    the seconds the job may take to arrive. The job arrived (``started``, this host's clock)
    within [at, at + slack] of the master's clock; the distance to that window is the least
    this clock is off. The preflight runner measures the window itself instead."""
    at, slack, max_skew = (float(clock.get(k, d)) for k, d in (("at", 0), ("slack", 0), ("max_skew", 5)))
    started = _job_started() if started is None else started
    offset = started - (at + slack) if started > at + slack else started - at if started < at else 0.0
    if abs(offset) <= max_skew:
        return []
    way = "ahead of" if offset > 0 else "behind"
    return [_finding("clock",
                     f"the clock is at least {abs(offset):.0f}s {way} the master's (at most {max_skew:g}s allowed)",
                     "run a time service on every host (systemd-timesyncd, chrony) against the same NTP servers")]


def check(flags=None, settings=None, site=None, clock=None):
    """
    Run every check that applies to this host's roles and return
    ``{"host", "roles", "time", "checks": [...], "findings": [...]}``.

    flags
        Stage flags that override the pillar's (``{"prepare": {"lvm": false}}``),
        as ``orch.maia`` passes them on to the stages.
    settings
        Thresholds overriding ``maia:preflight`` (``min_memory_mb``, ``min_cpus``).
    site
        ``{host: {"maia": {...}}}``: each host's pillar as the master compiles
        it now (the runner passes it: a minion's own copy may predate an
        inventory change). This host's entry replaces its pillar; without
        one, the host's own pillar is used.
    clock
        ``{"at", "slack", "max_skew"}``: check this host's clock against the master's here
        (orch.maia's one-job run, :func:`clock_findings`); the runner checks it otherwise.

    ``time`` is this host's clock when the checks finished (epoch seconds):
    the runner compares the hosts' clocks with it.
    """
    # salt-ssh hands arguments over as text (the runner sends JSON)
    flags, settings, site, clock = (json.loads(v) if isinstance(v, str) else v for v in (flags, settings, site, clock))
    flags = flags or {}
    minion_id = __grains__.get("id") or __opts__.get("id")
    pillar = (site or {}).get(minion_id)
    conf = dict(DEFAULTS)
    conf.update(_pillar("maia:preflight", {}, pillar) or {})
    conf.update(settings or {})
    host = _pillar("maia:host", {}, pillar) or {}
    roles = list(_pillar("maia:roles", [], pillar) or [])
    checks = ["os", "names"]
    findings = os_findings() + names_findings(minion_id, host.get("address"))
    if _flag(flags, pillar, "prepare", "lvm"):
        checks.append("storage")
        findings += storage_findings(host, roles, conf["vg"], conf["default_size"])
    ports = []
    if "control-plane" in roles and _flag(flags, pillar, "k8s", "install_microk8s"):
        ports += K8S_PORTS
        checks.append("resources")
        findings += resources_findings(conf["min_memory_mb"], conf["min_cpus"])
    if "nfs_server" in roles and _flag(flags, pillar, "prepare", "nfs"):
        ports += NFS_PORTS
    if "worker" in roles:
        ports += WORKER_PORTS
        checks.append("join")
        findings += join_findings(pillar)
    if ports:
        checks.append("ports")
        findings += port_findings(ports)
    checks.append("gpu")
    findings += gpu_findings(_flag(flags, pillar, "prepare", "nvidia_drivers"))
    if clock:
        checks.append("clock")
        findings += clock_findings(clock)
    return {"host": minion_id, "roles": roles, "time": time.time(), "checks": checks, "findings": findings}
