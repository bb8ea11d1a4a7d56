"""What counts as a host address, a network and an NFS export target.

Every address that ends up in an ssh argument, a UFW rule or ``/etc/exports``
passes one of these checks first. Each check takes the whole string: a
trailing newline, a leading ``-`` (an ssh option), blanks, parentheses or
``*`` are refused, so that a value like ``x(rw) *`` cannot widen an export.
"""
from __future__ import annotations

import ipaddress
import re

# RFC 1123 host name: dot-separated labels of letters, digits and '-', no label
# starting or ending with '-', at most 253 characters.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def ip_address(value) -> str | None:
    """The canonical IPv4/IPv6 address, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def is_dns_name(value) -> bool:
    return isinstance(value, str) and len(value) <= 253 and _DNS_NAME.fullmatch(value) is not None


def is_address(value) -> bool:
    """An IPv4 or IPv6 address or a DNS name (what a host's ``address`` may be)."""
    return ip_address(value) is not None or is_dns_name(value)


def network(value) -> str | None:
    """The canonical form of an IP address or CIDR network, or None."""
    if not isinstance(value, str) or value.strip() != value:
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def is_export_target(value) -> bool:
    """An ``/etc/exports`` client: address, CIDR network, DNS name, or ``*`` (everyone)."""
    return value == "*" or network(value) is not None or is_dns_name(value)


def describe_address_problem(owner: str, key: str, value) -> str:
    return (
        f"{owner}: {key}={value!r} is not an IPv4/IPv6 address or DNS name: "
        f"give e.g. 198.18.0.11, fd00::11 or node-0.example.org"
    )
