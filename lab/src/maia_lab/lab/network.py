"""The lab's addresses and network: one /27 slice of 198.18.0.0/24 per lab, a bridge, a netns per host.

In slice ``s`` the bridge ``mlab<s>`` has ``198.18.0.(32s+1)`` and host ``K``
has ``198.18.0.(32s+11+K)`` on ``eth0`` of netns ``maialab-<lab>-<K>``, joined to
the bridge by the veth ``mlab<s>n<K>``. No IP forwarding, no NAT, no default
route in the hosts: lab traffic never leaves this machine.
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import re
import time
from typing import TYPE_CHECKING

from .hosts import Host
from .util import echo, run

if TYPE_CHECKING:
    from .core import Lab

NETWORK = ipaddress.ip_network("198.18.0.0/24")
SLICE_PREFIX = 27
SLICES = 2 ** (SLICE_PREFIX - NETWORK.prefixlen)
HOST_OFFSET = 11
MAX_HOSTS = 2 ** (32 - SLICE_PREFIX) - HOST_OFFSET - 1  # 20


def subnet(slice_: int) -> ipaddress.IPv4Network:
    return list(NETWORK.subnets(new_prefix=SLICE_PREFIX))[slice_]


def _used_slices(labs_dir: str, name: str) -> set[int]:
    used = set()
    for other in os.listdir(labs_dir):
        if other == name:
            continue
        try:
            with open(os.path.join(labs_dir, other, "state.json"), encoding="utf-8") as fh:
                used.add(json.load(fh)["slice"])
        except (OSError, ValueError, KeyError):
            continue
    return used


def allocate(lab: Lab, nhosts: int, suite: str, minions: bool) -> None:
    """Take the first free slice (under a lock shared by every lab) and name the hosts in it."""
    labs_dir = os.path.dirname(lab.dir)
    os.makedirs(labs_dir, exist_ok=True)
    with open(os.path.join(labs_dir, ".alloc.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        used = _used_slices(labs_dir, lab.name)
        # a slice whose bridge exists (left by a lab whose folder is gone) is not free either
        free = [s for s in range(SLICES) if s not in used and not os.path.exists(f"/sys/class/net/mlab{s}")]
        if not free:
            raise RuntimeError(f"all {SLICES} lab slices of {NETWORK} are in use: `maia lab status`, then `maia lab down --name ...`")
        os.makedirs(lab.dir, mode=0o700, exist_ok=True)
        lab.state = {"name": lab.name, "slice": free[0], "suite": suite, "minions": minions, "created": time.time(), "hosts": []}
        lab.save()
    for k in range(nhosts):
        lab.record_host(
            Host(
                name=f"maia-node-{k}",
                index=k,
                address=str(lab.subnet.network_address + HOST_OFFSET + k),
                netns=f"maialab-{lab.name}-{k}",
                veth=f"mlab{lab.slice}n{k}",
                machine=f"maialab-{lab.name}-{k}",
            )
        )


def create(lab: Lab) -> None:
    """The bridge with its address, and for each host a netns with ``eth0`` joined to the bridge."""
    echo(f"network: bridge {lab.bridge} {lab.bridge_address}/{SLICE_PREFIX}, {len(lab.hosts)} netns + veth")
    lab.state["bridge"] = lab.bridge
    lab.save()
    if not os.path.exists(f"/sys/class/net/{lab.bridge}"):
        run(["ip", "link", "add", lab.bridge, "type", "bridge"])
    run(["ip", "addr", "replace", f"{lab.bridge_address}/{SLICE_PREFIX}", "dev", lab.bridge])
    run(["ip", "link", "set", lab.bridge, "up"])
    for h in lab.hosts:
        if not os.path.exists(f"/run/netns/{h.netns}"):
            run(["ip", "netns", "add", h.netns])
        if not os.path.exists(f"/sys/class/net/{h.veth}"):
            run(["ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.netns])
        run(["ip", "link", "set", h.veth, "master", lab.bridge, "up"])
        run(["ip", "-n", h.netns, "addr", "replace", f"{h.address}/{SLICE_PREFIX}", "dev", "eth0"])
        run(["ip", "-n", h.netns, "link", "set", "eth0", "up"])
        run(["ip", "-n", h.netns, "link", "set", "lo", "up"])


def netns_names(lab: Lab) -> list[str]:
    """The lab's network namespaces that exist: recorded ones and any named after the lab (crashed `up`)."""
    names = set(h.netns for h in lab.hosts)
    try:
        names.update(ns for ns in os.listdir("/run/netns") if re.fullmatch(rf"maialab-{re.escape(lab.name)}-\d+", ns))
    except OSError:
        pass
    return sorted(n for n in names if os.path.exists(f"/run/netns/{n}"))


def remove(lab: Lab, netns: list[str]) -> None:
    """Delete the namespaces, the veths and the bridge of the lab's slice."""
    for ns in netns:
        run(["ip", "netns", "del", ns], check=False)
    if "slice" in lab.state:
        prefix = f"mlab{lab.slice}"
        for link in os.listdir("/sys/class/net"):
            if link == prefix or re.fullmatch(prefix + r"n\d+", link):
                run(["ip", "link", "del", link], check=False)
