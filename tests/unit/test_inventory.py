"""Site inventory: the reference's Ansible example imports exactly; validation names host, key and fix."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from maia_salt.inventory import InventoryError, import_ansible_inventory, inventory_from_dict, load_inventory, valid_size

ANSIBLE = Path(__file__).parent.parent / "data" / "ansible"

EXPECTED = {
    "hosts": {
        "maia-node-0": {
            "address": "maia-node-0", "user": "root", "port": 22, "sudo": False,
            "groups": ["control-plane", "nfs_server"],
            "vars": {"device_list": ["/dev/sda1", "/dev/sdc2"], "local_storage_size": "300g", "nfs_storage_size": "1.8t"},
        },
        "maia-node-1": {
            "address": "maia-node-1", "user": "root", "port": 22, "sudo": False,
            "groups": ["nfs_clients"], "vars": {"device_list": ["/dev/sda1"], "local_storage_size": "500g"},
        },
        "maia-node-2": {
            "address": "maia-node-2", "user": "root", "port": 22, "sudo": False,
            "groups": ["nfs_clients"], "vars": {"device_list": ["/dev/sda1"], "local_storage_size": "500g"},
        },
    }
}


def test_reference_example_imports_exactly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "maia_salt.configure_cli", "import-inventory", str(ANSIBLE / "inventory"),
         "--config-folder", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((tmp_path / "inventory.yaml").read_text()) == EXPECTED
    load_inventory(tmp_path / "inventory.yaml").validate()


def test_import_reads_connection_settings(tmp_path):
    ini = tmp_path / "hosts"
    ini.write_text("[control-plane]\nnode-a ansible_host=198.18.0.5 ansible_user=ubuntu ansible_port=2222 ansible_become=true\n")
    host = import_ansible_inventory(ini).hosts["node-a"]
    assert (host.address, host.user, host.port, host.sudo) == ("198.18.0.5", "ubuntu", 2222, True)


def test_roster_from_inventory(tmp_path):
    inv = import_ansible_inventory(ANSIBLE / "inventory", ANSIBLE / "host_vars")
    roster = inv.to_roster(priv="/keys/lab")
    assert roster["maia-node-1"] == {"host": "maia-node-1", "user": "root", "port": 22, "priv": "/keys/lab",
                                     "ssh_options": ["ControlMaster=auto", "ControlPersist=60s",
                                                     "ControlPath=~/.ssh/maia-salt-%C"]}


@pytest.mark.parametrize("size", ["300g", "500m", "1.8t", "1T", "100%FREE", "50%FREE", "50%VG", "10%PVS"])
def test_valid_sizes(size):
    assert valid_size(size)


@pytest.mark.parametrize("size", ["12x", "g", "0g", "101%FREE", "50%", "50%FOO", "-1g", "1.8"])
def test_invalid_sizes(size):
    assert not valid_size(size)


def _inv(hosts):
    return inventory_from_dict({"hosts": hosts}, "inventory.yaml")


DEV = {"device_list": ["/dev/sdb"]}


@pytest.mark.parametrize(
    "hosts, fragment",
    [
        ({"a": {"address": "a", "groups": ["nfs_clients"], "vars": DEV}},
         "no host is in nfs_server: add the NFS server host to group nfs_server"),
        ({"a": {"address": "a", "groups": ["nfs_server"], "vars": {**DEV, "local_storage_size": "10g"}},
          "b": {"address": "b", "groups": ["nfs_server"], "vars": {**DEV, "local_storage_size": "10g"}}},
         "two NFS servers (a, b)"),
        ({"a": {"address": "a", "groups": ["control-plane"]}}, "host a: device_list is missing"),
        ({"a": {"address": "a", "groups": ["control-plane"], "vars": {**DEV, "local_storage_size": "12x"}}},
         "host a: local_storage_size='12x' is not an LVM size"),
        ({"a": {"address": "a", "groups": ["nfs_server"], "vars": DEV}},
         "host a: local_storage_size is 100%FREE on the NFS server"),
    ],
)
def test_semantic_errors(hosts, fragment):
    with pytest.raises(InventoryError) as err:
        _inv(hosts).validate()
    assert fragment in str(err.value)
    assert str(err.value).startswith("inventory.yaml:")


def test_device_list_not_needed_without_lvm():
    _inv({"a": {"address": "a", "groups": ["control-plane"]}}).validate(lvm_enabled=False)


def test_schema_errors_name_the_place():
    with pytest.raises(InventoryError, match=r"at hosts/a/groups/0: 'masters' is not one of"):
        _inv({"a": {"address": "a", "groups": ["masters"]}})


def test_host_listed_twice_is_refused(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  a: {address: x}\n  a: {address: y}\n")
    with pytest.raises(InventoryError, match="duplicate key 'a'"):
        load_inventory(path)
