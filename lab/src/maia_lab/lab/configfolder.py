"""What the product reads about the lab: its CONFIG_FOLDER, inventory.yaml and salt-ssh roster.

All three are made by the product's own code, as a site would make them:
the inventory with ``maia_salt.inventory`` (model, checks, writer), the roster
from it, and the rest of CONFIG_FOLDER by ``maia-configure --non-interactive``.
"""
from __future__ import annotations

import subprocess

import yaml

from maia_salt import inventory

from .folder import LabFolder
from .hosts import Host
from .util import echo, run, tool, write_file

# maia-configure's answers for a lab (demo values; CLUSTER_NAME is the lab's)
CONFIGURE_ENV = {
    "CLUSTER_DOMAIN": "maia.lab.test",
    "INGRESS_RESOLVER_EMAIL": "admin@maia.lab.test",
    "K8S_DISTRIBUTION": "microk8s",
    "MAIA_PRIVATE_REGISTRY": "",
}


def site_inventory(folder: LabFolder, lab_hosts: list[Host], workers: int = 0) -> inventory.Inventory:
    """maia-node-0 is control-plane and NFS server, the others NFS clients, and maia-node-1 ..
    maia-node-<workers> Kubernetes workers too; each host's disks are its loop devices."""
    hosts = {}
    for h in lab_hosts:
        server = h.index == 0
        groups = ["control-plane", "nfs_server"] if server else ["nfs_clients"]
        if not server and h.index <= workers:
            groups.append("workers")
        hosts[h.name] = inventory.Host(
            name=h.name,
            address=h.address,
            groups=groups,
            # the NFS server has two volumes in one VG: the local one takes half, NFS the rest
            vars={
                "device_list": list(h.devices),
                "local_storage_size": "50%FREE" if server else inventory.DEFAULT_SIZE,
                "nfs_storage_size": inventory.DEFAULT_SIZE,
            },
        )
    site = inventory.Inventory(hosts, folder.inventory)
    site.validate()
    return site


def write_inventory_and_roster(folder: LabFolder, lab_hosts: list[Host], workers: int = 0) -> None:
    site = site_inventory(folder, lab_hosts, workers)
    inventory.write_inventory(site, folder.config_folder)
    write_file(folder.roster, yaml.safe_dump(site.to_roster(priv=folder.key), sort_keys=False), 0o600)


def write_config_folder(folder: LabFolder, cluster_name: str, env: dict) -> None:
    """The rest of CONFIG_FOLDER, by ``maia-configure --non-interactive --cifs-key yes`` (demo values;
    ``env``: the lab's process environment)."""
    env = dict(env, **CONFIGURE_ENV, CLUSTER_NAME=cluster_name, CONFIG_FOLDER=folder.config_folder)
    echo("CONFIG_FOLDER: maia-configure --non-interactive --cifs-key yes (demo values)")
    proc = run([tool("maia-configure"), "--non-interactive", "--cifs-key", "yes"], env=env, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"maia-configure failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
