"""maia_drift.check, the host side of the scheduled drift check: each stage this host runs with
test=True, the drifted state IDs per stage, and the metric file for node-exporter's textfile
collector. Here `state.sls` answers with the shape of Salt's own test=True return; the schedule
itself is a minion's (docs/operations.md)."""
import os
import stat

from support.modules import load_salt_module

PREPARE = {
    "maia_ufw_|-maia-prepare-ufw-rule-from-maia-node-0-allowed_|-x_|-rule_present": {
        "result": None, "changes": {"rule": {"old": None, "new": "allow from 198.18.0.11"}}, "comment": "would add"},
    "pkg_|-maia-prepare-ufw-package-installed_|-ufw_|-installed": {"result": True, "changes": {}, "comment": ""},
}
K8S = {"maia_microk8s_|-maia-k8s-microk8s-ready_|-x_|-ready": {"result": False, "changes": {}, "comment": "down"}}


def _module(roles, calls):
    pillar = {"maia:roles": roles}

    def state_sls(sls, test=False, queue=False):
        calls.append((sls, test))
        return {"maia.prepare": PREPARE, "maia.k8s": K8S}.get(sls, {})

    return load_salt_module("_modules/maia_drift.py", "maia_test_drift", salt={
        "pillar.get": lambda key, default=None, unmask=False: pillar.get(key, default),
        "state.sls": state_sls,
    })


def test_a_control_plane_checks_its_four_stages_with_test_true(tmp_path):
    calls = []
    result = _module(["control-plane", "nfs_server"], calls).check(textfile_dir=str(tmp_path / "textfile"))
    assert calls == [("maia.prepare", True), ("maia.k8s", True), ("maia.core", True), ("maia.admin", True)]
    assert result["stages"]["prepare"] == {"states": 2, "drifted": ["maia-prepare-ufw-rule-from-maia-node-0-allowed"],
                                           "error": None}
    assert result["stages"]["k8s"]["error"] == "failed: maia-k8s-microk8s-ready" and result["drifted"] == 1
    metric = tmp_path / "textfile" / "maia_drift.prom"
    assert result["metrics"] == str(metric) and stat.S_IMODE(os.stat(metric).st_mode) == 0o644
    lines = metric.read_text().splitlines()
    assert 'maia_drift_states{stage="prepare"} 1' in lines and 'maia_drift_states{stage="core"} 0' in lines
    assert 'maia_drift_check_failed{stage="k8s"} 1' in lines
    assert any(line.startswith("maia_drift_check_timestamp_seconds ") for line in lines)
    assert [p.name for p in metric.parent.iterdir()] == ["maia_drift.prom"]  # no temporary file left


def test_another_host_checks_stage_1_only(tmp_path):
    calls = []
    result = _module(["nfs_clients"], calls).check(textfile_dir=str(tmp_path))
    assert calls == [("maia.prepare", True)] and list(result["stages"]) == ["prepare"]


BUSY = ['The function "state.sls" is running as PID 4242 and was started at 2026, Dec 06 18:00:00.000000 '
        'with jid 20261206180000000000']


def _busy_module(busy_answers, calls, monkeypatch):
    """state.sls refuses (another state run holds the host) `busy_answers` times, then answers."""
    pillar = {"maia:roles": ["nfs_clients"]}

    def state_sls(sls, test=False, queue=False):
        calls.append((sls, test, queue))
        return BUSY if len(calls) <= busy_answers else PREPARE

    module = load_salt_module("_modules/maia_drift.py", "maia_test_drift_busy", salt={
        "pillar.get": lambda key, default=None, unmask=False: pillar.get(key, default),
        "state.sls": state_sls,
    })
    monkeypatch.setattr(module, "BUSY_POLL", 0)
    return module


def test_a_check_that_fires_during_an_install_waits_for_it(tmp_path, monkeypatch):
    calls = []
    result = _busy_module(2, calls, monkeypatch).check(textfile_dir=str(tmp_path))
    assert calls == [("maia.prepare", True, False)] * 3  # never queued behind the install: asked again
    assert result["stages"]["prepare"]["error"] is None and result["stages"]["prepare"]["states"] == 2
    assert result["drifted"] == 1


def test_a_host_busy_past_the_wait_is_a_failed_check_naming_why(tmp_path, monkeypatch):
    calls = []
    result = _busy_module(10**6, calls, monkeypatch).check(textfile_dir=str(tmp_path), busy_wait=0)
    assert len(calls) == 1
    assert result["stages"]["prepare"] == {"states": 0, "drifted": [], "error": BUSY[0]}
    assert 'maia_drift_check_failed{stage="prepare"} 1' in (tmp_path / "maia_drift.prom").read_text().splitlines()
