"""bench/bench_targets.py: issue 25's targets judged from a results document (no lab), the ratio
targets "not measured" with the reason when the collection is missing, and the checks kept from
earlier issues; bench/run.py's comparison starts no lab when the collection is missing."""
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "bench"))
import bench_targets as bt  # noqa: E402


def stage1(mode, hosts, second_seconds, host_cpu, master, controller, all_stages=None):
    runs = [{"run": "prepare first", "seconds": 20.0, "ok": True, "changed": 5},
            {"run": "prepare second", "seconds": second_seconds, "ok": True, "changed": 0,
             "cpu_s": {"host_mean": host_cpu, "master": master, "controller": controller}}]
    if all_stages is not None:
        runs.append({"run": "all stages no-op", "seconds": all_stages, "ok": True, "changed": 0})
    return {"mode": mode, "hosts": hosts, "runs": runs}


def side(first, second, ok=True):
    return {"runs": [{"run": "prepare first", "seconds": first, "ok": ok},
                     {"run": "prepare second", "seconds": second, "ok": ok}]}


def results(comparison):
    return {"full_n": 3, "comparison": comparison, "scenarios": [
        stage1("minions", 1, 3.0, 0.4, 0.2, 1.0),
        stage1("minions", 3, 4.0, 0.45, 0.4, 1.1, all_stages=3.9),
        stage1("ssh", 3, 9.0, 1.3, None, 4.0, all_stages=10.5)]}


def by_target(rows):
    return {target: (measured, met) for target, measured, met in rows}


def test_ratio_targets_not_measured_without_the_collection():
    rows = by_target(bt.targets(results({"measured": False, "reason": "MAIA_ANSIBLE_COLLECTION is not set"})))
    ratio_rows = {t: v for t, v in rows.items() if "faster than the Ansible collection" in t}
    assert len(ratio_rows) == 4
    assert set(ratio_rows.values()) == {("not measured: MAIA_ANSIBLE_COLLECTION is not set", None)}
    # a results file from before the comparison existed
    assert all(met is None for t, (_, met) in by_target(bt.targets(results(None))).items() if "faster" in t)


def test_ratio_targets_judged_on_the_median_of_the_rounds():
    rounds = [{"round": 1, "ansible": side(10.0, 8.0), "minions": side(4.0, 2.0), "ssh": side(8.0, 5.0)},
              {"round": 2, "ansible": side(12.0, 9.0), "minions": side(5.0, 2.0), "ssh": side(9.0, 3.0)},
              {"round": 3, "ansible": side(9.0, 9.0), "minions": side(6.0, 3.0), "ssh": side(7.0, 4.0, ok=False)}]
    rows = by_target(bt.targets(results({"measured": True, "rounds": rounds})))
    first = rows["minions, 3 hosts, stage 1 (UFW only) first run: >= 2x faster than the Ansible collection"]
    assert first == ("2.4x (median of 3 round(s); 1.5-2.5x, collection 9.0-12.0 s, maia-salt 4.0-6.0 s)", True)
    noop = rows["minions, 3 hosts, stage 1 (UFW only) no-op re-run: >= 4x faster than the Ansible collection"]
    assert noop[0].startswith("4.0x (median of 3 round(s); 3.0-4.5x") and noop[1] is True
    ssh_first = rows["ssh, 3 hosts, stage 1 (UFW only) first run: >= 1.2x faster than the Ansible collection"]
    assert ssh_first[0].startswith("1.29x (median of 2 round(s)") and ssh_first[1] is True
    ssh_noop = rows["ssh, 3 hosts, stage 1 (UFW only) no-op re-run: >= 2x faster than the Ansible collection"]
    assert ssh_noop[0].startswith("2.3x") and ssh_noop[1] is True


def test_a_ratio_below_the_target_is_not_met_and_no_complete_round_is_not_measured():
    rounds = [{"round": 1, "ansible": side(10.0, 8.0), "minions": side(6.0, 4.0), "ssh": side(9.0, 8.0, ok=False)}]
    rows = by_target(bt.targets(results({"measured": True, "rounds": rounds})))
    assert rows["minions, 3 hosts, stage 1 (UFW only) first run: >= 2x faster than the Ansible collection"] == (
        "1.67x (median of 1 round(s); collection 10.0 s, maia-salt 6.0 s)", False)
    assert rows["ssh, 3 hosts, stage 1 (UFW only) first run: >= 1.2x faster than the Ansible collection"] == (
        "not measured: no round ran both sides to the end", None)


def test_time_and_cpu_targets():
    rows = by_target(bt.targets(results({"measured": False, "reason": "x"})))
    assert rows["minions, 3 hosts, all stages converged (no-op re-run): <= 4 s"] == ("3.9 s", True)
    assert rows["ssh, 3 hosts, all stages converged (no-op re-run): <= 10 s"] == ("10.5 s", False)
    assert rows["minions, stage-1 no-op: CPU inside each host <= 0.5 CPU-s"] == (
        "0.45 CPU-s (largest mean over the sizes)", True)
    assert rows["ssh, stage-1 no-op: CPU inside each host <= 1.2 CPU-s"][1] is False
    # master + controller: 1.2 CPU-s with 1 host, 1.5 with 3: 0.15 per added host
    assert rows["minions, stage-1 no-op: master and controller CPU per added host <= 0.15 CPU-s"] == (
        "0.15 CPU-s per host (fitted slope)", True)


def test_cpu_per_added_host_needs_two_sizes():
    res = results({"measured": False, "reason": "x"})
    res["scenarios"] = [s for s in res["scenarios"] if s["hosts"] == 3]
    rows = by_target(bt.targets(res))
    assert rows["minions, stage-1 no-op: master and controller CPU per added host <= 0.15 CPU-s"] == (
        "not measured: needs stage-1 runs of two lab sizes or more", None)


def test_failed_all_stages_run_is_not_met():
    res = results({"measured": False, "reason": "x"})
    res["scenarios"][1]["runs"][2].update(ok=False, seconds=2.0)
    rows = by_target(bt.targets(res))
    assert rows["minions, 3 hosts, all stages converged (no-op re-run): <= 4 s"] == ("FAILED after 2.0 s", False)


def test_checks_kept_from_earlier_issues():
    res = results(None)
    res["scenarios"][1]["runs"][2]["changed"] = 2
    res["scenarios"][1]["runs"].append({"run": "k8s+core no-op", "seconds": 5.0, "ok": True, "changed": 0, "api": {
        "writes": 0, "objects_read": 30, "object_reads_max": 1, "objects_read_twice": {}, "lists": 8,
        "lists_repeated": {}, "per_app_max": 1, "per_app_mean": 1.0, "applications": 16}})
    rows = by_target(bt.checks(res))
    assert rows["changes reported by a second full run, minions: 0"] == ("2", False)
    assert rows["changes reported by a second full run, ssh: 0"] == ("0", True)
    assert rows["minions, stages 2 and 3 no-op: no write request"] == ("0 writes", True)
    assert rows["minions, stages 2 and 3 no-op: at most one read per object"][1] is True
    assert rows["API requests per Application on a no-op run, minions: <= 2"] == ("max 1, mean 1.0 (16 apps)", True)
    assert rows["ssh, stages 2 and 3 no-op: no write request"] == ("-", None)


def test_comparison_without_the_collection_starts_no_lab(monkeypatch):
    import run

    monkeypatch.setattr(run, "compare_lab", lambda *a: (_ for _ in ()).throw(AssertionError("a lab was started")))
    saved = []
    got = run.comparison({"measured": False, "reason": "MAIA_ANSIBLE_COLLECTION is not set"}, 3, ["minions", "ssh"],
                         "bench", lambda: saved.append(1))
    assert got == {"measured": False, "reason": "MAIA_ANSIBLE_COLLECTION is not set", "rounds": []}
    assert not saved
