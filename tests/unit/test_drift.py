"""`maia drift`: orch.maia under test=True, its exit code (0 none, 3 drift, 1 the check failed),
the plan of each drifted state with secrets masked, and the --json document against the shipped
schema. No Salt daemon here: the run is a fake that returns a real state.apply return under
test=True (tests/e2e/test_run_checks.py checks the same on the lab's real hosts)."""
import json

import jsonschema
import pytest
from click.testing import CliRunner

from maia_salt import cli, jsonout, summary
from maia_salt.install import InstallReport
from test_validate_json import PREDICTED

CONVERGED = {"maia-node-0": {
    "pkg_|-maia-prepare-ufw-package-installed_|-ufw_|-installed": {
        "result": True, "__run_num__": 1, "duration": 9.0, "comment": "installed", "changes": {}},
}}


@pytest.fixture
def salt_config(tmp_path):
    (tmp_path / "master").write_text("{}\n")  # a master with no maia ext_pillar: no inventory to ask
    return tmp_path


def _drift(monkeypatch, salt_config, report, *args):
    calls = []

    def run(*a, **kw):
        calls.append((a, kw))
        return report

    monkeypatch.setattr("maia_salt.install.run_orchestration", run)
    result = CliRunner().invoke(cli.main, ["drift", "-c", str(salt_config), *args])
    return result, calls


def test_a_drifted_state_is_named_with_its_host_and_exit_3(monkeypatch, salt_config):
    report = InstallReport(summary.from_state_run("prepare", PREDICTED) + summary.from_state_run("prepare", CONVERGED),
                           [], 3.0, 0)
    result, calls = _drift(monkeypatch, salt_config, report, "--stages", "prepare")
    assert result.exit_code == 3, result.output
    ((args, kw),) = calls
    assert kw["test"] is True and args[1] == ["prepare"], calls
    assert "WOULD CHANGE prepare on maia-node-1: maia-prepare-ufw-rule-peers" in result.stdout
    assert "DRIFT: 2 state(s) differ from the site's configuration on maia-node-1 (prepare)" in result.stdout
    assert "maia-node-0 (prepare)" not in result.stdout
    assert "hash-value" not in result.output and "<masked>" in result.stdout


def test_drift_json_validates_names_the_host_and_masks(monkeypatch, salt_config):
    report = InstallReport(summary.from_state_run("prepare", PREDICTED), [], 3.0, 0)
    result, _ = _drift(monkeypatch, salt_config, report, "--json")
    assert result.exit_code == 3, result.output
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
    assert doc["command"] == "drift" and doc["exit_code"] == 3 and doc["ok"] is False and doc["test"] is True
    changed = {(row["host"], c["state"]) for row in doc["hosts"] for c in row["changes"]}
    assert changed == {("maia-node-1", "maia-prepare-ufw-rule-peers"), ("maia-node-1", "maia-k8s-argocd-admin")}
    assert "hash-value" not in result.stdout
    # 3 belongs to drift alone, and a drift document is always a dry run
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(jsonout.schema()).validate({**doc, "command": "install"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(jsonout.schema()).validate({**doc, "test": False})


def test_no_drift_exits_0(monkeypatch, salt_config):
    report = InstallReport(summary.from_state_run("prepare", CONVERGED), [], 1.0, 0)
    result, _ = _drift(monkeypatch, salt_config, report)
    assert result.exit_code == 0, result.output
    assert "no drift: every host matches" in result.stdout and "WOULD CHANGE" not in result.stdout
    doc_run, _ = _drift(monkeypatch, salt_config, report, "--json")
    doc = json.loads(doc_run.stdout)
    jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
    assert doc_run.exit_code == 0 and doc["ok"] is True and doc["exit_code"] == 0


def test_a_failed_check_exits_1_even_with_drift(monkeypatch, salt_config):
    """A host that failed was not checked: the result is a failure, not "drift" or "none"."""
    failing = {"maia-node-2": {"maia_storage_|-maia-prepare-lvm-host-vars-valid_|-x_|-valid": {
        "result": False, "__run_num__": 1, "duration": 1.0, "comment": "/dev/nope is missing", "changes": {}}}}
    report = InstallReport(summary.from_state_run("prepare", {**PREDICTED, **failing}), [], 2.0, 1)
    result, _ = _drift(monkeypatch, salt_config, report)
    assert result.exit_code == 1, result.output
    assert "drift check FAILED" in result.stdout and "FAILED prepare on maia-node-2" in result.stdout


def test_bad_stage_runs_nothing(monkeypatch, salt_config):
    result, calls = _drift(monkeypatch, salt_config, None, "--stages", "prepare,apps")
    assert result.exit_code == 2 and "unknown stage(s) apps" in result.output and calls == []
