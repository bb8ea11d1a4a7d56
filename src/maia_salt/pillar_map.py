"""Map a CONFIG_FOLDER (env.json, <CLUSTER_NAME>.yaml, inventory.yaml) onto pillar.

The result is the ``maia:`` pillar tree documented in ``pillar.example``;
the ``maia`` ext_pillar (``_pillar/maia.py``) returns it for each minion.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from .files import load_yaml_unique
from .merge import deep_merge
from .inventory import INVENTORY_FILE, Inventory, InventoryError, load_inventory
from .registry_credentials import CredentialsError, read_key_file

STAGES = ["prepare", "k8s", "core"]

FLAG_DEFAULTS = {
    "prepare": {"nvidia_drivers": True, "lvm": True, "ufw": True, "nfs": True, "cifs": True},
    "k8s": {
        "install_microk8s": True,
        "enable_oidc_microk8s": True,
        "enable_ca": True,
        "install_argocd": True,
        "connect_to_microk8s": False,
        "connect_to_argocd": False,
    },
    "core": {"auto_sync": True},
}

DEFAULT_KUBECONFIG = "/etc/maia/kubeconfig"


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


def load_site(config_folder) -> tuple[dict, dict, dict, Inventory | None]:
    folder = Path(config_folder)
    if not folder.is_dir():
        raise ConfigFolderError(f"CONFIG_FOLDER {folder} does not exist: run maia-configure first")
    env = _read_json(folder / "env.json")
    name = env.get("cluster_name")
    if not name:
        raise ConfigFolderError(f"{folder / 'env.json'}: key cluster_name is missing: re-run maia-configure")
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


def site_pillar(config_folder, minion_id: str, overrides: dict | None = None) -> dict:
    """The ``maia`` pillar for one minion; ``overrides`` is the ordinary pillar's ``maia`` tree."""
    folder = Path(config_folder)
    env, cluster, credentials, inventory = load_site(folder)
    flags = deep_merge(FLAG_DEFAULTS, {k: (overrides or {}).get(k, {}) for k in FLAG_DEFAULTS})

    maia = {
        "config_folder": str(folder),
        "stages": list(STAGES),
        "kubeconfig": DEFAULT_KUBECONFIG,
        "cluster": cluster,
        "env": env,
        "registry": {
            "url": env.get("MAIA_PRIVATE_REGISTRY", ""),
            "username": credentials.get("username", ""),
            "password": credentials.get("password", ""),
        },
        **copy.deepcopy(FLAG_DEFAULTS),
        "roles": [],
        "host": {},
        "hosts": {},
    }
    launch_config = folder / "microk8s-config.yaml"
    if launch_config.is_file():
        maia["k8s"]["launch_config"] = _read_yaml(launch_config)
    cifs_key = folder / "cifs_key"
    if cifs_key.is_file():
        maia["cifs"] = {"private_key": cifs_key.read_text(encoding="ascii")}
    if inventory is not None:
        inventory.validate(lvm_enabled=bool(flags["prepare"].get("lvm", True)))
        maia["hosts"] = {
            name: {"address": host.address, "roles": list(host.groups)} for name, host in inventory.hosts.items()
        }
        server = inventory.nfs_server
        if server is not None:
            maia["nfs_server"] = {"name": server.name, "address": server.address}
        me = inventory.hosts.get(minion_id)
        if me is not None:
            maia["roles"] = list(me.groups)
            maia["host"] = {
                "address": me.address,
                "user": me.user,
                "ssh_port": me.port,
                "local_storage_size": "100%FREE",
                **({"nfs_storage_size": "100%FREE"} if "nfs_server" in me.groups else {}),
                **me.vars,
            }
    return {"maia": deep_merge(maia, overrides or {})}


__all__ = ["site_pillar", "deep_merge", "ConfigFolderError", "InventoryError", "FLAG_DEFAULTS", "STAGES"]
