"""Run summaries from Salt's JSON output (shapes taken from real salt-run/salt-ssh runs)."""
from maia_salt import summary

STATE_OK = {"result": True, "changes": {}, "comment": "ok", "duration": 12.5, "__run_num__": 0}
STATE_CHANGED = {"result": True, "changes": {"diff": "new"}, "comment": "done", "duration": 1000.0, "__run_num__": 1}
STATE_FAILED = {"result": False, "changes": {}, "comment": "device /dev/nope does not exist", "duration": 3.0, "__run_num__": 2}


def test_state_run_counts():
    data = {
        "maia-node-0": {
            "pkg_|-maia-prepare-nfs-server-packages_|-x_|-installed": STATE_CHANGED,
            "file_|-maia-prepare-nfs-export-dir_|-/nfs_|-directory": STATE_OK,
        },
        "maia-node-1": {
            "maia_storage_|-maia-prepare-lvm-host-vars-valid_|-x_|-host_vars_valid": STATE_FAILED,
        },
        "maia-node-2": ["Rendering SLS 'base:maia.prepare' failed: bad"],
    }
    results = summary.from_state_run("prepare", data)
    by_host = {r.host: r for r in results}
    assert (by_host["maia-node-0"].states, by_host["maia-node-0"].changed, by_host["maia-node-0"].failed) == (2, 1, 0)
    assert by_host["maia-node-0"].ok
    assert by_host["maia-node-1"].failures == [("maia-prepare-lvm-host-vars-valid", "device /dev/nope does not exist")]
    assert not by_host["maia-node-1"].ok
    assert "Rendering SLS" in by_host["maia-node-2"].error
    text = summary.render(results, 3.0)
    assert "3 hosts, 3 states, 1 changed, 2 failed, 3.0s wall time" in text
    assert "FAILED prepare on maia-node-1: maia-prepare-lvm-host-vars-valid: device /dev/nope does not exist" in text


def test_orchestration_output():
    data = {
        "outputter": "highstate",
        "data": {
            "lab_master": {
                "salt_|-maia-orch-stage-prepare_|-maia-orch-stage-prepare_|-state": {
                    "result": True, "comment": "States ran successfully.", "__run_num__": 2,
                    "changes": {"ret": {"maia-node-0": {"a_|-b_|-c_|-d": STATE_CHANGED}}},
                },
                "salt_|-maia-orch-stage-k8s_|-maia-orch-stage-k8s_|-state": {
                    "result": False, "comment": "Run failed on minions: maia-node-0", "__run_num__": 3,
                    "changes": {"ret": {"maia-node-0": {"a_|-maia-k8s-x_|-c_|-d": STATE_FAILED}}},
                },
                "salt_|-maia-orch-stage-core_|-maia-orch-stage-core_|-state": {
                    "result": False, "comment": "One or more requisite failed", "__run_num__": 4, "changes": {},
                },
            }
        },
    }
    results, failed_steps = summary.from_orchestration(data)
    assert [(r.stage, r.host, r.changed, r.failed) for r in results] == [("prepare", "maia-node-0", 1, 0), ("k8s", "maia-node-0", 0, 1)]
    assert ("maia-orch-stage-core", "One or more requisite failed") in failed_steps


def test_salt_ssh_error_return():
    r = summary.host_result("prepare", "h", {"stdout": "", "stderr": "ssh: connect to host refused", "retcode": 255})
    assert r.error == "ssh: connect to host refused" and not r.ok


def test_unchanged_stage_is_looked_up_by_jid():
    data = {"m_master": {"salt_|-maia-orch-stage-prepare_|-x_|-state": {
        "result": True, "changes": {}, "comment": "No changes made to h1", "__jid__": "2026", "__run_num__": 1}}}
    looked = []

    def lookup(jid, stage):
        looked.append((jid, stage))
        return {"h1": {"a_|-s1_|-n_|-f": STATE_OK}}

    results, failed = summary.from_orchestration(data, lookup)
    assert looked == [("2026", "prepare")] and failed == []
    assert [(r.host, r.states, r.changed) for r in results] == [("h1", 1, 0)]


def test_failed_runner_step_names_the_error():
    said = ("Exception occurred in runner maia_orch.sync_minions: Traceback (most recent call last):\n"
            '  File "/x/maia_orch.py", line 115, in sync_minions\n    raise SaltRunnerError(\n'
            "salt.exceptions.SaltRunnerError: module sync and pillar refresh failed on maia-node-1: did not answer\n")
    data = {"master": {"salt_|-maia-orch-minions-synced_|-maia_orch.sync_minions_|-runner": {
        "result": False, "comment": "Runner function 'maia_orch.sync_minions' failed.", "__run_num__": 0,
        "changes": {"return": said}}}}
    _, failed_steps = summary.from_orchestration(data)
    assert failed_steps == [("maia-orch-minions-synced", "Runner function 'maia_orch.sync_minions' failed. "
                             "module sync and pillar refresh failed on maia-node-1: did not answer")]


def test_text_from_a_host_is_printed_without_control_characters():
    """A host's state comment (or id, or error) carrying terminal escape sequences reaches the
    summary and the live view without them."""
    from maia_salt.summary import host_result, render

    evil = "\x1b]0;pwned\x07\x1b[2J\x1b[1Aok\x9b31m\r"
    ret = {f"file_|-id{evil}_|-name_|-managed": {"result": False, "comment": f"bad{evil}\nline 2", "changes": {}}}
    result = host_result("prepare", f"node{evil}", ret)
    text = render([result]) + "\n".join(f"{sid}: {c}" for sid, c in result.failures)
    assert not any(ch in text for ch in "\x1b\x07\x9b\r")
    assert "bad]0;pwned[2J[1Aok31m\nline 2" in text
    error = host_result("prepare", "node", [f"render error{evil}"])
    assert "\x1b" not in error.error


def test_the_stage_column_fits_the_longest_stage_name():
    """Stage 4's second job is named dashboard (9 letters): every row's host starts where the
    header's does."""
    results = summary.from_state_run("admin", {"maia-node-0": {"a_|-x_|-x_|-y": STATE_OK}})
    results += summary.from_state_run("dashboard", {"maia-node-0": {"a_|-x_|-x_|-y": STATE_CHANGED}})
    header, *rows = summary.render(results, 1.0).splitlines()[:3]
    assert [r.split()[0] for r in rows] == ["admin", "dashboard"], rows
    assert {r.index("maia-node-0") for r in rows} == {header.index("host")}, [header, *rows]


def test_the_rancher_step_is_a_row_of_its_own_in_the_summary_and_the_plan():
    """orch.maia's Rancher step (a state on the master, INSTALL.step_rows) is one row named by the
    step's name (the control-plane host), between stage 4's two jobs; its predicted changes are in
    the plan like a stage's, with no secret."""
    from maia_salt import plan

    step = {"result": None, "__run_num__": 5, "name": "maia-node-0", "duration": 812.0,
            "comment": "Rancher's token would be replaced; would write /c/local.yaml, /c/env.json",
            "changes": {"rancher_token": {"old": "<not usable>", "new": "<masked>"},
                        "/c/local.yaml": {"old": None, "new": "<content not shown>"}}}
    data = {"m_master": {
        "salt_|-maia-orch-stage-admin_|-maia-orch-stage-admin_|-state": {
            "result": None, "__run_num__": 4, "changes": {"ret": {"maia-node-0": {"a_|-x_|-x_|-y": STATE_OK}}}},
        "maia_rancher_|-maia-orch-rancher-local-kubeconfig_|-maia-node-0_|-local_kubeconfig_recorded": step,
        "salt_|-maia-orch-stage-admin-dashboard_|-maia-orch-stage-admin-dashboard_|-state": {
            "result": None, "__run_num__": 6, "changes": {"ret": {"maia-node-0": {"a_|-x_|-x_|-y": STATE_OK}}}}}}
    results, failed = summary.from_orchestration(data)
    assert failed == []
    assert [(r.stage, r.host, r.states, r.changed, r.failed) for r in results] == [
        ("admin", "maia-node-0", 1, 0, 0), ("rancher", "maia-node-0", 1, 1, 0), ("dashboard", "maia-node-0", 1, 0, 0)]
    text = plan.render(results)
    assert "plan: 1 state(s) would change" in text
    assert "WOULD CHANGE rancher on maia-node-0: maia-orch-rancher-local-kubeconfig" in text
    assert "rancher_token: <not usable> -> <masked>" in text and "/c/local.yaml: null -> <content not shown>" in text
    # converged: the step reports no change, and the plan says nothing would change
    step.update(result=True, changes={}, comment="Rancher's recorded token works")
    results, _ = summary.from_orchestration(data)
    assert [(r.stage, r.changed) for r in results if r.stage == "rancher"] == [("rancher", 0)]
    assert plan.render(results) == "plan: nothing would change"


def test_the_plan_text_reads_back_as_each_rows_states():
    """The e2e tests read a plan's states back from its text (support.install_output's
    InstallRun.would_change), e.g. to name the state a failed comparison is about: every state of
    every row with its changes and comment (all its lines), and no state that would not change."""
    from maia_salt import plan
    from support.install_output import InstallRun

    data = {
        "maia-node-0": {
            "pkg_|-maia-k8s-client-packages-installed_|-x_|-installed": dict(STATE_CHANGED, result=None),
            "file_|-maia-k8s-argocd-manifest-downloaded_|-/m.yaml_|-managed": {
                "result": None, "changes": {"newfile": "/m.yaml"}, "__run_num__": 3,
                "comment": "The file /m.yaml is set to be changed\nNote: No changes made"},
            "file_|-maia-k8s-unchanged_|-/u_|-managed": STATE_OK,
        },
        "maia-node-1": {"maia_ufw_|-maia-k8s-rule_|-r_|-rule_present": dict(STATE_CHANGED, result=None)},
    }
    results = summary.from_state_run("k8s", data)
    run = InstallRun(0, summary.render(results) + "\n" + plan.render(results), "")
    assert {row: r.changed for row, r in run.summary_rows().items()} == {("k8s", "maia-node-0"): 2, ("k8s", "maia-node-1"): 1}
    assert run.would_change() == {
        ("k8s", "maia-node-0"): {
            "maia-k8s-client-packages-installed": ["diff: new", "(done)"],
            "maia-k8s-argocd-manifest-downloaded": ["newfile: /m.yaml", "(The file /m.yaml is set to be changed",
                                                    "Note: No changes made)"],
        },
        ("k8s", "maia-node-1"): {"maia-k8s-rule": ["diff: new", "(done)"]},
    }


def _state(sls, changed=False, failed=False):
    state = dict(STATE_FAILED if failed else STATE_CHANGED if changed else STATE_OK)
    state["__sls__"] = sls
    return state


def test_the_one_job_step_is_split_back_into_the_stage_rows_by_each_states_sls():
    """orch.maia's one-job step (maia-orch-stages) applies every stage on a host in one job; the
    summary still shows a row per stage and host, each state counted where its SLS belongs."""
    control_plane = {
        "pkg_|-maia-prepare-ufw_|-ufw_|-installed": _state("maia.prepare.ufw"),
        "file_|-maia-k8s-ca_|-/ca_|-managed": _state("maia.k8s.ca", changed=True),
        "maia_argocd_|-maia-core-sync_|-x_|-apps_synced": _state("maia.core.sync"),
        "maia_argocd_|-maia-admin-sync_|-x_|-apps_synced": _state("maia.admin.dashboard", failed=True),
    }
    worker = {
        "pkg_|-maia-prepare-ufw_|-ufw_|-installed": _state("maia.prepare.ufw"),
        "file_|-maia-k8s-worker-agent_|-x_|-managed": _state("maia.k8s.worker.agent"),
        "test_|-maia-nothing_|-x_|-nop": _state("maia"),
    }
    data = {"outputter": "highstate", "data": {"lab_master": {
        "salt_|-maia-orch-stages_|-maia-orch-stages_|-state": {
            "result": False, "comment": "Run failed on minions: maia-node-0", "__run_num__": 1, "__jid__": "42",
            "changes": {"ret": {"maia-node-0": control_plane}}},
    }}}
    results, failed_steps = summary.from_orchestration(data, lambda jid, stage: {"maia-node-1": {"return": worker}})
    rows = [(r.stage, r.host, r.states, r.changed, r.failed) for r in results]
    assert rows == [("prepare", "maia-node-0", 1, 0, 0), ("prepare", "maia-node-1", 1, 0, 0), ("k8s", "maia-node-0", 1, 1, 0),
                    ("workers", "maia-node-1", 1, 0, 0), ("core", "maia-node-0", 1, 0, 0),
                    ("admin", "maia-node-0", 1, 0, 1), ("stages", "maia-node-1", 1, 0, 0)]
    assert failed_steps == [("maia-orch-stages", "Run failed on minions: maia-node-0")]
    # a host that ran no state (here a render error) keeps one row under the step's own name
    error = summary.host_results("stages", "maia-node-2", ["Rendering SLS 'base:maia' failed"], {"maia.prepare": "prepare"})
    assert [(r.stage, r.error) for r in error] == [("stages", "Rendering SLS 'base:maia' failed")]


def test_part_of_takes_the_longest_stage_sls():
    parts = {"maia.k8s": "k8s", "maia.k8s.worker": "workers"}
    assert summary.part_of("maia.k8s.worker.agent", parts) == "workers"
    assert summary.part_of("maia.k8s.workers_extra", parts) == "k8s"  # a name that only starts alike is no part
    assert summary.part_of("maia.k8sx", parts) is None
    assert summary.part_of(None, parts) is None
