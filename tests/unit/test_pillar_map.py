"""CONFIG_FOLDER -> pillar mapping, without Salt (the functional tests run it through Salt)."""
import json

import pytest
import yaml

from maia_salt.pillar_map import ConfigFolderError, site_pillar
from maia_salt.inventory import InventoryError

INVENTORY = {
    "hosts": {
        "node-0": {"address": "198.18.0.11", "groups": ["control-plane", "nfs_server"],
                   "vars": {"device_list": ["/dev/loop1"], "local_storage_size": "50%FREE"}},
        "node-1": {"address": "198.18.0.12", "groups": ["nfs_clients"], "vars": {"device_list": ["/dev/loop2"]}},
    }
}


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "env.json").write_text(json.dumps({"cluster_name": "c1", "MAIA_PRIVATE_REGISTRY": "", "ARGOCD_PASSWORD": "pw"}))
    (tmp_path / "c1.yaml").write_text(yaml.safe_dump({"domain": "maia.test", "k8s_distribution": "microk8s"}))
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(INVENTORY))
    return tmp_path


def test_mapping_for_a_host(folder):
    maia = site_pillar(folder, "node-0")["maia"]
    assert maia["roles"] == ["control-plane", "nfs_server"]
    assert maia["host"] == {"address": "198.18.0.11", "user": "root", "ssh_port": 22, "device_list": ["/dev/loop1"],
                            "local_storage_size": "50%FREE", "nfs_storage_size": "100%FREE"}
    assert maia["hosts"]["node-1"] == {"address": "198.18.0.12", "roles": ["nfs_clients"]}
    assert maia["nfs_server"] == {"name": "node-0", "address": "198.18.0.11"}
    assert maia["cluster"]["domain"] == "maia.test"
    assert maia["env"]["ARGOCD_PASSWORD"] == "pw"
    assert maia["prepare"] == {"nvidia_drivers": True, "lvm": True, "ufw": True, "nfs": True, "cifs": True}
    assert maia["k8s"]["connect_to_argocd"] is False
    assert maia["core"] == {"auto_sync": True}
    assert maia["stages"] == ["prepare", "k8s", "core"]


def test_client_host_has_no_nfs_size(folder):
    assert "nfs_storage_size" not in site_pillar(folder, "node-1")["maia"]["host"]


def test_unknown_minion_gets_site_data_only(folder):
    maia = site_pillar(folder, "elsewhere")["maia"]
    assert maia["roles"] == [] and maia["host"] == {} and "node-0" in maia["hosts"]


def test_ordinary_pillar_wins(folder):
    maia = site_pillar(folder, "node-0", {"prepare": {"ufw": False}, "cluster": {"domain": "x.test"}})["maia"]
    assert maia["prepare"]["ufw"] is False and maia["prepare"]["lvm"] is True
    assert maia["cluster"]["domain"] == "x.test"


def test_lvm_off_in_pillar_allows_missing_device_list(folder):
    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    del inv["hosts"]["node-1"]["vars"]
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    with pytest.raises(InventoryError, match="host node-1: device_list is missing"):
        site_pillar(folder, "node-0")
    assert site_pillar(folder, "node-0", {"prepare": {"lvm": False}})["maia"]["prepare"]["lvm"] is False


def test_missing_env_json(tmp_path):
    with pytest.raises(ConfigFolderError, match="env.json: missing: run maia-configure"):
        site_pillar(tmp_path, "node-0")


def test_cifs_key_reaches_pillar(folder):
    (folder / "cifs_key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    assert "BEGIN PRIVATE KEY" in site_pillar(folder, "node-1")["maia"]["cifs"]["private_key"]


def test_launch_config_reaches_pillar(folder):
    (folder / "microk8s-config.yaml").write_text("version: 0.2.0\nextraSANs: [maia.test]\n")
    assert site_pillar(folder, "node-0")["maia"]["k8s"]["launch_config"]["extraSANs"] == ["maia.test"]
