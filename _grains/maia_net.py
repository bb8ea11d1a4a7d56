"""Grain ``maia_default_ipv4``: the IPv4 address of the interface that holds
this host's default route (what Ansible calls ``ansible_default_ipv4.address``).

An inventory host without an IP address (the Ansible collection's example
inventory gives host names only) is reached at this address in firewall and
NFS rules. Reads ``/proc/net/route``; empty when there is no default route.
"""
import logging

import salt.utils.network

log = logging.getLogger(__name__)

PROC_ROUTE = "/proc/net/route"


def default_route_interface(route_file=PROC_ROUTE):
    """The interface of the IPv4 default route with the lowest metric, or None."""
    best = None
    try:
        with open(route_file, encoding="ascii") as fh:
            lines = fh.read().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or fields[1] != "00000000" or fields[7] != "00000000":
            continue  # not a default route (destination and mask 0.0.0.0)
        if not int(fields[3], 16) & 0x1:  # RTF_UP
            continue
        metric = int(fields[6])
        if best is None or metric < best[0]:
            best = (metric, fields[0])
    return best[1] if best else None


def maia_default_ipv4():
    iface = default_route_interface()
    if not iface:
        return {"maia_default_ipv4": ""}
    inet = (salt.utils.network.interfaces().get(iface) or {}).get("inet") or []
    address = inet[0].get("address", "") if inet else ""
    return {"maia_default_ipv4": address}
