"""A configured test site (CONFIG_FOLDER + inventory) shared by functional and lab tests."""
import os
import shutil
from pathlib import Path

import yaml

from maia_salt.configure import configure


SITE_ENV = {
    "CLUSTER_DOMAIN": "maia.func.test",
    "CLUSTER_NAME": "func",
    "INGRESS_RESOLVER_EMAIL": "admin@func.test",
    "K8S_DISTRIBUTION": "microk8s",
    "MAIA_PRIVATE_REGISTRY": "",
}

SITE_INVENTORY = {
    "hosts": {
        "maia-node-0": {
            "address": "198.18.0.11", "groups": ["control-plane", "nfs_server"],
            "vars": {"device_list": ["/dev/vdb"], "local_storage_size": "50%FREE", "nfs_storage_size": "100%FREE"},
        },
        "maia-node-1": {"address": "198.18.0.12", "groups": ["nfs_clients"], "vars": {"device_list": ["/dev/vdb"]}},
    }
}


def make_site(folder: Path, inventory=SITE_INVENTORY) -> Path:
    configure(None, {**SITE_ENV, "CONFIG_FOLDER": str(folder)}, None, cifs_key=False)
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inventory))
    return folder


def have_sshd() -> bool:
    return shutil.which("sshd") is not None or os.path.exists("/usr/sbin/sshd")
