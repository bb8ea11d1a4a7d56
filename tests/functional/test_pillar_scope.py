"""What each role's compiled pillar holds, read through a real salt-master and
two real salt-minions (pytest-salt-factories), on a site with a CIFS key and
private-registry credentials.

The control-plane host gets the platform secrets; the NFS client gets the
non-secret keys its states read and the CIFS key (it mounts CIFS volumes), and
none of the platform secrets; the master's own pillar (orchestration) gets no
secret at all.
"""
import json

import pytest
import yaml

from maia_salt.configure import configure
from support.secrets import site_secrets, stored_secrets
from support.paths import REPO
from support.minion import SKIP_MACHINE_GRAINS
from support.site import SITE_ENV, SITE_INVENTORY

# Everything a host outside the control plane may hold, key by key.
NODE_KEYS = {"config_folder", "stages", "kubeconfig", "cluster", "env", "prepare", "k8s", "core",
             "roles", "host", "hosts", "nfs_server", "cifs"}


@pytest.fixture(scope="module")
def scoped_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoped") / "config"
    configure(None, {**SITE_ENV, "CONFIG_FOLDER": str(folder)}, None, cifs_key=True)
    (folder / "maia-registry-credentials.json").write_text(
        json.dumps({"harbor_username": "robot$maia-scope", "harbor_password": "registry-scope-password"}))
    (folder / "inventory.yaml").write_text(yaml.safe_dump(SITE_INVENTORY))
    return folder


@pytest.fixture(scope="module")
def master(salt_factories, scoped_site):
    factory = salt_factories.salt_master_daemon("scope-master", overrides={
        "ext_pillar": [{"maia": {"config_folder": str(scoped_site)}}],
        "file_roots": {"base": [str(REPO / "formulas")]},
        **SKIP_MACHINE_GRAINS,
    })
    with factory.started():
        yield factory


@pytest.fixture(scope="module")
def minions(master):
    cp = master.salt_minion_daemon("maia-node-0", overrides=SKIP_MACHINE_GRAINS)
    client = master.salt_minion_daemon("maia-node-1", overrides=SKIP_MACHINE_GRAINS)
    # an accepted minion the inventory does not name (a host that joined the master on its own)
    outsider = master.salt_minion_daemon("maia-intruder", overrides=SKIP_MACHINE_GRAINS)
    with cp.started(), client.started(), outsider.started():
        yield {"control-plane": cp, "nfs_clients": client, "outside": outsider}


def compiled(master, minion):
    ret = master.salt_cli(timeout=120).run("pillar.items", "unmask=True", minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    return ret.data["maia"]


def holds(maia, secrets):
    text = json.dumps(maia)
    return {label for label, value in secrets.items() if value in text}


def test_each_role_holds_what_its_states_use(master, minions, scoped_site):
    secrets = stored_secrets(scoped_site)  # the pillar carries what the folder holds
    cifs = {label for label in secrets if label.startswith("cifs_key")}
    platform = set(secrets) - cifs
    # the collection must see the platform secrets, or the test proves nothing
    assert {"env.json:ARGOCD_PASSWORD", "env.json:argocd_bcrypt_password", "registry:harbor_password",
            "func.yaml:traefik_dashboard_password"} <= platform
    assert cifs

    cp = compiled(master, minions["control-plane"])
    assert holds(cp, secrets) == set(secrets)
    assert cp["registry"]["username"] == "robot$maia-scope"

    node = compiled(master, minions["nfs_clients"])
    assert set(node) <= NODE_KEYS, sorted(set(node) - NODE_KEYS)
    assert holds(node, secrets) == cifs, sorted(holds(node, secrets) - cifs)
    assert node["env"] == {"cluster_name": "func"}
    assert node["cluster"] == {"cluster_name": "func", "domain": "maia.func.test", "k8s_distribution": "microk8s"}
    assert node["roles"] == ["nfs_clients"] and node["hosts"]["maia-node-0"]["ip"] == "198.18.0.11"


def test_a_minion_outside_the_inventory_gets_no_secret(master, minions, scoped_site):
    """With an inventory, and without one: no minion it does not name gets a secret, even one that
    claims the control-plane role through its own grain. Without an inventory no minion of the
    master gets one, the control plane included (only ``salt-call --local`` on a one-host site
    does: tests/functional/test_salt_call_local.py)."""
    secrets = site_secrets(scoped_site)
    cli = master.salt_cli(timeout=120)
    assert cli.run("grains.setval", "maia_roles", '["control-plane"]', minion_tgt="maia-intruder").returncode == 0
    outside = compiled(master, minions["outside"])
    assert holds(outside, secrets) == set(), sorted(holds(outside, secrets))
    assert outside["roles"] == [] and outside["host"] == {}

    inventory = scoped_site / "inventory.yaml"
    kept = inventory.read_text()
    inventory.unlink()
    try:
        for role in ("outside", "control-plane"):
            maia = compiled(master, minions[role])
            assert holds(maia, secrets) == set(), (role, sorted(holds(maia, secrets)))
            assert "registry" not in maia and "cifs" not in maia
    finally:
        inventory.write_text(kept)


def test_master_pillar_for_orchestration_holds_no_secret(master, minions, scoped_site):
    """The orchestration renders with the master's own pillar: hosts and flags, no secret."""
    ret = master.salt_run_cli(timeout=120).run("pillar.show_pillar", "scope-master_master")
    assert ret.returncode == 0, ret
    maia = ret.data["maia"]
    assert set(maia["hosts"]) == {"maia-node-0", "maia-node-1"}
    assert holds(maia, site_secrets(scoped_site)) == set()


def test_ordinary_pillar_overrides_still_apply_to_a_scoped_host(master, minions):
    ret = master.salt_cli(timeout=120).run(
        "pillar.items", 'pillar={"maia": {"prepare": {"ufw": false}, "cifs": {"hosts": ["maia-node-0"]}}}',
        "unmask=True", minion_tgt="maia-node-1")
    assert ret.returncode == 0, ret
    maia = ret.data["maia"]
    assert maia["prepare"] == {"ufw": False}
    assert "private_key" not in maia.get("cifs", {})


def test_host_named_without_ip_gets_the_ip_its_minion_reports(master, minions, scoped_site):
    """Issue 13 item 6 through a real master: with inventory addresses that are
    host names, the ext_pillar gives each host the IP from its grain
    maia_default_ipv4, read from the master's cache of the grains every minion
    reports (both minions run on this machine, so both report its address)."""
    cli = master.salt_cli(timeout=120)
    for minion in minions.values():
        assert cli.run("saltutil.sync_grains", minion_tgt=minion.id).returncode == 0
    ret = cli.run("grains.get", "maia_default_ipv4", minion_tgt="maia-node-0")
    assert ret.returncode == 0, ret
    address = ret.data
    if not address:
        pytest.skip("this machine has neither a default route nor a single IPv4 address")
    inventory = scoped_site / "inventory.yaml"
    good = inventory.read_text()
    named = yaml.safe_load(good)
    for name, host in named["hosts"].items():
        host["address"] = name
    inventory.write_text(yaml.safe_dump(named))
    try:
        for minion in minions.values():  # each pillar request puts the minion's grains in the master's cache
            assert cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt=minion.id).returncode == 0
        node = compiled(master, minions["nfs_clients"])
    finally:
        inventory.write_text(good)
    assert node["hosts"]["maia-node-0"] == {"address": "maia-node-0", "roles": ["control-plane", "nfs_server"],
                                            "ip": address}
    assert node["nfs_server"] == {"name": "maia-node-0", "address": "maia-node-0", "ip": address}


def test_a_spoofed_address_grain_stops_the_run_until_accepted(master, minions, scoped_site):
    """A compromised host reports an outside address as its grain ``maia_default_ipv4`` (here:
    its synced grain module replaced by one that says 203.0.113.66). The address first recorded
    stays; every host's pillar render fails naming the host and both addresses, until the admin
    runs ``maia hosts accept-address``. A real master compiles the pillar from its grain cache."""
    import os
    import subprocess

    from support.paths import BIN

    cli = master.salt_cli(timeout=120)
    spoofer = minions["nfs_clients"]
    for minion in minions.values():
        assert cli.run("saltutil.sync_grains", minion_tgt=minion.id).returncode == 0
    real = cli.run("grains.get", "maia_default_ipv4", minion_tgt=spoofer.id).data
    if not real:
        pytest.skip("this machine has neither a default route nor a single IPv4 address")
    inventory = scoped_site / "inventory.yaml"
    good = inventory.read_text()
    named = yaml.safe_load(good)
    named["hosts"]["maia-node-1"]["address"] = "maia-node-1"
    inventory.write_text(yaml.safe_dump(named))
    extmods = cli.run("config.get", "extension_modules", minion_tgt=spoofer.id).data
    grain_module = os.path.join(extmods, "grains", "maia_net.py")
    assert os.path.isfile(grain_module), grain_module
    known = scoped_site / "known-addresses.json"
    try:
        assert cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt=spoofer.id).returncode == 0
        assert compiled(master, minions["control-plane"])["hosts"]["maia-node-1"]["ip"] == real
        assert yaml.safe_load(known.read_text())["hosts"]["maia-node-1"] == real

        with open(grain_module, "w", encoding="utf-8") as fh:
            fh.write("def spoofed():\n    return {'maia_default_ipv4': '203.0.113.66'}\n")
        assert cli.run("saltutil.refresh_grains", minion_tgt=spoofer.id).returncode == 0
        assert cli.run("grains.get", "maia_default_ipv4", minion_tgt=spoofer.id).data == "203.0.113.66"
        cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt=spoofer.id)  # its grains reach the cache

        ret = cli.run("pillar.items", "unmask=True", minion_tgt="maia-node-0")
        text = ret.stdout + ret.stderr
        assert "host maia-node-1 now reports address 203.0.113.66" in text and real in text, text[-2000:]
        assert "maia hosts accept-address maia-node-1" in text

        accepted = subprocess.run([str(BIN / "maia"), "hosts", "accept-address", "maia-node-1", "--config-folder",
                                   str(scoped_site)], capture_output=True, text=True, timeout=60)
        assert accepted.returncode == 0 and f"{real} -> 203.0.113.66 accepted" in accepted.stdout, accepted
        assert compiled(master, minions["control-plane"])["hosts"]["maia-node-1"]["ip"] == "203.0.113.66"
    finally:
        inventory.write_text(good)
        cli.run("saltutil.sync_grains", minion_tgt=spoofer.id)  # its own grain module back
        if known.exists():
            known.unlink()
