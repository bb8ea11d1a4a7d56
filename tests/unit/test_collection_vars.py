"""The Ansible collection's variables (issue 28): each honoured under its collection name,
translated to the maia-salt pillar key, or refused by name naming the maia-salt key; read
by the ext_pillar (CONFIG_FOLDER/collection-vars.yaml, pillar maia:collection_vars) and
written by `maia-configure import-inventory` from [all:vars] and group_vars/all.yml.
The render tests in tests/prepare/test_render.py show the effect on the states."""
import json
import subprocess
import sys

import pytest
import yaml

from maia_salt import collection_vars
from maia_salt.collection_vars import VARIABLES, CollectionVarError, Honoured, Refused, translate
from maia_salt.pillar_map import ConfigFolderError, site_pillar

# collection variable, value as a site writes it, maia-salt key (':'-path under maia:), value there
HONOURED = [
    ("ufw_enabled", "false", "prepare:ufw", False),
    ("ufw_allow_ssh", False, "prepare:ufw_allow_ssh", False),
    ("ufw_ssh_port", "2222", "prepare:firewall:ssh_port", 2222),
    ("ufw_ssh_proto", "UDP", "prepare:firewall:ssh_proto", "udp"),
    ("ufw_allow_inter_node_communication", "no", "prepare:ufw_allow_inter_node", False),
    ("ufw_additional_rules", [{"port": 6443, "proto": "tcp", "from_ip": "10.0.0.0/24"}, {"port": "80", "proto": "tcp"}],
     "prepare:ufw_extra_rules", [{"port": 6443, "proto": "tcp", "from": "10.0.0.0/24"}, {"port": 80, "proto": "tcp"}]),
    ("nfs_export_path", "/srv/nfs/", "prepare:nfs_export:dir", "/srv/nfs"),
    ("nfs_mount_path", "/mnt/nfs", "prepare:nfs_mount:dir", "/mnt/nfs"),
    ("nfs_export_owner", "nobody", "prepare:nfs_export:user", "nobody"),
    ("nfs_export_group", "nogroup", "prepare:nfs_export:group", "nogroup"),
    ("nfs_export_mode", 0o777, "prepare:nfs_export:mode", "0777"),  # YAML's unquoted 0777
    ("nfs_mount_options", "rw,sync,vers=4.1", "prepare:nfs_mount_options", "rw,sync,vers=4.1"),
    ("nvidia_driver_package", "nvidia-driver-550", "prepare:pkgs:nvidia", ["nvidia-driver-550"]),
    ("nvidia_driver_reboot", "false", "prepare:nvidia_reboot", False),
    ("nvidia_driver_reboot_timeout", 900, "prepare:nvidia_reboot_timeout", 900),
    ("microk8s_version", "1.33/stable", "k8s:microk8s_channel", "1.33/stable"),
    ("microk8s_addons", ["rbac"], "k8s:addons", ["rbac"]),
    ("microk8s_firewall_ports", [{"port": 16443, "proto": "tcp"}, {"port": 80}], "k8s:firewall_ports", ["16443/tcp", "80/tcp"]),
    ("k3s_version", "v1.33.5+k3s1", "k8s:k3s:version", "v1.33.5+k3s1"),
    ("k3s_firewall_ports", [{"port": 6443, "proto": "tcp"}], "k8s:k3s:firewall_ports", ["6443/tcp"]),
    ("k3s_data_dir", "/data/k3s/", "k8s:k3s:paths:data_dir", "/data/k3s"),
    ("k3s_config_dir", "/etc/rancher/k3s", "k8s:k3s:paths:config_dir", "/etc/rancher/k3s"),
    ("k0s_version", "v1.33.7+k0s.0", "k8s:k0s:version", "v1.33.7+k0s.0"),
    ("k0s_firewall_ports", [{"port": 6443, "proto": "tcp"}, {"port": 443}], "k8s:k0s:firewall_ports",
     ["6443/tcp", "443/tcp"]),
    ("k0s_data_dir", "/data/k0s/", "k8s:k0s:paths:data_dir", "/data/k0s"),
    ("k0s_etc_dir", "/etc/k0s", "k8s:k0s:paths:config_dir", "/etc/k0s"),
    ("argocd_sync_retries", "5", "core:sync:retries", 5),
    ("argocd_sync_retry_delay", 30, "core:sync:retry_interval", 30),
    ("auto_sync", False, "core:auto_sync", False),
    *[(flag, "false", f"prepare:{flag}", False) for flag in ("nvidia_drivers", "lvm", "ufw", "nfs", "cifs")],
    *[(flag, "true", f"k8s:{flag}", True) for flag in (
        "install_microk8s", "enable_oidc_microk8s", "enable_ca", "install_argocd", "connect_to_microk8s", "connect_to_argocd",
        "install_k3s", "enable_oidc_k3s", "connect_to_k3s", "install_k0s", "enable_oidc_k0s", "connect_to_k0s")],
]
REFUSED = [
    ("nfs_export_options", "*(rw,sync,no_subtree_check,no_root_squash)", "maia:prepare:nfs_export_extra_clients"),
    ("volume_driver_path", "/var/lib/kubelet/volumeplugins/fstab~cifs", "maia:prepare:cifs_plugin:dirs"),
    ("extra_commands", ["kubectl get nodes"], "maia:core:extra_commands"),
    ("install_k3s_script", "/tmp/install.sh", "maia:k8s:k3s:release:sha256"),
    ("k3s_enable_port_forwarding", True, "maia:k8s:api_server_url"),
    ("k0s_enable_port_forwarding", True, "maia:k8s:api_server_url"),
    ("k0s_port_forward_port", 6443, "maia:k8s:api_server_url"),
]
BAD_VALUES = [
    ("ufw_allow_ssh", "maybe", "ufw_allow_ssh='maybe' is not a boolean"),
    ("ufw_ssh_proto", "icmp", "ufw_ssh_proto='icmp': use one of tcp, udp, any"),
    ("ufw_additional_rules", [{"port": 22, "from_ip": "everyone"}], "from_ip='everyone' is not an IP address"),
    ("ufw_additional_rules", [{"port": 22, "from": "10.0.0.1"}], "from not known: the collection's rules take port, proto, from_ip"),
    ("nfs_export_path", "nfs", "nfs_export_path='nfs' is not an absolute path"),
    ("nfs_export_mode", "rwx", "nfs_export_mode='rwx' is not an octal mode"),
    ("nfs_export_owner", "root; rm -rf /", "is not a user or group name"),
    ("nvidia_driver_package", "nvidia driver", "is not a Debian package name"),
    ("microk8s_firewall_ports", [{"port": 70000}], "microk8s_firewall_ports item 1 port=70000 is not a whole number from 1 to 65535"),
    ("argocd_sync_retries", -1, "argocd_sync_retries=-1 is not a whole number"),
    ("k3s_version", "latest", "k3s_version='latest' is not a k3s release such as v1.34.1+k3s1"),
    ("k0s_version", "latest", "k0s_version='latest' is not a k0s release such as v1.34.2+k0s.0"),
    ("k0s_version", "v1.34.1+k3s1", "set maia:k8s:k0s:release:sha256 with it"),
]


def _at(tree, path):
    for part in path.split(":"):
        tree = tree[part]
    return tree


@pytest.mark.parametrize("name, value, key, expected", HONOURED, ids=[f"{row[0]}-{row[2]}" for row in HONOURED])
def test_honoured_variable_lands_on_its_maia_salt_key(name, value, key, expected):
    tree = translate({name: value})
    assert _at(tree, key) == expected
    assert VARIABLES[name].key == key


@pytest.mark.parametrize("name, value, key", REFUSED, ids=[row[0] for row in REFUSED])
def test_refused_variable_is_named_with_the_maia_salt_key(name, value, key):
    with pytest.raises(CollectionVarError) as error:
        translate({name: value})
    assert f"{name} is refused" in str(error.value) and key in str(error.value)


@pytest.mark.parametrize("name, value, fragment", BAD_VALUES, ids=[f"{row[0]}-{i}" for i, row in enumerate(BAD_VALUES)])
def test_bad_value_is_refused_by_name(name, value, fragment):
    with pytest.raises(CollectionVarError, match=None) as error:
        translate({name: value})
    assert fragment in str(error.value)


def test_every_variable_of_the_table_has_a_test_row():
    tested = {row[0] for row in HONOURED} | {row[0] for row in REFUSED}
    assert set(VARIABLES) == tested
    assert all(isinstance(VARIABLES[n], Honoured) for n, *_ in HONOURED)
    assert all(isinstance(VARIABLES[n], Refused) for n, *_ in REFUSED)


def test_nfs_export_path_also_points_the_nfs_provisioner_there():
    assert translate({"nfs_export_path": "/srv/nfs"})["core"]["nfs_path"] == "/srv/nfs"


@pytest.mark.parametrize("value", ["/opt/maia/config/c1-kubeconfig.yaml", "c1-kubeconfig.yaml"])
def test_deploy_kubeconfig_at_the_fetched_kubeconfig_is_honoured(value):
    assert translate({"DEPLOY_KUBECONFIG": value}, "/opt/maia/config", "c1") == {}


def test_deploy_kubeconfig_elsewhere_is_refused_by_name():
    with pytest.raises(CollectionVarError) as error:
        translate({"DEPLOY_KUBECONFIG": "/home/me/.kube/config"}, "/opt/maia/config", "c1")
    message = str(error.value)
    assert "DEPLOY_KUBECONFIG='/home/me/.kube/config' is refused" in message
    assert "/opt/maia/config/c1-kubeconfig.yaml" in message and "maia:kubeconfig" in message


def test_unknown_variables_are_listed_not_translated():
    assert translate({"microk8s_enable_port_forwarding": True}) == {}
    assert collection_vars.unknown({"microk8s_enable_port_forwarding": True, "ufw_allow_ssh": True}) == [
        "microk8s_enable_port_forwarding"]


# ---- through the ext_pillar's mapping ------------------------------------------------

INVENTORY = {"hosts": {
    "node-0": {"address": "198.18.0.11", "groups": ["control-plane", "nfs_server"],
               "vars": {"device_list": ["/dev/loop1"], "local_storage_size": "50%FREE"}},
    "node-1": {"address": "198.18.0.12", "groups": ["nfs_clients"]},
}}


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "env.json").write_text(json.dumps({"cluster_name": "c1", "MAIA_PRIVATE_REGISTRY": ""}))
    (tmp_path / "c1.yaml").write_text(yaml.safe_dump({"domain": "maia.test", "k8s_distribution": "microk8s"}))
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(INVENTORY))
    return tmp_path


def test_ext_pillar_honours_the_file_and_the_pillar_and_the_site_keys_win(folder):
    (folder / "collection-vars.yaml").write_text(yaml.safe_dump(
        {"lvm": False, "ufw_allow_ssh": False, "microk8s_version": "1.33/stable", "argocd_sync_retries": 4}))
    overrides = {"collection_vars": {"argocd_sync_retries": 6}, "k8s": {"microk8s_channel": "1.34/stable"}}
    maia = site_pillar(folder, "node-1", overrides)["maia"]  # node-1 has no device_list: lvm false lets it pass
    assert maia["prepare"]["lvm"] is False and maia["prepare"]["ufw_allow_ssh"] is False
    assert maia["core"]["sync"]["retries"] == 6  # maia:collection_vars over the file
    assert maia["k8s"]["microk8s_channel"] == "1.34/stable"  # the site's own maia-salt key wins


def test_ext_pillar_refuses_a_refused_variable_by_name(folder):
    (folder / "collection-vars.yaml").write_text(yaml.safe_dump({"lvm": False, "DEPLOY_KUBECONFIG": "/root/kube.yaml"}))
    with pytest.raises(ConfigFolderError, match="DEPLOY_KUBECONFIG='/root/kube.yaml' is refused"):
        site_pillar(folder, "node-0")


def test_without_collection_variables_lvm_needs_device_list_and_says_how_to_switch_it_off(folder):
    from maia_salt.inventory import InventoryError

    with pytest.raises(InventoryError) as error:
        site_pillar(folder, "node-0")
    message = str(error.value)
    assert "host node-1: device_list is missing" in message
    assert "no longer runs its lvm role" in message and "maia:prepare:lvm: false" in message


# ---- maia-configure import-inventory ---------------------------------------------------


def _import(tmp_path, *extra):
    (tmp_path / "config").mkdir(exist_ok=True)  # import-inventory writes into an existing CONFIG_FOLDER only
    return subprocess.run(
        [sys.executable, "-m", "maia_salt.configure_cli", "import-inventory", str(tmp_path / "inventory"),
         "--config-folder", str(tmp_path / "config"), *extra],
        capture_output=True, text=True, timeout=60,
    )


def test_import_writes_all_vars_and_group_vars_with_group_vars_winning(tmp_path):
    (tmp_path / "inventory").write_text(
        "[control-plane]\nnode-0 ansible_host=198.18.0.11\n\n[all:vars]\nufw_allow_ssh=false\nargocd_sync_retries=2\n"
        "microk8s_enable_port_forwarding=false\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump({"lvm": False, "argocd_sync_retries": 7}))
    result = _import(tmp_path)
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load((tmp_path / "config" / "collection-vars.yaml").read_text())
    assert written == {"ufw_allow_ssh": False, "argocd_sync_retries": 7, "lvm": False}
    assert "note: microk8s_enable_port_forwarding is not used by maia-salt" in result.stdout
    assert "LVM is on" not in result.stdout  # lvm: false from group_vars: no device_list needed


def test_import_refuses_a_refused_variable_and_writes_nothing(tmp_path):
    (tmp_path / "inventory").write_text("[control-plane]\nnode-0\n\n[all:vars]\nlvm=false\nvolume_driver_path=/x\n")
    result = _import(tmp_path)
    assert result.returncode == 2
    assert "volume_driver_path is refused" in result.stderr and "maia:prepare:cifs_plugin:dirs" in result.stderr
    assert not list((tmp_path / "config").iterdir())


def test_import_of_todays_collection_site_says_lvm_is_on_and_how_to_switch_it_off(tmp_path):
    """The collection's prepare_hosts.yaml no longer runs LVM, so its sites have no device_list."""
    (tmp_path / "inventory").write_text("[control-plane]\nnode-0 ansible_host=198.18.0.11\n")
    result = _import(tmp_path)
    assert result.returncode == 2
    assert "no longer runs its lvm role" in result.stderr and "--without-lvm" in result.stderr
    assert _import(tmp_path, "--without-lvm").returncode == 0


def test_preflight_says_lvm_is_on_and_how_to_switch_it_off(tmp_path):
    """A site imported from today's collection has no device_list: maia preflight's site
    check (the runner's config_folder_findings) names the host, why and both ways out."""
    from support.modules import load_salt_module
    from support.site import SITE_INVENTORY, make_site

    runner = load_salt_module("_runners/maia_preflight.py", "maia_test_preflight_lvm")
    site = make_site(tmp_path / "config", {"hosts": {
        "maia-node-0": {**SITE_INVENTORY["hosts"]["maia-node-0"], "vars": {}}}})
    (finding,) = runner.config_folder_findings(str(site))
    assert "host maia-node-0: device_list is missing" in finding["message"]
    assert "no longer runs its lvm role" in finding["message"] and "maia:prepare:lvm: false" in finding["message"]
    assert runner.config_folder_findings(str(site), lvm_enabled=False) == []
