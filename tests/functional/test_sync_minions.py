"""maia_orch.sync_minions through a real salt-master and salt-minion.

The runner must sync the extension modules only where the minion's copy
differs from the master's, make a changed module take effect in the running
minion, and refresh the master's copy of the minion's pillar and the
minion's own copy when it is stale (what I@ targeting reads on either side)
without returning pillar values.
"""
import pytest

from support.paths import REPO

PROBE = "def version():\n    return {}\n"


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("sync-roots")
    (base / "files" / "_modules").mkdir(parents=True)
    (base / "files" / "_modules" / "maia_probe.py").write_text(PROBE.format(1))
    (base / "pillar").mkdir()
    (base / "pillar" / "top.sls").write_text("base:\n  '*':\n    - probe\n")
    (base / "pillar" / "probe.sls").write_text("probe: 1\nprobe_secret: do-not-return-me\n")
    return base


@pytest.fixture(scope="module")
def master(salt_factories, roots):
    overrides = {
        "file_roots": {"base": [str(roots / "files"), str(REPO / "formulas")]},
        "pillar_roots": {"base": [str(roots / "pillar")]},
        "disable_grains": ["lvm"],
    }
    factory = salt_factories.salt_master_daemon("maia-sync-master", overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture(scope="module")
def minion(master):
    factory = master.salt_minion_daemon("maia-sync-node")
    with factory.started():
        yield factory


def sync(master, *args):
    ret = master.salt_run_cli(timeout=180).run("maia_orch.sync_minions", *args)
    return ret


def probe(master, minion):
    ret = master.salt_cli(timeout=60).run("maia_probe.version", minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    return ret.data


def cached_pillar(master, minion):
    ret = master.salt_run_cli(timeout=60).run("cache.pillar", minion.id)
    assert ret.returncode == 0, ret
    return ret.data[minion.id]


def test_syncs_only_what_differs_and_the_change_takes_effect(master, minion, roots):
    first = sync(master, minion.id)
    assert first.returncode == 0, first
    assert "modules.maia_probe" in first.data["synced"][minion.id]
    assert probe(master, minion) == 1

    again = sync(master, minion.id)
    assert again.returncode == 0, again
    assert again.data == {"minions": 1, "up_to_date": 1, "synced": {}}

    (roots / "files" / "_modules" / "maia_probe.py").write_text(PROBE.format(2))
    master.salt_run_cli(timeout=60).run("fileserver.update")
    changed = sync(master, minion.id)
    assert changed.returncode == 0, changed
    assert changed.data["up_to_date"] == 0
    assert changed.data["synced"] == {minion.id: ["modules.maia_probe"]}
    assert probe(master, minion) == 2  # the running minion uses the new code


def minion_matches(master, minion, expr):
    """Whether the minion itself matches pillar ``expr`` (on the pillar it holds in memory)."""
    ret = master.salt_cli(timeout=60).run("match.pillar", expr, minion_tgt=minion.id)
    assert ret.returncode == 0, ret
    return ret.data


def test_refreshes_both_copies_of_the_pillar_without_returning_values(master, minion, roots):
    assert sync(master, minion.id).returncode == 0
    assert cached_pillar(master, minion)["probe"] == 1
    (roots / "pillar" / "probe.sls").write_text("probe: 2\nprobe_secret: do-not-return-me\n")
    assert minion_matches(master, minion, "probe:1")  # a stage targeted I@probe:2 would skip it
    ret = sync(master, minion.id)
    assert ret.returncode == 0, ret
    # no module changed, but the minion's pillar in memory was stale: refreshed, nothing synced
    assert ret.data == {"minions": 1, "up_to_date": 0, "synced": {minion.id: []}}
    assert cached_pillar(master, minion)["probe"] == 2
    assert minion_matches(master, minion, "probe:2")
    assert "do-not-return-me" not in ret.stdout + ret.stderr
    again = sync(master, minion.id)
    assert again.data == {"minions": 1, "up_to_date": 1, "synced": {}}, again


def test_another_question_rides_in_the_check_job(master, minion, roots):
    """``also``: the preflight's question goes in the same job as the hash check; a minion that
    gets synced is asked again, so the answer comes from the code it runs now."""
    also = 'also=["maia_probe.version", {}]'
    same = sync(master, minion.id, also)
    assert same.returncode == 0, same
    assert same.data["synced"] == {} and same.data["also"] == {minion.id: probe(master, minion)}
    (roots / "files" / "_modules" / "maia_probe.py").write_text(PROBE.format(3))
    master.salt_run_cli(timeout=60).run("fileserver.update")
    changed = sync(master, minion.id, also)
    assert changed.returncode == 0, changed
    assert changed.data["synced"] == {minion.id: ["modules.maia_probe"]}
    assert changed.data["also"] == {minion.id: 3}  # not the answer of the code it had before


def orch_step(ret) -> dict:
    """The one step of a ``salt-run state.orch`` return."""
    data = ret.data.get("data", ret.data)
    (steps,) = data.values()
    (step,) = steps.values()
    return step


def test_the_orchestration_state_syncs_under_test_too(master, minion, roots):
    """``maia_orch.minions_synced`` (_orch_states/maia_orch.py, orch.maia's sync under test=True):
    a dry run syncs the modules too, and reports no change (a fresh site's minions have none of
    maia-salt's modules, and Salt's salt.runner state runs no runner under test=True)."""
    (roots / "files" / "orch_sync.sls").write_text(
        f"synced:\n  maia_orch.minions_synced:\n    - name: {minion.id}\n    - tgt_type: glob\n"
        "    - types: [modules]\n")
    (roots / "files" / "_modules" / "maia_probe.py").write_text(PROBE.format(4))
    master.salt_run_cli(timeout=60).run("fileserver.update")
    ret = master.salt_run_cli(timeout=180).run("state.orch", "orch_sync", "test=True")
    assert ret.returncode == 0, ret
    step = orch_step(ret)
    assert (step["result"], step["changes"]) == (True, {}), step
    assert step["comment"] == f"modules and pillar synced on {minion.id}"
    assert probe(master, minion) == 4  # the minion runs the master's code now
    again = orch_step(master.salt_run_cli(timeout=180).run("state.orch", "orch_sync", "test=True"))
    assert (again["result"], again["changes"], again["comment"]) == (True, {}, "modules and pillar up to date on 1 minion(s)")


def test_bad_input_fails_clearly(master, minion):
    nobody = sync(master, "no-such-minion")
    assert nobody.returncode != 0
    assert "no minion matches 'no-such-minion'" in nobody.stdout + nobody.stderr
    kinds = sync(master, minion.id, "types=[modules, wheels]")
    assert kinds.returncode != 0
    assert "unknown module kinds ['wheels']" in kinds.stdout + kinds.stderr


def test_a_minion_that_does_not_answer_is_named(master, minion):
    minion.terminate()
    try:
        ret = sync(master, minion.id, "timeout=5")
        assert ret.returncode != 0
        assert f"{minion.id}: did not answer" in ret.stdout + ret.stderr
    finally:
        minion.start()
