"""Self-healing: what the master accepts from an event and when it heals (maia_salt.heal), and the
maia_heal beacon's looks at real files. The runner and the reactor run for real in
tests/e2e/test_run_checks.py."""
import importlib.util

import pytest

from maia_salt import heal
from support.paths import REPO

SITE = {
    "host": {"address": "198.18.0.12"},
    "roles": ["nfs_clients"],
    "hosts": {"maia-node-0": {"roles": ["control-plane"]}, "maia-node-1": {"roles": ["nfs_clients"]}},
    "heal": {"enabled": True},
}


@pytest.mark.parametrize("tag, data, why", [
    ("salt/job/123/ret/maia-node-1", {}, "not a heal event"),
    ("salt/beacon/maia-node-1/maia_heal/shell", {"id": "maia-node-1"}, "unknown watch 'shell'"),
    ("salt/beacon/maia-node-1/maia_heal/", {"id": "maia-node-1", "watch": "cmd.run rm -rf /"}, "unknown watch"),
    ("salt/beacon/maia-node-1/maia_heal/ufw", {"id": "maia-node-0"}, "names host 'maia-node-0'"),
    ("salt/beacon/maia-node-1/other_beacon/ufw", {"id": "maia-node-1"}, "not a heal event"),
])
def test_an_event_that_names_no_known_watch_or_another_host_is_refused(tag, data, why):
    with pytest.raises(heal.Refused, match=why):
        heal.parse(tag, data)


def test_a_start_re_applies_the_hosts_stages_and_a_watch_its_owning_state():
    assert heal.parse("salt/minion/maia-node-1/start", {"id": "maia-node-1"}) == ("maia-node-1", "start")
    assert heal.parse("salt/beacon/maia-node-1/maia_heal/ufw", {"id": "maia-node-1"}) == ("maia-node-1", "ufw")
    assert heal.targets(SITE, "start") == ["maia.prepare"]
    control = dict(SITE, roles=["control-plane"])
    assert heal.targets(control, "start") == ["maia.prepare", "maia.k8s", "maia.core", "maia.admin"]
    assert heal.targets(SITE, "nfs") == ["maia.prepare.nfs"]
    assert heal.decide("maia-node-1", "ufw", SITE, []) == ("", ["maia.prepare.ufw"])


@pytest.mark.parametrize("host, maia, jobs, why", [
    ("intruder", {**SITE, "host": None}, [], "intruder is not a host of the inventory"),
    ("maia-node-1", {**SITE, "heal": {}}, [], "maia:heal:enabled is not true"),
    ("maia-node-1", {**SITE, "heal": {"enabled": "yes"}}, [], "maia:heal:enabled is not true"),
    ("maia-node-1", SITE, [{"fun": "runner.maia_heal.react", "jid": "1"}, {"fun": "runner.state.orch", "jid": "2"}],
     "an orchestration runs (job 2)"),
])
def test_no_heal_outside_the_inventory_when_off_or_while_an_orchestration_runs(host, maia, jobs, why):
    assert heal.decide(host, "ufw", maia, jobs) == (why, [])


def test_heals_are_rate_limited_and_a_failed_heal_is_not_retried_before_retry_after(tmp_path):
    clock = [1000.0]
    ledger = heal.Ledger(str(tmp_path / "heal" / "ledger.json"), now=lambda: clock[0])
    assert ledger.claim("maia-node-1", "ufw", 120, 3600) == ""
    assert ledger.claim("maia-node-1", "ufw", 120, 3600).startswith("healed 0 s ago")  # the slot is taken
    assert ledger.claim("maia-node-1", "start", 120, 3600) == ""  # another watch has its own slot
    ledger.finish("maia-node-1", "ufw", failed=False)
    clock[0] += 121
    assert ledger.claim("maia-node-1", "ufw", 120, 3600) == ""
    ledger.finish("maia-node-1", "ufw", failed=True)
    clock[0] += 600
    assert "the last heal failed 600 s ago: not retried before 3600 s" == ledger.claim("maia-node-1", "ufw", 120, 3600)
    clock[0] += 3000
    assert ledger.claim("maia-node-1", "ufw", 120, 3600) == ""
    ledger.release("maia-node-1", "ufw")  # a busy host gives the slot back
    assert ledger.claim("maia-node-1", "ufw", 120, 3600) == ""


def test_the_outcome_of_a_heal_run():
    ok = {"file_|-a_|-/x_|-managed": {"result": True, "changes": {"diff": "x"}},
          "cmd_|-b_|-y_|-run": {"result": True, "changes": {}}}
    assert heal.outcome(ok) == ("ok", ["a"], [])
    assert heal.outcome({**ok, "ufw_|-c_|-z_|-allowed": {"result": False, "changes": {}}}) == ("failed", ["a"], ["c"])
    assert heal.outcome(['The function "state.sls" is running as PID 12 and was started at ...'])[0] == "busy"
    assert heal.outcome("did not answer") == ("failed", [], ["did not answer"])


def test_the_reactor_sends_both_events_to_the_one_reaction_in_the_file_roots():
    assert heal.REACTOR == [{"salt/minion/*/start": [heal.REACTION]}, {"salt/beacon/*/maia_heal/*": [heal.REACTION]}]
    sls = REPO / "formulas" / heal.REACTION[len("salt://"):]
    assert "runner.maia_heal.react" in sls.read_text()


@pytest.fixture
def beacon():
    spec = importlib.util.spec_from_file_location("maia_heal_beacon", REPO / "_beacons" / "maia_heal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__context__ = {}
    module.__salt__ = {}
    return module


def test_the_beacon_fires_once_per_changed_watch_and_forgets_what_a_state_run_changed(beacon, tmp_path):
    rules, exports = tmp_path / "user.rules", tmp_path / "exports"
    rules.write_text("-A ufw-user-input -s 198.18.0.11 -j ACCEPT\n")
    config = [{"interval": 10}, {"watches": {"ufw": {"files": [str(rules)], "services": []},
                                           "nfs": {"files": [str(exports)], "services": []}}}]
    assert beacon.validate(config)[0] is True
    assert beacon.beacon(config) == []  # the first look only records
    assert beacon.beacon(config) == []
    rules.write_text("")
    assert beacon.beacon(config) == [{"tag": "ufw", "watch": "ufw", "changed": [f"file:{rules}"]}]
    assert beacon.beacon(config) == []
    exports.write_text("/nfs 198.18.0.12(rw)\n")  # absent -> present
    assert [e["tag"] for e in beacon.beacon(config)] == ["nfs"]
    beacon.close(config)  # a state run: what it changes becomes the reference
    rules.write_text("-A ufw-user-input -s 198.18.0.11 -j ACCEPT\n")
    assert beacon.beacon(config) == []
    assert "198.18.0.11" not in str(beacon.fingerprints({"ufw": {"files": [str(rules)]}}))


@pytest.mark.parametrize("config", [
    {"watches": {}}, [{"interval": 10}], [{"watches": {"ufw": {"files": "/etc/x"}}}],
    [{"watches": {"ufw": {"files": [], "command": ["rm"]}}}], [{"watch": {"ufw": {"files": []}}}],
])
def test_the_beacon_refuses_a_bad_configuration(beacon, config):
    assert beacon.validate(config)[0] is False
