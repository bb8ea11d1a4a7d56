"""Grain ``maia_default_ipv4``: the IPv4 address of the interface that holds
this host's default route (what Ansible calls ``ansible_default_ipv4.address``).

An inventory host without an IP address (the Ansible collection's example
inventory gives host names only) is reached at this address in firewall and
NFS rules. Reads ``/proc/net/route``. Without a default route (an isolated
network) it is the host's only non-loopback IPv4 address when it has exactly
one, else empty.
"""
import logging

import salt.utils.network

log = logging.getLogger(__name__)

PROC_ROUTE = "/proc/net/route"


def _default_route_interface(route_file=PROC_ROUTE):
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


def _default_ipv4(interfaces, iface):
    """The address for ``iface`` (the default route's interface) in
    ``salt.utils.network.interfaces()`` data, or the only non-loopback one."""
    if iface:
        inet = (interfaces.get(iface) or {}).get("inet") or []
        return inet[0].get("address", "") if inet else ""
    found = [
        a.get("address", "")
        for name, data in interfaces.items()
        for a in (data.get("inet") or [])
        if name != "lo" and not a.get("address", "").startswith("127.")
    ]
    return found[0] if len(found) == 1 else ""


def maia_default_ipv4():
    return {"maia_default_ipv4": _default_ipv4(salt.utils.network.interfaces(), _default_route_interface())}
