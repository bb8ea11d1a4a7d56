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
from typing import Callable

from .hosts import Host
from .util import echo, run

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


def bridge_name(slice_: int) -> str:
    return f"mlab{slice_}"


def bridge_address(slice_: int) -> str:
    return str(subnet(slice_).network_address + 1)


def claim_slice(labs_dir: str, name: str, record: Callable[[int], None]) -> int:
    """Take the first free slice under a lock shared by every lab; ``record(slice)`` writes the
    lab's state.json (naming the slice) before the lock is let go, so no other lab takes it."""
    os.makedirs(labs_dir, exist_ok=True)
    with open(os.path.join(labs_dir, ".alloc.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        used = _used_slices(labs_dir, name)
        # a slice whose bridge exists (left by a lab whose folder is gone) is not free either
        free = [s for s in range(SLICES) if s not in used and not os.path.exists(f"/sys/class/net/{bridge_name(s)}")]
        if not free:
            raise RuntimeError(f"all {SLICES} lab slices of {NETWORK} are in use: `maia lab status`, then `maia lab down --name ...`")
        record(free[0])
        return free[0]


def plan_hosts(lab_name: str, slice_: int, nhosts: int) -> list[Host]:
    """The hosts of a lab in ``slice_``: names, addresses, netns, veths."""
    return [
        Host(
            name=f"maia-node-{k}",
            index=k,
            address=str(subnet(slice_).network_address + HOST_OFFSET + k),
            netns=f"maialab-{lab_name}-{k}",
            veth=f"{bridge_name(slice_)}n{k}",
            machine=f"maialab-{lab_name}-{k}",
        )
        for k in range(nhosts)
    ]


def create(bridge: str, address: str, hosts: list[Host]) -> None:
    """The bridge with its address, and for each host a netns with ``eth0`` joined to the bridge."""
    echo(f"network: bridge {bridge} {address}/{SLICE_PREFIX}, {len(hosts)} netns + veth")
    if not os.path.exists(f"/sys/class/net/{bridge}"):
        run(["ip", "link", "add", bridge, "type", "bridge"])
    run(["ip", "addr", "replace", f"{address}/{SLICE_PREFIX}", "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])
    for h in hosts:
        if not os.path.exists(f"/run/netns/{h.netns}"):
            run(["ip", "netns", "add", h.netns])
        if not os.path.exists(f"/sys/class/net/{h.veth}"):
            run(["ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.netns])
        run(["ip", "link", "set", h.veth, "master", bridge, "up"])
        run(["ip", "-n", h.netns, "addr", "replace", f"{h.address}/{SLICE_PREFIX}", "dev", "eth0"])
        run(["ip", "-n", h.netns, "link", "set", "eth0", "up"])
        run(["ip", "-n", h.netns, "link", "set", "lo", "up"])


def netns_names(lab_name: str, hosts: list[Host]) -> list[str]:
    """The lab's network namespaces that exist: recorded ones and any named after the lab (crashed `up`)."""
    names = set(h.netns for h in hosts)
    try:
        names.update(ns for ns in os.listdir("/run/netns") if re.fullmatch(rf"maialab-{re.escape(lab_name)}-\d+", ns))
    except OSError:
        pass
    return sorted(n for n in names if os.path.exists(f"/run/netns/{n}"))


def remove(netns: list[str], slice_: int | None) -> None:
    """Delete the namespaces, and the veths and the bridge of the lab's slice (when it got one)."""
    for ns in netns:
        run(["ip", "netns", "del", ns], check=False)
    if slice_ is not None:
        prefix = bridge_name(slice_)
        for link in os.listdir("/sys/class/net"):
            if link == prefix or re.fullmatch(prefix + r"n\d+", link):
                run(["ip", "link", "del", link], check=False)
