"""`maia status` reads the jobs runner's answers (the shapes of Salt 3008's jobs.list_jobs and
jobs.lookup_jid); the command itself runs on the lab in tests/e2e/test_run_checks.py."""
import jsonschema
import pytest

from maia_salt import jsonout, status

OK = {"a_|-b_|-c_|-d": {"result": True, "changes": {}, "comment": "", "duration": 1.0}}
JOBS = {
    "20261206080000000001": {"Function": "state.sls", "StartTime": "2026, Dec 06 08:00:00.000001",
                             "Arguments": ["maia.prepare", {"pillar": {"maia": {}}, "__kwarg__": True}]},
    "20261206070000000001": {"Function": "state.sls", "StartTime": "2026, Dec 06 07:00:00.000001",
                             "Arguments": ["maia.prepare", {"pillar": {"maia": {}}, "__kwarg__": True}]},
    # the module sync's job of several functions, and a dry run: not a stage run
    "20261206080000000002": {"Function": ["saltutil.sync_modules", "test.ping"], "Arguments": [[], []]},
    "20261206090000000003": {"Function": "state.sls", "Arguments": ["maia.prepare", {"test": True, "__kwarg__": True}]},
}


def runner(fun, **kw):
    if fun == "jobs.list_jobs":
        return JOBS
    hosts = ["maia-node-0", "maia-node-1"] if kw["jid"] == "20261206080000000001" else ["maia-node-2"]
    return {"outputter": "highstate", "data": {h: OK for h in hosts}}  # lookup_jid of a state job


def test_last_run_per_host_and_stage():
    rows = status.last_runs(runner)
    assert [(r.stage, r.host, r.jid) for r in rows] == [
        ("prepare", "maia-node-0", "20261206080000000001"), ("prepare", "maia-node-1", "20261206080000000001"),
        ("prepare", "maia-node-2", "20261206070000000001")]
    doc = jsonout.of_status(rows, {"maia-node-0": True, "maia-node-1": True, "maia-node-2": False})
    jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
    assert doc["exit_code"] == 1 and doc["hosts"][2]["answers"] is False
    assert "host maia-node-2: DOES NOT ANSWER" in status.render(rows, {"maia-node-2": False})


def test_an_unreadable_job_cache_is_named():
    with pytest.raises(status.StatusError, match="job cache cannot be read"):
        status.last_runs(lambda fun, **kw: "Exception occurred in runner jobs.list_jobs: ...")


def test_the_runners_stack_dump_is_not_shown_only_its_exception():
    """Salt's runner error holds a whole traceback: `maia status` names the exception, never the stack."""
    text = ("Exception occurred in runner jobs.list_jobs: Traceback (most recent call last):\n"
            '  File "/salt/client/mixins.py", line 401, in low\n    data["return"] = func(*args, **kwargs)\n'
            "FileNotFoundError: [Errno 2] No such file or directory: '/var/cache/salt/master/jobs'\n")
    with pytest.raises(status.StatusError) as error:
        status.last_runs(lambda fun, **kw: text)
    assert "FileNotFoundError: [Errno 2] No such file or directory" in str(error.value)
    assert "Traceback" not in str(error.value) and "mixins.py" not in str(error.value)


def test_the_last_scheduled_drift_check_per_host():
    """A minion's scheduled maia_drift.check (its return as the job cache keeps it) is a row of
    stage drift: the drifted states per stage, a failed stage check as a failure; dry runs stay out."""
    jobs = {**JOBS,
            "20261206100000000004": {"Function": "maia_drift.check", "StartTime": "2026, Dec 06 10:00:00.000004",
                                     "Arguments": [], "Target": "maia-node-1"},
            "20261206090000000005": {"Function": "maia_drift.check", "StartTime": "2026, Dec 06 09:00:00.000005",
                                     "Arguments": [], "Target": "maia-node-0"},
            # an older check of maia-node-1: not read (its newest one is)
            "20261206080000000006": {"Function": "maia_drift.check", "Arguments": [], "Target": "maia-node-1"}}
    checks = {
        "20261206100000000004": {"maia-node-1": {"checked": 1.0, "drifted": 1, "stages": {
            "prepare": {"states": 30, "drifted": ["maia-prepare-ufw-rule-from-maia-node-0-allowed"], "error": None}}}},
        "20261206090000000005": {"maia-node-0": {"checked": 1.0, "drifted": 0, "stages": {
            "prepare": {"states": 30, "drifted": [], "error": None},
            "k8s": {"states": 0, "drifted": [], "error": "failed: maia-k8s-microk8s-ready"}}},
            "maia-node-1": {"checked": 0.5, "drifted": 0, "stages": {}}},
    }

    looked_up = []

    def drift_runner(fun, **kw):
        if fun == "jobs.list_jobs":
            return jobs
        looked_up.append(kw["jid"])
        return checks.get(kw["jid"]) or runner(fun, **kw)

    rows = {(r.stage, r.host): r for r in status.last_runs(drift_runner)}
    assert "20261206080000000006" not in looked_up
    node1 = rows[("drift", "maia-node-1")]
    assert node1.jid == "20261206100000000004" and node1.changed == 1 and node1.ok, node1
    assert node1.changes == [("prepare: maia-prepare-ufw-rule-from-maia-node-0-allowed", {}, "would change")]
    node0 = rows[("drift", "maia-node-0")]
    assert node0.states == 30 and node0.changed == 0 and node0.failures == [("k8s", "failed: maia-k8s-microk8s-ready")]
    text = status.render(list(rows.values()), {})
    assert "DRIFT on maia-node-1: prepare: maia-prepare-ufw-rule-from-maia-node-0-allowed" in text
    doc = jsonout.of_status(list(rows.values()), {"maia-node-0": True, "maia-node-1": True})
    jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
