"""The site inventory: hosts, their groups, connection and host vars.

``inventory.yaml`` in CONFIG_FOLDER is the one source of host data: the
ext_pillar maps it onto pillar, ``maia roster`` turns it into a salt-ssh
roster, and ``maia-configure import-inventory`` makes it from an Ansible
INI inventory plus ``host_vars``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from .files import PlannedFile, dump_yaml, load_yaml_unique, write_files_atomically

GROUPS = ("control-plane", "nfs_server", "nfs_clients")
DEFAULT_SIZE = "100%FREE"
INVENTORY_FILE = "inventory.yaml"
# salt-ssh runs several ssh/scp commands per host and call: let them share one
# connection (kept 60 s after the last use) instead of a handshake each
SSH_REUSE = ["ControlMaster=auto", "ControlPersist=60s", "ControlPath=~/.ssh/maia-salt-%C"]

_ABSOLUTE_SIZE = re.compile(r"^\d+(\.\d+)?[bskmgtpeBSKMGTPE]$")
_PERCENT_SIZE = re.compile(r"^(\d{1,3})%(FREE|VG|PVS)$")

SCHEMA = {
    "type": "object",
    "required": ["hosts"],
    "additionalProperties": False,
    "properties": {
        "hosts": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["address"],
                "additionalProperties": False,
                "properties": {
                    "address": {"type": "string", "minLength": 1},
                    "user": {"type": "string", "minLength": 1},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "sudo": {"type": "boolean"},
                    "groups": {"type": "array", "items": {"enum": list(GROUPS)}, "uniqueItems": True},
                    "vars": {
                        "type": "object",
                        "properties": {
                            "device_list": {"type": "array", "items": {"type": "string", "pattern": "^/dev/"}},
                            "local_storage_size": {"type": "string"},
                            "nfs_storage_size": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}


class InventoryError(ValueError):
    """A problem in the inventory; the message names file, host, key and fix."""


@dataclass
class Host:
    name: str
    address: str
    user: str = "root"
    port: int = 22
    sudo: bool = False
    groups: list[str] = field(default_factory=list)
    vars: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "address": self.address,
            "user": self.user,
            "port": self.port,
            "sudo": self.sudo,
            "groups": list(self.groups),
            "vars": dict(self.vars),
        }


@dataclass
class Inventory:
    hosts: dict[str, Host]
    source: str = INVENTORY_FILE

    def in_group(self, group: str) -> list[Host]:
        return [h for h in self.hosts.values() if group in h.groups]

    @property
    def nfs_server(self) -> Host | None:
        servers = self.in_group("nfs_server")
        return servers[0] if servers else None

    def to_dict(self) -> dict:
        return {"hosts": {name: host.to_dict() for name, host in self.hosts.items()}}

    def to_roster(self, priv: str | None = None) -> dict:
        roster = {}
        for name, host in self.hosts.items():
            entry = {"host": host.address, "user": host.user, "port": host.port}
            if host.sudo:
                entry["sudo"] = True
            if priv:
                entry["priv"] = str(priv)
            entry["ssh_options"] = list(SSH_REUSE)
            roster[name] = entry
        return roster

    def validate(self, lvm_enabled: bool = True) -> None:
        """Semantic checks beyond the schema; raises InventoryError with every problem."""
        problems = []
        servers = self.in_group("nfs_server")
        if len(servers) > 1:
            names = ", ".join(h.name for h in servers)
            problems.append(f"two NFS servers ({names}): keep nfs_server on exactly one host")
        if self.in_group("nfs_clients") and not servers:
            problems.append("hosts are in nfs_clients but no host is in nfs_server: add the NFS server host to group nfs_server")
        for host in self.hosts.values():
            if "nfs_server" in host.groups and "nfs_clients" in host.groups:
                problems.append(f"host {host.name}: in both nfs_server and nfs_clients: keep one")
            for key in ("local_storage_size", "nfs_storage_size"):
                size = host.vars.get(key)
                if size is not None and not valid_size(str(size)):
                    problems.append(
                        f"host {host.name}: {key}={size!r} is not an LVM size: use an absolute size "
                        f"such as 300g, 500m, 1.8t, or a percentage such as 50%FREE or 50%VG"
                    )
            if lvm_enabled:
                if not host.vars.get("device_list"):
                    problems.append(
                        f"host {host.name}: device_list is missing: list its disks for LVM "
                        f"(e.g. device_list: [/dev/sdb]) or turn LVM off (maia:prepare:lvm: false)"
                    )
                if "nfs_server" in host.groups:
                    local = str(host.vars.get("local_storage_size", DEFAULT_SIZE))
                    if local.upper() == "100%FREE":
                        problems.append(
                            f"host {host.name}: local_storage_size is 100%FREE on the NFS server, so the local "
                            f"volume maia_0_local would take the whole volume group and leave nothing for the "
                            f"NFS volume maia_0: set local_storage_size to e.g. 50%FREE or an absolute size"
                        )
        if problems:
            raise InventoryError(f"{self.source}: " + "; ".join(problems))


def valid_size(size: str) -> bool:
    if _ABSOLUTE_SIZE.match(size):
        return float(size[:-1]) > 0
    match = _PERCENT_SIZE.match(size.upper())
    return bool(match) and 0 < int(match.group(1)) <= 100


def inventory_from_dict(data, source: str = INVENTORY_FILE) -> Inventory:
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise InventoryError(f"{source}: at {where}: {exc.message}") from None
    hosts = {}
    for name, spec in data["hosts"].items():
        hosts[name] = Host(
            name=name,
            address=spec["address"],
            user=spec.get("user", "root"),
            port=spec.get("port", 22),
            sudo=spec.get("sudo", False),
            groups=list(spec.get("groups", [])),
            vars=dict(spec.get("vars", {}) or {}),
        )
    return Inventory(hosts, source)


def load_inventory(path) -> Inventory:
    path = Path(path)
    try:
        data = load_yaml_unique(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file: run `maia-configure import-inventory` or write it") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    return inventory_from_dict(data, str(path))


def write_inventory(inventory: Inventory, config_folder) -> Path:
    folder = Path(config_folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_files_atomically(folder, [PlannedFile(INVENTORY_FILE, dump_yaml(inventory.to_dict()).encode(), 0o644)])
    return folder / INVENTORY_FILE


# ------------------------------------------------------ Ansible INI import ---


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "1", "on")


def import_ansible_inventory(ini_path, host_vars_dir=None) -> Inventory:
    """Read an Ansible INI inventory of the MAIA collection (+ host_vars/*.yml)."""
    ini_path = Path(ini_path)
    hosts: dict[str, Host] = {}
    group = None
    for lineno, raw in enumerate(ini_path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group is None or ":" in group:
            # Hosts outside a group or group :vars/:children sections are not host lines.
            if group is None:
                raise InventoryError(f"{ini_path}:{lineno}: host line outside a [group] section")
            continue
        name, *pairs = line.split()
        settings = {}
        for pair in pairs:
            if "=" not in pair:
                raise InventoryError(f"{ini_path}:{lineno}: expected key=value, got {pair!r}")
            key, value = pair.split("=", 1)
            settings[key] = value
        host = hosts.get(name)
        if host is None:
            host = hosts[name] = Host(name=name, address=name)
        if "ansible_host" in settings:
            host.address = settings["ansible_host"]
        if "ansible_user" in settings:
            host.user = settings["ansible_user"]
        if "ansible_port" in settings:
            host.port = int(settings["ansible_port"])
        if "ansible_become" in settings:
            host.sudo = _truthy(settings["ansible_become"]) and host.user != "root"
        if group in GROUPS and group not in host.groups:
            host.groups.append(group)
    if host_vars_dir is not None:
        for name, host in hosts.items():
            for suffix in (".yml", ".yaml"):
                path = Path(host_vars_dir) / f"{name}{suffix}"
                if path.is_file():
                    data = load_yaml_unique(path.read_text(encoding="utf-8")) or {}
                    if not isinstance(data, dict):
                        raise InventoryError(f"{path}: expected a mapping of host variables")
                    host.vars.update(
                        {k: v for k, v in data.items() if k in ("device_list", "local_storage_size", "nfs_storage_size")}
                    )
                    break
    inventory = Inventory(hosts, str(ini_path))
    # Round-trip through the schema so an imported inventory is as valid as a written one.
    return inventory_from_dict(inventory.to_dict(), str(ini_path))
