"""Addresses that a host reported about itself, trusted on first use (like SSH host keys).

Firewall and NFS rules on every host trust the other hosts by IP. Where the
inventory gives a host an IP, that IP is used. Where it gives a DNS name or
nothing, the IP comes from the host's own grain ``maia_default_ipv4``, and a
minion sets its own grains: a compromised host could name any address and have
every other host's UFW and the NFS export open to it.

So the first address a host reports is recorded in
``CONFIG_FOLDER/known-addresses.json`` (0600, written atomically). A later report
that differs stops the pillar render, and so the run, naming the host, the old
and the new address, until the admin accepts the new one::

    maia hosts accept-address maia-node-1 --config-folder /opt/maia/config

File layout: ``{"hosts": {name: address}, "pending": {name: address}}``; a
refused change is kept under ``pending`` so that the command can show and pin
exactly what was refused.
"""
from __future__ import annotations

import json
from pathlib import Path

from .addresses import ip_address
from .files import PlannedFile, write_files_atomically

KNOWN_FILE = "known-addresses.json"


class AddressChanged(ValueError):
    """A host reports another address than the one recorded; the message names both and the fix."""


def _read(folder: Path) -> dict:
    path = Path(folder) / KNOWN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"hosts": {}, "pending": {}}
    except (OSError, ValueError) as exc:
        raise AddressChanged(f"{path}: unreadable ({exc}): fix or remove it (every address is then learnt again)") from None
    if not isinstance(data, dict):
        raise AddressChanged(f"{path}: must hold a JSON object: fix or remove it")
    return {"hosts": dict(data.get("hosts") or {}), "pending": dict(data.get("pending") or {})}


def _write(folder: Path, data: dict) -> None:
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_files_atomically(Path(folder), [PlannedFile(KNOWN_FILE, text.encode(), 0o600)])


def known(folder) -> dict:
    """{host: recorded address}."""
    return _read(Path(folder))["hosts"]


def pinned_ip(folder, name: str, reported) -> str | None:
    """The IP to trust for host ``name`` whose inventory entry has none: the recorded one.
    ``reported`` (the host's grain) is recorded the first time; a different one raises
    AddressChanged (and is kept as pending). No report: the recorded address, if any."""
    folder = Path(folder)
    reported = ip_address(reported)
    data = _read(folder)
    recorded = data["hosts"].get(name)
    if reported is None or reported == recorded:
        if reported is not None and name in data["pending"]:
            del data["pending"][name]  # the host is back at its recorded address
            _write(folder, data)
        return recorded
    if recorded is None:
        data["hosts"][name] = reported
        data["pending"].pop(name, None)
        _write(folder, data)
        return reported
    if data["pending"].get(name) != reported:
        data["pending"][name] = reported
        _write(folder, data)
    raise AddressChanged(
        f"host {name} now reports address {reported} (grain maia_default_ipv4), but {recorded} is the one "
        f"recorded in {folder / KNOWN_FILE}; nothing was changed. If the host really moved, accept it: "
        f"maia hosts accept-address {name} --config-folder {folder}"
    )


def accept(folder, name: str) -> tuple[str | None, str] | None:
    """Pin the pending address of ``name``: (old, new), or None when nothing is pending."""
    folder = Path(folder)
    data = _read(folder)
    new = data["pending"].pop(name, None)
    if new is None:
        return None
    old = data["hosts"].get(name)
    data["hosts"][name] = new
    _write(folder, data)
    return old, new
