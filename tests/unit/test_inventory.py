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
            "user": "root", "port": 22, "sudo": False,
            "groups": ["control-plane", "nfs_server"],
            "vars": {"device_list": ["/dev/sda1", "/dev/sdc2"], "local_storage_size": "300g", "nfs_storage_size": "1.8t"},
        },
        "maia-node-1": {
            "user": "root", "port": 22, "sudo": False,
            "groups": ["nfs_clients"], "vars": {"device_list": ["/dev/sda1"], "local_storage_size": "500g"},
        },
        "maia-node-2": {
            "user": "root", "port": 22, "sudo": False,
            "groups": ["nfs_clients"], "vars": {"device_list": ["/dev/sda1"], "local_storage_size": "500g"},
        },
    }
}


def test_reference_example_imports_exactly(tmp_path):
    """The collection's example has no ansible_host: no address is written, so the
    host's default IPv4 address (grains) is used at run time."""
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
    host = import_ansible_inventory(ini, lvm_enabled=False).hosts["node-a"]
    assert (host.address, host.user, host.port, host.sudo) == ("198.18.0.5", "ubuntu", 2222, True)


def test_roster_from_inventory(tmp_path):
    inv = import_ansible_inventory(ANSIBLE / "inventory", ANSIBLE / "host_vars")
    roster = inv.to_roster(priv="/keys/lab")
    # no address: salt-ssh connects by the host name, as Ansible does
    assert roster["maia-node-1"] == {"host": "maia-node-1", "user": "root", "port": 22, "priv": "/keys/lab",
                                     "ssh_options": ["ControlMaster=auto", "ControlPersist=60s",
                                                     "ControlPath=~/.ssh/maia-salt-%C"]}


def test_roster_makes_the_shared_connection_folder(tmp_path, monkeypatch):
    """ssh cannot make ControlPath's folder itself (it fails with "unix_listener: cannot bind")."""
    monkeypatch.setenv("HOME", str(tmp_path))
    inv = import_ansible_inventory(ANSIBLE / "inventory", ANSIBLE / "host_vars")
    inv.to_roster()
    folder = tmp_path / ".ssh"
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("size", ["300g", "500m", "1.8t", "1T", "100%FREE", "50%FREE", "50%VG", "10%PVS"])
def test_valid_sizes(size):
    assert valid_size(size)


@pytest.mark.parametrize("size", ["12x", "g", "0g", "101%FREE", "50%", "50%FOO", "-1g", "1.8", "12XB", "300g\n", "50%FREE\n"])
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
        ({"a": {"address": "a", "groups": ["control-plane", "workers"], "vars": DEV}},
         "host a: in both control-plane and workers: the control plane is a node already"),
    ],
)
def test_semantic_errors(hosts, fragment):
    with pytest.raises(InventoryError) as err:
        _inv(hosts).validate()
    assert fragment in str(err.value)
    assert str(err.value).startswith("inventory.yaml:")


def test_device_list_not_needed_without_lvm():
    inventory = _inv({"a": {"address": "a", "groups": ["control-plane"]}})
    with pytest.raises(InventoryError, match="device_list"):
        inventory.validate()  # with LVM on, the missing device_list is an error ...
    assert inventory.validate(lvm_enabled=False) is None  # ... with LVM off it is not


def test_schema_errors_name_the_place():
    with pytest.raises(InventoryError, match=r"at hosts/a/groups/0: 'masters' is not one of"):
        _inv({"a": {"address": "a", "groups": ["masters"]}})


def test_schema_is_valid_and_errors_match_jsonschema_validate():
    """The validator is built once (no schema check per load): the schema itself is valid, and a bad
    inventory gets the error jsonschema.validate() would give."""
    import jsonschema

    from maia_salt import inventory

    jsonschema.validators.validator_for(inventory.SCHEMA).check_schema(inventory.SCHEMA)
    bad = {"hosts": {"a": {"address": 5, "groups": ["nope"]}}}
    with pytest.raises(jsonschema.ValidationError) as expected:
        jsonschema.validate(bad, inventory.SCHEMA)
    with pytest.raises(InventoryError) as got:
        inventory_from_dict(bad)
    assert expected.value.message in str(got.value)


def test_host_listed_twice_is_refused(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  a: {address: x}\n  a: {address: y}\n")
    with pytest.raises(InventoryError, match="duplicate key 'a'"):
        load_inventory(path)


@pytest.mark.parametrize("address", ["10.0.0.10", "fd00::1", "node0.example.com", "maia-node-0"])
def test_valid_addresses(address):
    """A valid address passes validation and is what salt-ssh connects to."""
    inventory = _inv({"a": {"address": address, "groups": ["control-plane"], "vars": DEV}})
    inventory.validate()
    assert inventory.hosts["a"].address == address
    assert inventory.to_roster()["a"]["host"] == address


@pytest.mark.parametrize("address", ["-oProxyCommand=nc x 22", "x(rw) *", "a b", "10.0.0.1\n", "", "node_0"])
def test_bad_address_is_refused(address):
    with pytest.raises(InventoryError, match="is not an IPv4/IPv6 address or DNS name"):
        _inv({"a": {"address": address, "groups": ["control-plane"], "vars": DEV}}).validate()


@pytest.mark.parametrize("device", ["/dev/sdb;reboot", "/dev/sdb $(id)", "/dev/../etc/passwd", "/dev/sdb\n", "sdb"])
def test_device_with_shell_characters_is_refused(device):
    with pytest.raises(InventoryError, match="is not a device path"):
        _inv({"a": {"groups": ["control-plane"], "vars": {"device_list": [device]}}}).validate()


GOOD_VARS = "device_list: [/dev/sdb]\nlocal_storage_size: 50%FREE\n"


@pytest.mark.parametrize(
    "ini, host_vars, fragment",
    [
        ("[control-plane]\na\n[nfs_server]\na\nb\n", {}, "two NFS servers (a, b)"),
        ("[control-plane]\na\n[nfs_clients]\nb\n", {}, "no host is in nfs_server"),
        ("[nfs_server]\na\n", {}, "no host is in control-plane"),
        ("[control-plane]\na\nb\n", {}, "several control-plane hosts (a, b)"),
        ("[control-plane]\na\n", {"a": "device_list: [/dev/sdb]\nlocal_storage_size: 12XB\n"},
         "local_storage_size='12XB' is not an LVM size"),
        ("[control-plane]\na\n", {"a": "device_list: ['/dev/sdb;reboot']\n"}, "is not a device path"),
        ("[control-plane]\na ansible_host=10.0.0.1\n[nfs_server]\na ansible_host=10.0.0.2\n", {},
         "listed twice with different addresses ('10.0.0.1' and '10.0.0.2')"),
        ("[control-plane]\na ansible_port=22x\n", {}, "ansible_port='22x' is not a TCP port"),
        ("[control-plane]\na ansible_port=70000\n", {}, "ansible_port='70000' is not a TCP port"),
        ("[control-plane]\na\n", {"a": "device_list: [/dev/sdb\n  bad: [\n"}, "cannot be read as YAML"),
        ("[control-plane]\na ansible_host=-oProxyCommand=x\n", {}, "is not an IPv4/IPv6 address or DNS name"),
    ],
)
def test_import_refuses_and_writes_nothing(tmp_path, ini, host_vars, fragment):
    (tmp_path / "hosts").write_text(ini)
    (tmp_path / "host_vars").mkdir()
    for name in "ab":
        (tmp_path / "host_vars" / f"{name}.yml").write_text(host_vars.get(name, GOOD_VARS))
    folder = tmp_path / "config"
    folder.mkdir()  # the site's CONFIG_FOLDER (import-inventory never creates one)
    result = subprocess.run(
        [sys.executable, "-m", "maia_salt.configure_cli", "import-inventory", str(tmp_path / "hosts"),
         "--config-folder", str(folder)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert list(folder.iterdir()) == []


def test_same_address_twice_is_fine(tmp_path):
    ini = tmp_path / "hosts"
    ini.write_text("[control-plane]\na ansible_host=10.0.0.1\n[nfs_server]\na ansible_host=10.0.0.1\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "a.yml").write_text(GOOD_VARS)
    inv = import_ansible_inventory(ini, tmp_path / "host_vars")
    assert inv.hosts["a"].address == "10.0.0.1" and inv.hosts["a"].groups == ["control-plane", "nfs_server"]


def test_workers_group_from_ini_and_its_role(tmp_path):
    """[workers] of an INI inventory is the group of Kubernetes worker hosts; its hosts get the
    pillar role ``worker`` and may also be NFS clients."""
    ini = tmp_path / "hosts"
    ini.write_text("[control-plane]\ncp ansible_host=198.18.0.5\n[nfs_server]\ncp\n"
                   "[workers]\ngpu-1 ansible_host=198.18.0.6\n[nfs_clients]\ngpu-1\n")
    inventory = import_ansible_inventory(ini, lvm_enabled=False)
    assert inventory.hosts["gpu-1"].groups == ["workers", "nfs_clients"]
    assert inventory.hosts["gpu-1"].roles == ["worker", "nfs_clients"]
    assert inventory.hosts["cp"].roles == ["control-plane", "nfs_server"]
    assert [h.name for h in inventory.in_group("workers")] == ["gpu-1"]
