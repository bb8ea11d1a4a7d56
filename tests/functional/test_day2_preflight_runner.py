"""maia_preflight.run and orch.maia_preflight through a real salt-master and salt-minion on this machine.

The site's inventory (support/site.py) names maia-node-0 (this machine's minion)
and maia-node-1 (no minion): the runner must return node-0's own findings,
name node-1 as not answering, and show the master-side pillar's view of the
host (what the inventory says now, not what the minion cached).
"""
import pytest
import yaml

from test_day2_orch_render import in_order


@pytest.fixture(scope="module")
def synced(salt_master, salt_minion):
    ret = salt_master.salt_cli(timeout=180).run("saltutil.sync_all", minion_tgt=salt_minion.id)
    assert ret.returncode == 0, ret
    return salt_minion


def preflight(salt_master, *args):
    ret = salt_master.salt_run_cli(timeout=300).run("maia_preflight.run", "timeout=20", *args)
    assert isinstance(ret.data, dict), ret
    return ret.data


def messages(report, host):
    return [f["message"] for f in report["hosts"][host]["findings"]]


def test_findings_by_host_with_fixes(salt_master, synced, site):
    report = preflight(salt_master)
    assert report["ok"] is False and "Error" in report
    node0 = report["hosts"]["maia-node-0"]
    assert node0["roles"] == ["control-plane", "nfs_server"]
    assert {"os", "names", "storage", "resources", "ports", "gpu"} <= set(node0["checks"])
    assert any("/dev/vdb does not exist" in m for m in messages(report, "maia-node-0")), node0
    assert any("inventory address 198.18.0.11 is not an address of this host" in m
               for m in messages(report, "maia-node-0")), node0
    assert all(f["fix"] for f in node0["findings"])
    (missing,) = report["hosts"]["maia-node-1"]["findings"]
    assert missing["check"] == "answer" and "did not answer" in missing["message"]
    assert report["hosts"]["site"]["findings"] == []
    # every error of every host on the one line that orch.maia shows
    assert "maia-node-1: maia-node-1 did not answer" in report["Error"]
    assert "/dev/vdb does not exist" in report["Error"]


def test_inventory_change_is_seen_without_a_minion_pillar_refresh(salt_master, synced, site):
    inventory = site / "inventory.yaml"
    good = inventory.read_text()
    changed = yaml.safe_load(good)
    changed["hosts"]["maia-node-0"]["vars"]["device_list"] = ["/dev/maia-preflight-new-disk"]
    inventory.write_text(yaml.safe_dump(changed))
    try:
        report = preflight(salt_master, "hosts=[maia-node-0]", 'flags={"k8s": {"install_microk8s": false}}')
    finally:
        inventory.write_text(good)
    found = messages(report, "maia-node-0")
    assert any("/dev/maia-preflight-new-disk does not exist" in m for m in found), found
    assert "resources" not in report["hosts"]["maia-node-0"]["checks"]  # flags given on the command line win


def test_the_module_sync_rides_in_the_checks_job(salt_master, synced, site):
    """sync=[...] (orch.maia with minions): the hash check and the checks go out in one job;
    the findings are the same as those of the checks alone."""
    alone = preflight(salt_master, "hosts=[maia-node-0]")
    ridden = preflight(salt_master, "hosts=[maia-node-0]", "sync=[modules, states, grains, utils]")
    assert ridden["hosts"]["maia-node-0"]["checks"] == alone["hosts"]["maia-node-0"]["checks"]
    assert messages(ridden, "maia-node-0") == messages(alone, "maia-node-0")
    assert any("/dev/vdb does not exist" in m for m in messages(ridden, "maia-node-0"))


def test_orch_maia_runs_preflight_first_and_stops(salt_master, site):
    ret = salt_master.salt_run_cli(timeout=120).run("state.orchestrate_show_sls", "orch.maia")
    assert ret.returncode == 0, ret
    (compiled,) = ret.data.values()
    order = in_order(compiled)
    # the module sync rides in the preflight's own job (no step of its own)
    assert "maia-orch-minions-synced" not in order
    assert order.index("maia-orch-preflight") < order.index("maia-orch-stage-prepare")
    off = salt_master.salt_run_cli(timeout=120).run(
        "state.orchestrate_show_sls", "orch.maia", 'pillar={"maia": {"orch": {"preflight": false}}}')
    (compiled_off,) = off.data.values()
    assert "maia-orch-preflight" not in compiled_off and "maia-orch-stage-prepare" in compiled_off
