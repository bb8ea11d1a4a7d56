"""The site inventory: hosts, their groups, connection and host vars.

``inventory.yaml`` in CONFIG_FOLDER is the one source of host data: the
ext_pillar maps it onto pillar, ``maia roster`` turns it into a salt-ssh
roster, and ``maia-configure import-inventory`` makes it from an Ansible
INI inventory plus ``host_vars``.
"""
from __future__ import annotations

import difflib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from .files import PlannedFile, commit_folder, dump_yaml, load_yaml_mapping, load_yaml_unique

GROUPS = ("control-plane", "nfs_server", "nfs_clients", "workers")
# A group's role in the pillar (maia:roles, maia:hosts:<name>:roles) where it differs from the group's name
# (`workers`: Kubernetes worker hosts that join the control plane's cluster)
ROLE_OF_GROUP = {"workers": "worker"}
# Ansible's own groups: a host may be listed there, it gets no MAIA role from it
ANSIBLE_GROUPS = ("all", "ungrouped")
# The size of a volume no host var sizes, for the tools that run without the formulas
# (maia-configure import-inventory, the lab); the ext_pillar passes storage.default_size
# of maia/prepare/parameters/defaults.yaml instead.
DEFAULT_SIZE = "100%FREE"
INVENTORY_FILE = "inventory.yaml"
# salt-ssh runs several ssh/scp commands per host and call: let them share one
# connection (kept 60 s after the last use) instead of a handshake each. ssh does not
# make the socket's folder: ssh_control_dir() does, wherever a roster is written or used.
SSH_CONTROL_DIR = "~/.ssh"
SSH_REUSE = ["ControlMaster=auto", "ControlPersist=60s", f"ControlPath={SSH_CONTROL_DIR}/maia-salt-%C"]

# Whole-string patterns (used with fullmatch: a trailing newline never passes).
_ABSOLUTE_SIZE = re.compile(r"\d+(\.\d+)?[bskmgtpeBSKMGTPE]")
_PERCENT_SIZE = re.compile(r"(\d{1,3})%(FREE|VG|PVS)")
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# A block device path: /dev/ then letters, digits and . _ + : - / only (no shell metacharacters).
_DEVICE = re.compile(r"/dev/[A-Za-z0-9._+:-]+(/[A-Za-z0-9._+:-]+)*")
HOST_VARS = ("device_list", "local_storage_size", "nfs_storage_size")
# Why a host needs device_list, and how to do without (issue 28: a site imported from
# today's collection has none).
LVM_ON_NOTE = (
    "maia-salt's LVM is on by default (maia:prepare:lvm), while the collection's prepare_hosts.yaml "
    "no longer runs its lvm role (since 2025-12): list the host's disks for LVM (e.g. device_list: [/dev/sdb]) "
    "or switch LVM off (maia:prepare:lvm: false in pillar, lvm: false in the collection's group_vars, "
    "or maia-configure import-inventory --without-lvm)"
)

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
                "additionalProperties": False,
                "properties": {
                    # Optional: without it the host's default IPv4 address (from its
                    # grains) is used at run time, as the Ansible collection does.
                    "address": {"type": ["string", "null"]},
                    "user": {"type": "string", "minLength": 1},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "sudo": {"type": "boolean"},
                    "groups": {"type": "array", "items": {"enum": list(GROUPS)}, "uniqueItems": True},
                    "vars": {"type": "object", "properties": {
                        "device_list": {"type": "array", "items": {"type": "string"}},
                        "local_storage_size": {"type": "string"}, "nfs_storage_size": {"type": "string"},
                    }},
                },
            },
        }
    },
}


def ssh_control_dir() -> str:
    """The folder of the roster's shared ssh connections (~/.ssh of this user), made 0700 if missing."""
    path = os.path.expanduser(SSH_CONTROL_DIR)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


class InventoryError(ValueError):
    """A problem in the inventory; the message names file, host, key and fix."""


def valid_address(address: str) -> bool:
    """An IPv4/IPv6 address or a DNS name (whole string; no spaces, parentheses or leading '-')."""
    if not isinstance(address, str) or not address:
        return False
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        pass
    return valid_dns_name(address)


def valid_dns_name(name: str) -> bool:
    if not isinstance(name, str) or not name or len(name) > 253:
        return False
    return all(_DNS_LABEL.fullmatch(label) for label in name.split("."))


def valid_device(path: str) -> bool:
    return isinstance(path, str) and bool(_DEVICE.fullmatch(path)) and ".." not in path.split("/")


@dataclass
class Host:
    name: str
    address: str | None = None
    user: str = "root"
    port: int = 22
    sudo: bool = False
    groups: list[str] = field(default_factory=list)
    vars: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            **({"address": self.address} if self.address is not None else {}),
            "user": self.user, "port": self.port, "sudo": self.sudo,
            "groups": list(self.groups), "vars": dict(self.vars),
        }

    @property
    def roles(self) -> list[str]:  # the host's roles in the pillar: its groups, `workers` named `worker`
        return [ROLE_OF_GROUP.get(group, group) for group in self.groups]


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
        ssh_control_dir()
        roster = {}
        for name, host in self.hosts.items():
            # Without an address salt-ssh connects by the host name, as Ansible does.
            entry = {"host": host.address or name, "user": host.user, "port": host.port}
            if host.sudo:
                entry["sudo"] = True
            if priv:
                entry["priv"] = str(priv)
            entry["ssh_options"] = list(SSH_REUSE)
            roster[name] = entry
        return roster

    def validate(self, lvm_enabled: bool = True, default_size: str = DEFAULT_SIZE) -> None:
        """Semantic checks beyond the schema; raises InventoryError with every problem.

        ``default_size`` is the size of a volume whose host gives none (the ext_pillar passes
        ``storage.default_size`` of ``maia/prepare/parameters/defaults.yaml``)."""
        problems = []
        control = self.in_group("control-plane")
        if not control:
            problems.append("no host is in control-plane: put exactly one host in group control-plane")
        elif len(control) > 1:
            names = ", ".join(h.name for h in control)
            problems.append(
                f"several control-plane hosts ({names}): only one is supported; keep control-plane on one host"
            )
        servers = self.in_group("nfs_server")
        if len(servers) > 1:
            names = ", ".join(h.name for h in servers)
            problems.append(f"two NFS servers ({names}): keep nfs_server on exactly one host")
        if self.in_group("nfs_clients") and not servers:
            problems.append("hosts are in nfs_clients but no host is in nfs_server: add the NFS server host to group nfs_server")
        for host in self.hosts.values():
            if not valid_dns_name(host.name):
                problems.append(
                    f"host {host.name!r}: not a valid host name: use letters, digits, '-' and '.', e.g. maia-node-0"
                )
            if host.address is not None and not valid_address(host.address):
                problems.append(
                    f"host {host.name}: address={host.address!r} is not an IPv4/IPv6 address or DNS name: "
                    f"give e.g. 10.0.0.10 or node0.example.com, or leave it out to use the host's default IPv4 address"
                )
            if not 1 <= host.port <= 65535:
                problems.append(f"host {host.name}: port={host.port!r} is not a TCP port: use 1-65535")
            for device in host.vars.get("device_list") or []:
                if not valid_device(device):
                    problems.append(
                        f"host {host.name}: device_list entry {device!r} is not a device path: use e.g. /dev/sdb "
                        f"(letters, digits and . _ + : - only)"
                    )
            if "nfs_server" in host.groups and "nfs_clients" in host.groups:
                problems.append(f"host {host.name}: in both nfs_server and nfs_clients: keep one")
            if "workers" in host.groups and "control-plane" in host.groups:
                problems.append(f"host {host.name}: in both control-plane and workers: the control plane is a "
                                f"node already; keep it in control-plane only")
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
                        f"host {host.name}: device_list is missing: {LVM_ON_NOTE}"
                    )
                if "nfs_server" in host.groups:
                    local = str(host.vars.get("local_storage_size", default_size))
                    if local.upper() == "100%FREE":
                        problems.append(
                            f"host {host.name}: local_storage_size is 100%FREE on the NFS server, so the local "
                            f"volume maia_0_local would take the whole volume group and leave nothing for the "
                            f"NFS volume maia_0: set local_storage_size to e.g. 50%FREE or an absolute size"
                        )
        if problems:
            raise InventoryError(f"{self.source}: " + "; ".join(problems))


def valid_size(size: str) -> bool:
    if not isinstance(size, str):
        return False
    if _ABSOLUTE_SIZE.fullmatch(size):
        return float(size[:-1]) > 0
    match = _PERCENT_SIZE.fullmatch(size.upper())
    return bool(match) and 0 < int(match.group(1)) <= 100


# built once: jsonschema.validate() checks the schema itself again on every call, which was
# most of an inventory load (and the pillar loads the inventory for every host's compile)
_VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)


def inventory_from_dict(data, source: str = INVENTORY_FILE) -> Inventory:
    exc = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(data))  # the error validate() would raise
    if exc is not None:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise InventoryError(f"{source}: at {where}: {exc.message}") from None
    hosts = {}
    for name, spec in data["hosts"].items():
        hosts[name] = Host(
            name=name,
            address=spec.get("address"),
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
    """Write CONFIG_FOLDER/inventory.yaml durably (the old or the new file, nothing in between)."""
    folder = Path(config_folder)
    commit_folder(folder, [PlannedFile(INVENTORY_FILE, dump_yaml(inventory.to_dict()).encode(), 0o644)])
    return folder / INVENTORY_FILE


# ------------------------------------------------------ Ansible INI import ---


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "1", "on")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _parse_ini(ini_path: Path) -> dict[str, Host]:
    try:
        text = ini_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{ini_path}: cannot be read ({exc})") from None
    hosts: dict[str, Host] = {}
    given_address: dict[str, str] = {}
    group = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group is None:
            raise InventoryError(f"{ini_path}:{lineno}: host line outside a [group] section")
        if ":" in group:
            continue  # [group:vars] / [group:children] sections hold no host lines
        if group not in GROUPS and group not in ANSIBLE_GROUPS:
            close = difflib.get_close_matches(group, GROUPS, n=1)
            raise InventoryError(
                f"{ini_path}:{lineno}: host {line.split()[0]} is in group [{group}], which is not a MAIA group"
                f"{f' (did you mean [{close[0]}]?)' if close else ''}: use {', '.join(GROUPS)}"
            )
        name, *pairs = line.split()
        where = f"{ini_path}:{lineno}: host {name}"
        settings = {}
        for pair in pairs:
            if "=" not in pair:
                raise InventoryError(f"{where}: expected key=value, got {pair!r}")
            key, value = pair.split("=", 1)
            settings[key] = _unquote(value)
        host = hosts.get(name)
        if host is None:
            host = hosts[name] = Host(name=name)
        if "ansible_host" in settings:
            address = settings["ansible_host"]
            if name in given_address and given_address[name] != address:
                raise InventoryError(
                    f"{where}: listed twice with different addresses ({given_address[name]!r} and {address!r}): "
                    f"give the same ansible_host on every line of the host"
                )
            given_address[name] = address
            host.address = address
        if "ansible_user" in settings:
            host.user = settings["ansible_user"]
        if "ansible_port" in settings:
            port = settings["ansible_port"]
            if not port.isdigit() or not 1 <= int(port) <= 65535:
                raise InventoryError(f"{where}: ansible_port={port!r} is not a TCP port: use 1-65535")
            host.port = int(port)
        if "ansible_become" in settings:
            host.sudo = _truthy(settings["ansible_become"])
        if group in GROUPS and group not in host.groups:
            host.groups.append(group)
    for host in hosts.values():
        host.sudo = host.sudo and host.user != "root"
    return hosts


def _read_host_vars(host: Host, host_vars_dir: Path) -> None:
    for suffix in (".yml", ".yaml"):
        path = Path(host_vars_dir) / f"{host.name}{suffix}"
        if not path.is_file():
            continue
        data = load_yaml_mapping(path, InventoryError, "expected a mapping of host variables")
        device_list = data.get("device_list")
        if device_list is not None and not (
            isinstance(device_list, list) and all(isinstance(d, str) for d in device_list)
        ):
            raise InventoryError(f"{path}: device_list must be a list of device paths, e.g. [/dev/sdb]")
        for key in ("local_storage_size", "nfs_storage_size"):
            if key in data and not isinstance(data[key], str):
                raise InventoryError(f"{path}: {key}={data[key]!r} must be a size such as 300g or 50%FREE")
        host.vars.update({k: v for k, v in data.items() if k in HOST_VARS})
        return


def import_ansible_inventory(ini_path, host_vars_dir=None, lvm_enabled: bool = True) -> Inventory:
    """Read an Ansible INI inventory of the MAIA collection (+ host_vars/*.yml).

    A host without ``ansible_host`` keeps no address: at run time its default
    IPv4 address is taken from its grains, as the collection does. The result
    passes the same checks as the pillar render, or InventoryError is raised.
    """
    ini_path = Path(ini_path)
    hosts = _parse_ini(ini_path)
    if not hosts:
        raise InventoryError(f"{ini_path}: no hosts found: list them under [control-plane], [nfs_server], [nfs_clients], [workers]")
    if host_vars_dir is not None:
        for host in hosts.values():
            _read_host_vars(host, host_vars_dir)
    # Round-trip through the schema so an imported inventory is as valid as a written one.
    inventory = inventory_from_dict(Inventory(hosts, str(ini_path)).to_dict(), str(ini_path))
    inventory.validate(lvm_enabled=lvm_enabled)
    return inventory
