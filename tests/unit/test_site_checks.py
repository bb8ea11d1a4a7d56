"""The site checks only the master makes (maia_salt.site_checks): the hosts' clocks against its
own, the CONFIG_FOLDER (real folders written by the tests' site maker), and the one-job run's
orchestration state that checks the CONFIG_FOLDER (maia_orch.site_checked).

The preflight runner that adds them to the hosts' answers: tests/functional/test_day2_preflight_runner.py."""
import json

from maia_salt import site_checks
from support.modules import load_salt_module
from support.site import make_site


def test_clock_skew_is_measured_against_the_jobs_window():
    before, after = 1000.0, 1030.0  # a slow job: 30 s between sending and the last answer
    times = {"in-window": 1012.0, "slightly-late": after + 3, "ahead": after + 120, "behind": before - 60, "none": None}
    found = site_checks.clock_findings(times, before, after, max_skew=5)
    assert sorted(found) == ["ahead", "behind"]
    assert "120s ahead of" in found["ahead"][0]["message"]
    assert "60s behind" in found["behind"][0]["message"]
    assert "NTP" in found["ahead"][0]["fix"]


def test_config_folder_complete_and_incomplete(tmp_path):
    site = make_site(tmp_path / "config")
    assert site_checks.config_folder_findings(str(site)) == []
    (site / "MAIA_realm.json").unlink()
    (finding,) = site_checks.config_folder_findings(str(site))
    assert "MAIA_realm.json is missing" in finding["message"] and "maia-configure" in finding["fix"]
    (site / "env.json").unlink()
    (finding,) = site_checks.config_folder_findings(str(site))
    assert "env.json" in finding["message"]
    (finding,) = site_checks.config_folder_findings(str(tmp_path / "nowhere"))
    assert "does not exist" in finding["message"]


def test_admin_secrets_missing_from_env_json_are_named(tmp_path):
    site = make_site(tmp_path / "config")
    assert site_checks.config_folder_findings(str(site), admin={"enabled": True}) == []
    env = json.loads((site / "env.json").read_text())
    for key in ("rancher_password", "minio_root_password"):
        env.pop(key)
    (site / "env.json").write_text(json.dumps(env))
    (finding,) = site_checks.config_folder_findings(str(site), admin={"enabled": True})
    assert (finding["check"], finding["level"]) == ("admin", "error")
    assert "rancher_password" in finding["message"] and "minio_root_password" in finding["message"]
    assert "maia-configure" in finding["fix"]
    # not checked when the run leaves the stage out, or the stage is switched off
    assert site_checks.config_folder_findings(str(site)) == []
    assert site_checks.config_folder_findings(str(site), admin={"enabled": False}) == []


def test_the_one_job_runs_site_check_fails_on_an_incomplete_folder_and_changes_nothing(tmp_path):
    state = load_salt_module("_orch_states/maia_orch.py", "maia_test_orch_states", opts={"test": False, "__role": "master"})
    site = make_site(tmp_path / "config")
    ok = state.site_checked(str(site), lvm=True, admin={"enabled": True})
    assert ok["result"] is True and ok["changes"] == {} and str(site) in ok["comment"]
    (site / "inventory.yaml").unlink()
    bad = state.site_checked(str(site), lvm="false")
    assert bad["result"] is False and bad["changes"] == {}
    assert "inventory.yaml is missing" in bad["comment"] and "import-inventory" in bad["comment"]
    unset = state.site_checked(None)
    assert unset["result"] is False and "maia:config_folder is not set" in unset["comment"]
