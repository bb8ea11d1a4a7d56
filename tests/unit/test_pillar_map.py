"""CONFIG_FOLDER -> pillar mapping, without Salt (the functional tests run it through Salt)."""
import json

import pytest
import yaml

from maia_salt import parameters
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
    # the inventory's facts only: no nfs_storage_size was given, so none is made up here (the
    # formula sizes it from storage.default_size of maia/prepare/parameters/defaults.yaml)
    assert maia["host"] == {"address": "198.18.0.11", "user": "root", "ssh_port": 22, "device_list": ["/dev/loop1"],
                            "local_storage_size": "50%FREE"}
    assert maia["hosts"]["node-1"] == {"address": "198.18.0.12", "roles": ["nfs_clients"], "ip": "198.18.0.12"}
    assert maia["nfs_server"] == {"name": "node-0", "address": "198.18.0.11", "ip": "198.18.0.11"}
    assert maia["cluster"]["domain"] == "maia.test"
    assert maia["env"]["ARGOCD_PASSWORD"] == "pw"
    # site facts only: the defaults stay in the formulas' parameters/defaults.yaml
    for default in ("prepare", "k8s", "core", "stages", "kubeconfig"):
        assert default not in maia, default


def test_client_host_has_no_nfs_size(folder):
    assert "nfs_storage_size" not in site_pillar(folder, "node-1")["maia"]["host"]


def test_unknown_minion_gets_site_data_only(folder):
    maia = site_pillar(folder, "elsewhere")["maia"]
    assert maia["roles"] == [] and maia["host"] == {} and "node-0" in maia["hosts"]


def test_ordinary_pillar_wins(folder):
    maia = site_pillar(folder, "node-0", {"prepare": {"ufw": False}, "cluster": {"domain": "x.test"}})["maia"]
    assert maia["prepare"] == {"ufw": False}  # no default added
    assert maia["cluster"]["domain"] == "x.test"


def test_lvm_off_in_pillar_allows_missing_device_list(folder):
    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    del inv["hosts"]["node-1"]["vars"]
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    with pytest.raises(InventoryError, match="host node-1: device_list is missing"):
        site_pillar(folder, "node-0")
    assert site_pillar(folder, "node-0", {"prepare": {"lvm": False}})["maia"]["prepare"]["lvm"] is False


def _changed_defaults(tmp_path, text_from, text_to):
    """A file root whose maia/prepare/parameters/defaults.yaml is the real one, changed."""
    root = tmp_path / "roots"
    changed = root / "maia" / "prepare" / "parameters" / "defaults.yaml"
    changed.parent.mkdir(parents=True)
    text = parameters.CHECKOUT_ROOT.joinpath(parameters.relpath("prepare")).read_text()
    assert text_from in text
    changed.write_text(text.replace(text_from, text_to))
    return root


def test_lvm_default_is_read_from_the_formulas_defaults(folder, tmp_path):
    """The device_list check follows `lvm` in prepare/parameters/defaults.yaml of the file roots
    given (the master's), and the pillar still wins over it."""
    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    del inv["hosts"]["node-1"]["vars"]
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    lvm_off = _changed_defaults(tmp_path, "\nlvm: true\n", "\nlvm: false\n")
    maia = site_pillar(folder, "node-1", parameter_roots=[lvm_off])["maia"]
    assert maia["roles"] == ["nfs_clients"] and "prepare" not in maia
    with pytest.raises(InventoryError, match="host node-1: device_list is missing"):
        site_pillar(folder, "node-1", {"prepare": {"lvm": True}}, parameter_roots=[lvm_off])


def test_defaults_missing_from_every_root_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(parameters, "CHECKOUT_ROOT", tmp_path / "no-checkout")
    with pytest.raises(parameters.ParametersError, match="maia/prepare/parameters/defaults.yaml is in none of"):
        parameters.defaults("prepare", [tmp_path / "nowhere"])


def test_missing_env_json(tmp_path):
    with pytest.raises(ConfigFolderError, match="env.json: missing: run maia-configure"):
        site_pillar(tmp_path, "node-0")


def test_cifs_key_reaches_inventory_hosts(folder):
    (folder / "cifs_key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    assert "BEGIN PRIVATE KEY" in site_pillar(folder, "node-1")["maia"]["cifs"]["private_key"]


def test_launch_config_reaches_pillar(folder):
    (folder / "microk8s-config.yaml").write_text("version: 0.2.0\nextraSANs: [maia.test]\n")
    assert site_pillar(folder, "node-0")["maia"]["k8s"]["launch_config"]["extraSANs"] == ["maia.test"]


# ---- scoped by role (docs/security.md) ------------------------------------------------


def _secrets_site(folder):
    env = json.loads((folder / "env.json").read_text())
    env.update({"keycloak_client_secret": "kc-secret", "minio_root_password": "minio-pw", "rancher_token": "rt"})
    (folder / "env.json").write_text(json.dumps(env))
    (folder / "c1.yaml").write_text(yaml.safe_dump(
        {"domain": "maia.test", "k8s_distribution": "microk8s", "cluster_name": "c1", "traefik_dashboard_password": "tdp"}))
    (folder / "maia-registry-credentials.json").write_text(json.dumps({"harbor_username": "hu", "harbor_password": "hp"}))
    (folder / "cifs_key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    (folder / "microk8s-config.yaml").write_text("version: 0.2.0\nextraSANs: [maia.test]\n")


def test_control_plane_gets_platform_secrets(folder):
    _secrets_site(folder)
    maia = site_pillar(folder, "node-0")["maia"]
    assert maia["env"]["ARGOCD_PASSWORD"] == "pw" and maia["env"]["keycloak_client_secret"] == "kc-secret"
    assert maia["cluster"]["traefik_dashboard_password"] == "tdp"
    assert maia["registry"] == {"url": "", "username": "hu", "password": "hp"}
    assert "BEGIN PRIVATE KEY" in maia["cifs"]["private_key"]
    assert maia["k8s"]["launch_config"]["extraSANs"] == ["maia.test"]


def test_nfs_client_gets_no_platform_secret(folder):
    _secrets_site(folder)
    maia = site_pillar(folder, "node-1")["maia"]
    assert maia["env"] == {"cluster_name": "c1"}
    assert maia["cluster"] == {"cluster_name": "c1", "domain": "maia.test", "k8s_distribution": "microk8s"}
    assert "registry" not in maia and "k8s" not in maia
    text = json.dumps(maia)
    for secret in ("pw", "kc-secret", "minio-pw", "tdp", "hu", "hp"):
        assert f'"{secret}"' not in text
    # it mounts CIFS volumes: it keeps the CIFS key
    assert "BEGIN PRIVATE KEY" in maia["cifs"]["private_key"]


def test_every_host_gets_the_proxy_of_the_site(folder):
    """Every host writes the proxy into its environment (stage 1): proxy_ip and no_proxy_ips of
    the cluster YAML reach the hosts outside the control plane too (no secret in them)."""
    _secrets_site(folder)
    cluster = yaml.safe_load((folder / "c1.yaml").read_text())
    cluster.update(proxy_ip="10.253.254.250", no_proxy_ips="10.0.0.0/8,.hospital.local")
    (folder / "c1.yaml").write_text(yaml.safe_dump(cluster))
    maia = site_pillar(folder, "node-1")["maia"]
    assert maia["cluster"]["proxy_ip"] == "10.253.254.250"
    assert maia["cluster"]["no_proxy_ips"] == "10.0.0.0/8,.hospital.local"
    assert "traefik_dashboard_password" not in maia["cluster"]


def test_cifs_key_only_to_named_hosts(folder):
    _secrets_site(folder)
    only_cp = {"cifs": {"hosts": ["node-0"]}}
    assert "private_key" not in site_pillar(folder, "node-1", only_cp)["maia"].get("cifs", {})
    assert "BEGIN" in site_pillar(folder, "node-0", only_cp)["maia"]["cifs"]["private_key"]


def test_minion_outside_the_inventory_gets_no_secret(folder):
    _secrets_site(folder)
    maia = site_pillar(folder, "the-master_master")["maia"]
    assert maia["env"] == {"cluster_name": "c1"} and "registry" not in maia and "cifs" not in maia
    assert set(maia["hosts"]) == {"node-0", "node-1"}


def test_ordinary_pillar_still_adds_to_a_scoped_host(folder):
    _secrets_site(folder)
    maia = site_pillar(folder, "node-1", {"env": {"extra": "x"}, "prepare": {"ufw": False}})["maia"]
    assert maia["env"] == {"cluster_name": "c1", "extra": "x"} and maia["prepare"]["ufw"] is False


# ---- addresses validated at render -----------------------------------------------------


@pytest.mark.parametrize("address", ["x(rw) *", "-oProxyCommand=touch /tmp/x", "198.18.0.12\n", "a b", "*", "node_1"])
def test_bad_address_fails_the_render_naming_host_and_key(folder, address):
    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    inv["hosts"]["node-1"]["address"] = address
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    with pytest.raises(InventoryError, match=r"host node-1: address=.* is not an IPv4/IPv6 address or DNS name"):
        site_pillar(folder, "node-0")


@pytest.mark.parametrize("address", ["fd00::12", "node-1.example.org", "node-1"])
def test_good_addresses_pass(folder, address):
    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    inv["hosts"]["node-1"]["address"] = address
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    assert site_pillar(folder, "node-0")["maia"]["hosts"]["node-1"]["address"] == address


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"prepare": {"nfs_export_extra_clients": ["x(rw) *"]}}, r"nfs_export_extra_clients: 'x\(rw\) \*' is not"),
        ({"k8s": {"api_allowed_sources": ["admin.example.org"]}}, "api_allowed_sources: 'admin.example.org' is not an IP"),
        ({"k8s": {"web_allowed_sources": ["10.0.0.0/33"]}}, "web_allowed_sources: '10.0.0.0/33'"),
        ({"prepare": {"ufw_extra_rules": [{"port": 80, "from": "10.0.0.1 port 22"}]}}, "ufw_extra_rules item 1"),
    ],
)
def test_bad_networks_in_pillar_fail_the_render(folder, overrides, message):
    with pytest.raises(InventoryError, match=message):
        site_pillar(folder, "node-0", overrides)


def test_named_extra_export_targets_pass(folder):
    overrides = {"prepare": {"nfs_export_extra_clients": ["10.1.0.0/16", "*", "nas.example.org"]},
                 "k8s": {"api_allowed_sources": ["10.0.0.0/24", "fd00::/64"]}}
    assert site_pillar(folder, "node-0", overrides)["maia"]["prepare"]["nfs_export_extra_clients"][1] == "*"


def test_host_without_an_ip_gets_its_default_ipv4_from_grains(folder):
    """Issue 13 item 6: the reference inventory names hosts only; firewall and NFS
    rules use the default IPv4 each host reports (grain maia_default_ipv4)."""
    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    inv["hosts"]["node-0"]["address"] = "node-0"
    inv["hosts"]["node-1"]["address"] = "node-1"
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    grains = {"node-0": {"maia_default_ipv4": "198.18.0.21"}, "node-1": {"maia_default_ipv4": "198.18.0.22"}}
    maia = site_pillar(folder, "node-1", grains_of=lambda name: grains.get(name, {}))["maia"]
    assert maia["hosts"]["node-0"] == {"address": "node-0", "roles": ["control-plane", "nfs_server"], "ip": "198.18.0.21"}
    assert maia["hosts"]["node-1"]["ip"] == "198.18.0.22"
    assert maia["nfs_server"] == {"name": "node-0", "address": "node-0", "ip": "198.18.0.21"}
    # nothing cached: the address recorded the first time (known-addresses.json)
    assert site_pillar(folder, "node-1")["maia"]["hosts"]["node-0"]["ip"] == "198.18.0.21"
    # nothing cached nor recorded: no ip, the state validation then names the host
    (folder / "known-addresses.json").unlink()
    assert "ip" not in site_pillar(folder, "node-1")["maia"]["hosts"]["node-0"]


def test_a_changed_address_grain_stops_the_render_until_accepted(folder):
    """A host reporting another address than the one first recorded (a spoofed grain
    maia_default_ipv4) stops every host's pillar, naming both addresses, until the admin
    accepts it with ``maia hosts accept-address``."""
    import stat

    from click.testing import CliRunner

    from maia_salt.cli import main
    from maia_salt.known_addresses import AddressChanged

    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    inv["hosts"]["node-1"]["address"] = "node-1.example.org"
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    grains = {"node-1": {"maia_default_ipv4": "198.18.0.22"}}
    site_pillar(folder, "node-0", grains_of=lambda name: grains.get(name, {}))
    assert stat.S_IMODE((folder / "known-addresses.json").stat().st_mode) == 0o600

    grains["node-1"]["maia_default_ipv4"] = "203.0.113.66"
    for minion in ("node-0", "node-1"):
        with pytest.raises(AddressChanged, match=r"host node-1 now reports address 203\.0\.113\.66 .* but 198\.18\.0\.22 "
                                                 r"is the one recorded.*maia hosts accept-address node-1"):
            site_pillar(folder, minion, grains_of=lambda name: grains.get(name, {}))

    result = CliRunner().invoke(main, ["hosts", "accept-address", "node-1", "--config-folder", str(folder)])
    assert result.exit_code == 0 and "198.18.0.22 -> 203.0.113.66 accepted" in result.output
    maia = site_pillar(folder, "node-0", grains_of=lambda name: grains.get(name, {}))["maia"]
    assert maia["hosts"]["node-1"]["ip"] == "203.0.113.66"
    again = CliRunner().invoke(main, ["hosts", "accept-address", "node-1", "--config-folder", str(folder)])
    assert again.exit_code == 0 and "nothing was changed" in again.output


def test_cluster_name_is_rechecked(folder):
    env = json.loads((folder / "env.json").read_text())
    env["cluster_name"] = "../../etc/x"
    (folder / "env.json").write_text(json.dumps(env))
    (folder / "../../etc/x.yaml".replace("../../etc/", "")).write_text("{}")
    with pytest.raises(ConfigFolderError, match="cluster_name='../../etc/x' is not a DNS label"):
        site_pillar(folder, "node-0")


def test_parameter_defaults_follow_the_file_and_hand_out_copies(tmp_path):
    """parameters.defaults parses a file once per version: an edited file is read again, and a caller
    that changes what it got does not change what the next caller gets."""
    path = tmp_path / parameters.relpath("prepare")
    path.parent.mkdir(parents=True)
    path.write_text("lvm: true\nnested: {a: 1}\n")
    first = parameters.defaults("prepare", [tmp_path])
    assert first == {"lvm": True, "nested": {"a": 1}}
    first["nested"]["a"] = 99
    assert parameters.defaults("prepare", [tmp_path])["nested"] == {"a": 1}
    path.write_text("lvm: false\nnested: {a: 2, b: 3}\n")
    assert parameters.defaults("prepare", [tmp_path]) == {"lvm": False, "nested": {"a": 2, "b": 3}}


def test_a_worker_host_has_the_worker_role_and_node_scoped_data(folder):
    """A host of group ``workers`` is named with the role ``worker`` (on itself and in every
    host's ``maia:hosts``); like the NFS clients it gets the site's node keys only, no secrets."""
    inv = yaml.safe_load((folder / "inventory.yaml").read_text())
    inv["hosts"]["node-2"] = {"address": "198.18.0.13", "groups": ["workers"], "vars": {"device_list": ["/dev/loop3"]}}
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inv))
    maia = site_pillar(folder, "node-2")["maia"]
    assert maia["roles"] == ["worker"]
    assert maia["hosts"]["node-2"]["roles"] == ["worker"]
    assert maia["cluster"] == {"domain": "maia.test", "k8s_distribution": "microk8s"}
    assert "ARGOCD_PASSWORD" not in maia["env"] and "registry" not in maia
    assert site_pillar(folder, "node-0")["maia"]["hosts"]["node-2"]["roles"] == ["worker"]
