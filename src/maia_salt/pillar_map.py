"""Map a CONFIG_FOLDER (env.json, <CLUSTER_NAME>.yaml, inventory.yaml) onto pillar.

The result is the ``maia:`` pillar tree documented in ``pillar.example``;
the ``maia`` ext_pillar (``_pillar/maia.py``) returns it for each minion. It
holds the site's facts only: no default. Defaults live once, in the formulas'
``parameters/defaults.yaml`` files, and the map loader (``formulas/maia/map.jinja``)
merges pillar over them on the host, so a default changed there takes effect
on every site and a site's pillar still wins over it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from . import parameters
from .addresses import describe_address_problem, ip_address, is_address, is_export_target, network
from .collection_vars import CollectionVarError, with_collection_vars
from .files import load_yaml_unique
from .flags import as_bool
from .merge import deep_merge
from .inventory import INVENTORY_FILE, Inventory, InventoryError, load_inventory
from .known_addresses import pinned_ip
from .registry_credentials import CredentialsError, read_key_file

_CLUSTER_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class ConfigFolderError(ValueError):
    """A CONFIG_FOLDER file is missing or malformed; the message says which and how to fix it."""


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigFolderError(f"{path}: missing: run maia-configure to write it") from None
    except json.JSONDecodeError as exc:
        raise ConfigFolderError(f"{path}: not valid JSON ({exc}): fix it or re-run maia-configure") from None
    if not isinstance(data, dict):
        raise ConfigFolderError(f"{path}: must hold a JSON object")
    return data


def _read_yaml(path: Path) -> dict:
    try:
        data = load_yaml_unique(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigFolderError(f"{path}: missing: run maia-configure to write it") from None
    except yaml.YAMLError as exc:
        raise ConfigFolderError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ConfigFolderError(f"{path}: must hold a mapping")
    return data


def _check_cluster_name(folder, name) -> None:
    """cluster_name becomes file names on the hosts and on the master: a DNS label only."""
    if not isinstance(name, str) or not _CLUSTER_NAME.fullmatch(name):
        raise ConfigFolderError(
            f"{folder}: cluster_name={name!r} is not a DNS label (lowercase letters, digits, '-'): re-run maia-configure"
        )


def load_site(config_folder) -> tuple[dict, dict, dict, Inventory | None]:
    folder = Path(config_folder)
    if not folder.is_dir():
        raise ConfigFolderError(f"CONFIG_FOLDER {folder} does not exist: run maia-configure first")
    env = _read_json(folder / "env.json")
    name = env.get("cluster_name")
    if not name:
        raise ConfigFolderError(f"{folder / 'env.json'}: key cluster_name is missing: re-run maia-configure")
    _check_cluster_name(folder, name)
    cluster = _read_yaml(folder / f"{name}.yaml")
    credentials_path = folder / "maia-registry-credentials.json"
    credentials = {}
    if credentials_path.exists():  # the toolkit's username/password, or harbor_username/harbor_password
        try:
            credentials = dict(zip(("username", "password"), read_key_file(credentials_path)))
        except CredentialsError as exc:
            raise ConfigFolderError(str(exc)) from None
    inventory = load_inventory(folder / INVENTORY_FILE) if (folder / INVENTORY_FILE).exists() else None
    return env, cluster, credentials, inventory


# Keys of env.json and of the cluster YAML that hold no secret and that the
# states of a host outside the control plane read. Everything else in those two
# files (passwords, tokens, client secrets, the bcrypt hash) reaches the
# control-plane hosts only.
NODE_ENV_KEYS = ("cluster_name",)
NODE_CLUSTER_KEYS = ("cluster_name", "domain", "k8s_distribution", "proxy_ip", "no_proxy_ips")


def _address_problems(inventory: Inventory) -> list[str]:
    problems = []
    for name, host in inventory.hosts.items():
        if host.address and not is_address(host.address):
            problems.append(describe_address_problem(f"host {name}", "address", host.address))
    return problems


def _network_problems(overrides: dict) -> list[str]:
    """Addresses and networks given in ordinary pillar for firewall and NFS rules."""
    problems = []
    prepare = overrides.get("prepare") or {}
    k8s = overrides.get("k8s") or {}
    for value in prepare.get("nfs_export_extra_clients") or []:
        if not is_export_target(value):
            problems.append(
                f"maia:prepare:nfs_export_extra_clients: {value!r} is not an address, CIDR network, DNS name or '*'"
            )
    for key in ("api_allowed_sources", "web_allowed_sources"):
        for value in k8s.get(key) or []:
            if network(value) is None:
                problems.append(f"maia:k8s:{key}: {value!r} is not an IP address or CIDR network (e.g. 10.0.0.0/24)")
    for index, rule in enumerate(prepare.get("ufw_extra_rules") or [], 1):
        source = rule.get("from", "any") if isinstance(rule, dict) else None
        if source != "any" and network(source) is None:
            problems.append(
                f"maia:prepare:ufw_extra_rules item {index}: from={source!r} is not 'any', an IP address or CIDR network"
            )
    return problems


def _host_ip(folder, name, host, grains: dict) -> str | None:
    """The IP for firewall and NFS rules: the inventory's address when it is
    one, else the host's default IPv4 (grain ``maia_default_ipv4``) as first
    recorded in CONFIG_FOLDER (``known_addresses``: a change stops the render)."""
    return ip_address(host.address) or pinned_ip(folder, name, (grains or {}).get("maia_default_ipv4"))


def _no_grains(_name):
    return {}


def site_pillar(config_folder, minion_id: str, overrides: dict | None = None, grains_of=None,
                parameter_roots=(), local_run: bool = False) -> dict:
    """The ``maia`` pillar for one minion; ``overrides`` is the ordinary pillar's ``maia`` tree.

    ``grains_of(name)`` returns the last grains a host reported (the master's
    minion data cache); it gives hosts whose inventory address is a DNS name,
    or empty, their default IPv4 for firewall and NFS rules. The LVM flag that
    decides whether every host needs a ``device_list`` is the pillar's, else
    ``maia/prepare/parameters/defaults.yaml``'s, read from ``parameter_roots``
    (the master's file roots; default: this checkout's ``formulas/``).

    What a minion receives depends on its groups (docs/security.md): a
    control-plane host gets env.json, the cluster YAML and the registry
    credentials; every other host gets the non-secret keys its states read.
    A minion the inventory does not name gets no secret. Without an inventory
    no minion of a master gets one; the one exception is ``local_run``
    (``salt-call --local`` on the host itself: a one-host site, that host is
    the whole site).
    """
    folder = Path(config_folder)
    overrides = overrides or {}
    grains_of = grains_of or _no_grains
    env, cluster, credentials, inventory = load_site(folder)
    _check_cluster_name(folder, cluster.get("cluster_name") or env.get("cluster_name"))
    try:  # the Ansible collection's variables, under the ordinary pillar's own keys
        overrides = with_collection_vars(folder, overrides, cluster.get("cluster_name") or env.get("cluster_name"))
    except CollectionVarError as exc:
        raise ConfigFolderError(str(exc)) from None
    problems = [f"pillar {problem}" for problem in _network_problems(overrides)]
    if inventory is not None:
        problems += [f"{inventory.source}: {problem}" for problem in _address_problems(inventory)]
    if problems:
        raise InventoryError("; ".join(problems))

    me = inventory.hosts.get(minion_id) if inventory is not None else None
    single_host = inventory is None and local_run
    control_plane = single_host or (me is not None and "control-plane" in me.groups)

    maia = {
        "config_folder": str(folder),
        "cluster": cluster if control_plane else {k: cluster[k] for k in NODE_CLUSTER_KEYS if k in cluster},
        "env": env if control_plane else {k: env[k] for k in NODE_ENV_KEYS if k in env},
        "roles": [],
        "host": {},
        "hosts": {},
    }
    if control_plane:
        maia["registry"] = {
            "url": env.get("MAIA_PRIVATE_REGISTRY", ""),
            # read_key_file takes both spellings (the toolkit's and the collection's docs)
            "username": credentials.get("username", ""),
            "password": credentials.get("password", ""),
        }
        launch_config = folder / "microk8s-config.yaml"
        if launch_config.is_file():
            maia["k8s"] = {"launch_config": _read_yaml(launch_config)}
        realm = folder / "MAIA_realm.json"  # the Keycloak realm stage 4 imports (ConfigMap maia-realm-import)
        if realm.is_file():
            maia["realm"] = _read_json(realm)
    cifs_key = folder / "cifs_key"
    cifs_hosts = (overrides.get("cifs") or {}).get("hosts")
    mounts_cifs = single_host or (me is not None and (cifs_hosts is None or minion_id in cifs_hosts))
    if cifs_key.is_file() and mounts_cifs:
        maia["cifs"] = {"private_key": cifs_key.read_text(encoding="ascii")}
    if inventory is not None:
        prepare = deep_merge(parameters.defaults("prepare", parameter_roots), overrides.get("prepare") or {})
        inventory.validate(lvm_enabled=as_bool(prepare["lvm"]), default_size=str(prepare["storage"]["default_size"]))
        for host_name, host in inventory.hosts.items():
            entry = {"address": host.address, "roles": host.roles}
            ip = _host_ip(folder, host_name, host, grains_of(host_name))
            if ip:
                entry["ip"] = ip
            maia["hosts"][host_name] = entry
        server = inventory.nfs_server
        if server is not None:
            maia["nfs_server"] = {"name": server.name, "address": server.address}
            if maia["hosts"][server.name].get("ip"):
                maia["nfs_server"]["ip"] = maia["hosts"][server.name]["ip"]
        if me is not None:
            maia["roles"] = me.roles
            maia["host"] = {
                "address": me.address,
                "user": me.user,
                "ssh_port": me.port,
                **me.vars,
            }
    return {"maia": deep_merge(maia, overrides)}


__all__ = ["site_pillar", "deep_merge", "ConfigFolderError", "InventoryError"]
