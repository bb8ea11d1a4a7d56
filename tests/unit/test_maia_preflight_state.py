"""The preflight as the first state of a host's run (_states/maia_preflight.py, maia.preflight in
orch.maia's one-job run) and the host-side clock check it carries (_modules/maia_preflight.py
clock_findings): the real module's checks under the state, on this machine.

The same state in a real one-job run on lab hosts: tests/e2e/test_orchestration.py
(test_a_converged_site_runs_one_job_per_host_in_both_modes)."""
import time

import pytest

from support.modules import load_salt_module


@pytest.fixture()
def checks():
    module = load_salt_module("_modules/maia_preflight.py", "maia_test_preflight_module")
    module.__grains__ = {"id": "node-a", "osfinger": "Debian-12"}
    return module


def state_with(check):
    return load_salt_module("_states/maia_preflight.py", "maia_test_preflight_state",
                            salt={"maia_preflight.check": check})


def test_the_jobs_arrival_against_the_masters_window(checks):
    at = 1000.0  # the master sent the job out; it may take up to `slack` seconds to arrive
    clock = {"at": at, "slack": 10, "max_skew": 5}
    assert checks.clock_findings(clock, started=at + 12) == []  # late, inside slack + skew
    assert checks.clock_findings(clock, started=at - 4) == []
    (behind,) = checks.clock_findings(clock, started=at - 60)
    assert "60s behind the master's (at most 5s allowed)" in behind["message"] and "NTP" in behind["fix"]
    (ahead,) = checks.clock_findings(clock, started=at + 10 + 30)
    assert "30s ahead of" in ahead["message"]


def test_this_process_started_before_now_and_not_long_ago(checks):
    started = checks._job_started()
    # this pytest process started before the call, and within the test run
    assert time.time() - 24 * 3600 < started <= time.time()
    assert checks.clock_findings({"at": time.time(), "slack": 0, "max_skew": 24 * 3600}) == []


def test_errors_fail_the_state_with_their_fixes_and_warnings_are_named(checks):
    def check(flags=None, settings=None, clock=None):
        found = [{"check": "clock", "level": "error", "message": "the clock is at least 60s behind", "fix": "run NTP"},
                 {"check": "gpu", "level": "warning", "message": "no GPU", "fix": "none needed"}]
        return {"host": "node-a", "checks": ["os", "clock", "gpu"], "findings": found if clock else found[1:]}

    state = state_with(check)
    failed = state.checked("node-a", clock={"at": 1.0})
    assert failed["result"] is False and failed["changes"] == {}
    assert "1 problem(s) on node-a (checks os, clock, gpu): the clock is at least 60s behind (fix: run NTP)" in failed["comment"]
    assert "warnings: no GPU (fix: none needed)" in failed["comment"]
    passed = state.checked("node-a")
    assert passed["result"] is True and passed["changes"] == {}
    assert passed["comment"].startswith("preflight checks passed (os, clock, gpu)")


def test_the_real_checks_under_the_state_pass_here_and_report_no_change(checks):
    checks.__salt__ = {"pillar.get": lambda key, default=None, **_: default}
    state = state_with(checks.check)
    ret = state.checked("node-a", flags={"prepare": {"lvm": False, "nfs": False, "nvidia_drivers": False},
                                         "k8s": {"install_microk8s": False}},
                        # the master sent the job as this process (the "job") started
                        clock={"at": checks._job_started(), "slack": 10, "max_skew": 5})
    assert ret["changes"] == {}
    assert "checks os, names, gpu, clock" in ret["comment"] or "passed (os, names, gpu, clock)" in ret["comment"]
    # this machine is no lab host: its names may not resolve as a site's would, but the clock is its own
    assert "behind the master" not in ret["comment"] and "ahead of the master" not in ret["comment"]


def test_a_check_that_cannot_run_fails_the_state():
    def broken(**_):
        raise OSError("blkid: not found")

    ret = state_with(broken).checked("node-a")
    assert ret["result"] is False and "could not run: blkid: not found" in ret["comment"]
