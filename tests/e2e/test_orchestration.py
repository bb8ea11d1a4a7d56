"""orch.maia end to end on the lab: minions and salt-ssh, re-runs, stage subsets, failures.

See conftest.py for what is real and what is a stand-in here.
"""
import os
import stat

import yaml

from maia_salt.install import run_orchestration


def rows(report, stage=None):
    return [r for r in report.results if stage is None or r.stage == stage]


def test_minions_install_all_stages_then_rerun_changes_nothing(site_lab):
    first = run_orchestration(site_lab.dir)
    assert first.ok, first.render()
    assert {r.stage for r in first.results} == {"prepare", "k8s", "core"}
    assert {r.host for r in rows(first, "prepare")} == {"maia-node-0", "maia-node-1", "maia-node-2"}
    assert {r.host for r in rows(first, "k8s")} == {"maia-node-0"}
    assert first.changed > 0

    folder = site_lab.config_folder
    cluster = site_lab.state["cluster_name"]
    for name in (f"{cluster}-kubeconfig.yaml", "ca.crt"):
        path = os.path.join(folder, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name

    second = run_orchestration(site_lab.dir)
    assert second.ok, second.render()
    assert second.changed == 0, second.render()
    assert sum(r.states for r in second.results) == sum(r.states for r in first.results)


def test_salt_ssh_mode_reruns_clean(site_lab):
    report = run_orchestration(site_lab.dir, ssh=True)
    assert report.ok, report.render()
    assert {r.stage for r in report.results} == {"prepare", "k8s", "core"}
    assert report.changed == 0, report.render()


def test_stage_subset_and_flag_override(site_lab):
    full = run_orchestration(site_lab.dir, stages=["prepare"])
    without_cifs = run_orchestration(site_lab.dir, stages=["prepare"], pillar={"maia": {"prepare": {"cifs": False}}})
    assert full.ok and without_cifs.ok, without_cifs.render()
    assert {r.stage for r in without_cifs.results} == {"prepare"}
    by_host = {r.host: r.states for r in full.results}
    for r in without_cifs.results:
        # the CIFS states give way to one "cifs skipped" state
        assert r.states < by_host[r.host], (r.host, r.states, by_host[r.host])


def test_bad_device_stops_before_stage_2(site_lab):
    inventory = site_lab.inventory
    good = open(inventory).read()
    bad = yaml.safe_load(good)
    bad["hosts"]["maia-node-1"]["vars"]["device_list"] = ["/dev/maia-no-such-disk"]
    with open(inventory, "w") as fh:
        yaml.safe_dump(bad, fh)
    try:
        # without the preflight (which would stop the run before stage 1): the state's own check
        report = run_orchestration(site_lab.dir, pillar={"maia": {"orch": {"preflight": False}}})
    finally:
        with open(inventory, "w") as fh:
            fh.write(good)
    assert not report.ok
    assert report.returncode != 0
    assert not rows(report, "k8s") and not rows(report, "core")
    failed = {r.host: r.failures for r in rows(report, "prepare") if r.failures}
    assert list(failed) == ["maia-node-1"], report.render()
    (state_id, comment), = failed["maia-node-1"][:1]
    assert state_id == "maia-prepare-lvm-host-vars-valid"
    assert "/dev/maia-no-such-disk" in comment
    text = report.render()
    assert "maia-node-1" in text and "maia-prepare-lvm-host-vars-valid" in text
