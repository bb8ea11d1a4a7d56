"""orch.maia compiles to the right steps (real salt-run state.orchestrate_show_sls on a real master)."""
import json
import re
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def salt_run(salt_master):
    return salt_master.salt_run_cli(timeout=120)


def steps(salt_run, pillar=None, test=False):
    args = ["state.orchestrate_show_sls", "orch.maia"]
    if pillar is not None:
        args.append(f"pillar={json.dumps(pillar)}")
    if test:
        args.append("test=True")
    ret = salt_run.run(*args)
    assert ret.returncode == 0, ret
    data = ret.data
    # orchestrate_show_sls returns {<master id>: {state id: {...}}}
    (compiled,) = data.values()
    assert isinstance(compiled, dict), compiled
    return compiled


def step_args(step):
    (_, body), = [(k, v) for k, v in step.items() if not k.startswith("__")]
    out = {}
    for item in body:
        if isinstance(item, dict):
            out.update(item)
    return out


def test_all_stages_in_order_with_minions(salt_run):
    compiled = steps(salt_run)
    # the order the `require`s impose (show_sls carries no run order): each stage needs the one before

    def needs(step, seen=None):
        seen = set() if seen is None else seen
        for req in step_args(compiled[step]).get("require", []):
            for target in req.values():
                if target not in seen:
                    seen.add(target)
                    needs(target, seen)
        return seen

    for before, after in (("maia-orch-preflight", "maia-orch-stage-prepare"),
                          ("maia-orch-stage-prepare", "maia-orch-stage-k8s"),
                          ("maia-orch-stage-k8s", "maia-orch-kubeconfig-fetched-maia-node-0"),
                          ("maia-orch-stage-k8s", "maia-orch-stage-core"),
                          ("maia-orch-stage-core", "maia-orch-stage-admin")):
        assert before in needs(after), (after, sorted(needs(after)))
    # the module sync rides in the preflight's job: no step of its own on a converged site
    assert "maia-orch-minions-synced" not in compiled
    preflight = step_args(compiled["maia-orch-preflight"])
    assert preflight["sync"] == ["modules", "states", "grains", "utils", "beacons"] and preflight["failhard"] is True
    assert "require" not in preflight
    prepare = step_args(compiled["maia-orch-stage-prepare"])
    # the inventory's minion ids only: never G@maia_roles (a minion sets its own grains)
    assert prepare["tgt"] == "L@maia-node-0,maia-node-1"
    assert prepare["tgt_type"] == "compound"
    assert prepare["require"] == [{"salt": "maia-orch-preflight"}]
    assert prepare["failhard"] is True
    k8s = step_args(compiled["maia-orch-stage-k8s"])
    assert k8s["tgt"] == "L@maia-node-0"
    assert k8s["require"] == [{"salt": "maia-orch-stage-prepare"}, {"salt": "maia-orch-nvidia-reboots-waited"}]
    reboot = step_args(compiled["maia-orch-nvidia-reboots-waited"])
    assert reboot["timeout"] == 600 and reboot["tgt"] == prepare["tgt"] and reboot["tgt_type"] == "compound"
    assert reboot["onchanges"] == [{"salt": "maia-orch-stage-prepare"}]
    core = step_args(compiled["maia-orch-stage-core"])
    assert core["require"] == [{"salt": "maia-orch-stage-k8s"}]
    admin = step_args(compiled["maia-orch-stage-admin"])
    assert (admin["sls"], admin["tgt"], admin["failhard"]) == ("maia.admin", k8s["tgt"], True)
    assert admin["require"] == [{"salt": "maia-orch-stage-core"}]


def test_admin_stage_alone_and_after_the_last_stage_run(salt_run):
    alone = steps(salt_run, {"maia": {"stages": ["admin"], "admin": {"enabled": False}}})
    admin = step_args(alone["maia-orch-stage-admin"])
    assert "require" not in admin and admin["pillar"]["maia"]["admin"] == {"enabled": False}
    assert not any(s in alone for s in ("maia-orch-stage-prepare", "maia-orch-stage-k8s", "maia-orch-stage-core"))
    after_k8s = steps(salt_run, {"maia": {"stages": ["k8s", "admin"]}})
    assert step_args(after_k8s["maia-orch-stage-admin"])["require"] == [{"salt": "maia-orch-stage-k8s"}]
    ssh = steps(salt_run, {"maia": {"orch": {"ssh": True}, "stages": ["admin"]}})
    admin = step_args(ssh["maia-orch-stage-admin"])
    assert admin["tgt"] == ["maia-node-0"] and admin["ssh"] is True


def test_stage_subset_and_flags_passed_on(salt_run):
    compiled = steps(salt_run, {"maia": {"stages": ["prepare"], "prepare": {"ufw": False}}})
    assert "maia-orch-stage-k8s" not in compiled and "maia-orch-stage-core" not in compiled
    no_reboot = steps(salt_run, {"maia": {"stages": ["prepare"], "prepare": {"nvidia_reboot": False}}})
    assert "maia-orch-nvidia-reboots-waited" not in no_reboot
    prepare = step_args(compiled["maia-orch-stage-prepare"])
    # the run's own flags only: each host merges its pillar over parameters/defaults.yaml
    assert prepare["pillar"]["maia"]["prepare"] == {"ufw": False}


def test_ssh_mode_targets_inventory_hosts(salt_run):
    compiled = steps(salt_run, {"maia": {"orch": {"ssh": True}}})
    assert "maia-orch-minions-synced" not in compiled
    assert "sync" not in step_args(compiled["maia-orch-preflight"])
    prepare = step_args(compiled["maia-orch-stage-prepare"])
    assert prepare["ssh"] is True and prepare["tgt_type"] == "list"
    assert sorted(prepare["tgt"]) == ["maia-node-0", "maia-node-1"]  # a list, never a comma-joined name
    assert step_args(compiled["maia-orch-stage-k8s"])["tgt"] == ["maia-node-0"]


def test_unknown_stage_fails_first(salt_run):
    compiled = steps(salt_run, {"maia": {"stages": ["prepare", "kubernetes"]}})
    assert list(compiled) == ["maia-orch-stages-valid"]
    assert "kubernetes" in step_args(compiled["maia-orch-stages-valid"])["name"]


def test_preflight_checks_by_the_stage_parameters_and_the_run_pillar(salt_run):
    """The preflight step's flags come from the same stack as the stages' (maia/map.jinja):
    parameters/defaults.yaml, then this run's pillar."""
    preflight = step_args(steps(salt_run, {"maia": {"prepare": {"lvm": False}}})["maia-orch-preflight"])
    assert preflight["flags"]["prepare"]["lvm"] is False
    assert preflight["flags"]["prepare"]["nfs"] is True                # prepare/parameters/defaults.yaml
    assert preflight["flags"]["k8s"]["install_microk8s"] is True       # k8s/parameters/defaults.yaml
    assert preflight["flags"]["admin"]["enabled"] is True              # admin/parameters/defaults.yaml
    # the admin layer's inputs are checked only when the run includes the stage
    without = step_args(steps(salt_run, {"maia": {"stages": ["prepare", "k8s", "core"]}})["maia-orch-preflight"])
    assert "admin" not in without["flags"]


def test_skipped_hosts_are_left_out_of_every_step(salt_run):
    """maia install --skip-unreachable passes maia:orch:skip: no step targets those hosts."""
    compiled = steps(salt_run, {"maia": {"orch": {"skip": ["maia-node-1"]}}})
    assert step_args(compiled["maia-orch-stage-prepare"])["tgt"] == "L@maia-node-0"
    assert step_args(compiled["maia-orch-stage-k8s"])["tgt"] == "L@maia-node-0"
    assert step_args(compiled["maia-orch-preflight"])["hosts"] == ["maia-node-0"]


def test_the_run_mark_reaches_every_stage(salt_run):
    """maia install's run mark (maia:orch:run) goes to each stage job's pillar: its live progress
    tells its own jobs from another orchestration's by it."""
    compiled = steps(salt_run, {"maia": {"orch": {"run": "0123abcd"}}})
    for step in ("maia-orch-stage-prepare", "maia-orch-stage-core"):
        assert step_args(compiled[step])["pillar"]["maia"]["orch"] == {"run": "0123abcd"}
    assert step_args(compiled["maia-orch-stage-k8s"])["pillar"]["maia"]["orch"]["run"] == "0123abcd"
    assert "orch" not in step_args(steps(salt_run)["maia-orch-stage-prepare"])["pillar"]["maia"]


def test_core_extra_commands_step_runs_on_the_controller_after_stage_3(salt_run):
    """maia:core:extra_commands (issue 28): a runner step (the master's process) after stage 3;
    without them no step. The runner reads the commands from the site's pillar itself
    (tests/k8s/test_core_extra_commands.py)."""
    assert "maia-orch-core-extra-commands-run" not in steps(salt_run)
    compiled = steps(salt_run, {"maia": {"core": {"extra_commands": ["true"]}}})
    step = compiled["maia-orch-core-extra-commands-run"]
    assert "salt" in step and step_args(step)["name"] == "maia_commands.core_extra_commands"
    assert step_args(step)["require"] == [{"salt": "maia-orch-stage-core"}]
    assert "commands" not in step_args(step) and "extra_commands" not in step_args(step)


def test_kubeconfig_fetch_is_told_the_server_to_expect(salt_run):
    """The runner refuses a kubeconfig whose server is not the control plane's: the orchestration
    gives it the site's API port (and api_server_url when a site sets one)."""
    fetch = step_args(steps(salt_run)["maia-orch-kubeconfig-fetched-maia-node-0"])
    assert fetch["tgt"] == "maia-node-0" and fetch["api_port"] == 16443 and fetch["api_server_url"] == ""
    fetch = step_args(steps(salt_run, {"maia": {"k8s": {"api_server_url": "https://k8s.example.org:16443"}}})[
        "maia-orch-kubeconfig-fetched-maia-node-0"])
    assert fetch["api_server_url"] == "https://k8s.example.org:16443"


def test_kubeconfig_fetch_runs_only_when_stage_2_changed(salt_run, site):
    """The fetch step runs on a change of stage 2 only (onchanges; require keeps a failed stage 2
    from counting as "no change"). Stage 2 gets, per control-plane host, the digest the runner
    recorded at its last fetch (maia:orch:exported): its last export state reports a change when
    the host exports something else now. "" where CONFIG_FOLDER has no pair or no valid record;
    the other stages get no such key."""
    def exported(pillar=None, test=False):
        compiled = steps(salt_run, pillar, test)
        fetch = step_args(compiled["maia-orch-kubeconfig-fetched-maia-node-0"])
        assert fetch["require"] == fetch["onchanges"] == [{"salt": "maia-orch-stage-k8s"}]
        for stage in ("maia-orch-stage-prepare", "maia-orch-stage-core"):
            assert "exported" not in (step_args(compiled[stage])["pillar"]["maia"].get("orch") or {})
        return step_args(compiled["maia-orch-stage-k8s"])["pillar"]["maia"]["orch"]["exported"]

    digest = "0f" * 32
    record = site / ".maia-kube" / "exported-maia-node-0.sha256"
    pair = [site / f"{json.loads((site / 'env.json').read_text())['cluster_name']}-kubeconfig.yaml", site / "ca.crt"]
    assert exported() == {"maia-node-0": ""}  # a new site: nothing fetched yet
    record.parent.mkdir()
    try:
        record.write_text(digest + "\n")
        assert exported() == {"maia-node-0": ""}  # a record without the pair: fetch again
        for path in pair:
            path.write_text("stand-in\n")
        assert exported() == exported(test=True) == {"maia-node-0": digest}
        assert exported({"maia": {"orch": {"ssh": True}}}) == {"maia-node-0": digest}
        record.write_text("not a digest: $(true)\n")
        assert exported() == {"maia-node-0": ""}
        pair[1].unlink()
        record.write_text(digest)
        assert exported() == {"maia-node-0": ""}
    finally:
        for path in [*pair, record]:
            path.unlink(missing_ok=True)
        record.parent.rmdir()
    assert "maia-orch-kubeconfig-fetched-maia-node-0" not in steps(salt_run, {"maia": {"stages": ["core"]}})


def test_rancher_runner_follows_the_admin_stage(salt_run):
    """Rancher's token and local.yaml are written on the controller, after the admin stage, with
    how the site reaches its services; switched off with the Rancher Application or the flag."""
    compiled = steps(salt_run)
    # maia-salt's own orchestration state around the runner maia_rancher.local_kubeconfig (salt.runner
    # would skip it under test=True): tests/functional/test_rancher_step.py runs it
    assert "local_kubeconfig_recorded" in compiled["maia-orch-rancher-local-kubeconfig"]["maia_rancher"]
    step = step_args(compiled["maia-orch-rancher-local-kubeconfig"])
    assert step["name"] == "maia-node-0"
    assert step["require"] == [{"salt": "maia-orch-stage-admin"}] and step["failhard"] is True
    assert step["services"] == {"address": "", "port": 443, "ca_pem": ""}
    # then the admin Applications again, the dashboard's values with the recorded token
    dashboard = step_args(compiled["maia-orch-stage-admin-dashboard"])
    assert (dashboard["sls"], dashboard["tgt"], dashboard["failhard"]) == ("maia.admin.dashboard", "L@maia-node-0", True)
    assert dashboard["require"] == [{"maia_rancher": "maia-orch-rancher-local-kubeconfig"}]
    for off in ({"configure": {"rancher": False}}, {"apps": {"rancher": {"enabled": False}}}):
        compiled = steps(salt_run, {"maia": {"admin": off}})
        assert not {"maia-orch-rancher-local-kubeconfig", "maia-orch-stage-admin-dashboard"} & set(compiled)


def test_without_an_inventory_the_run_stops(salt_run, site):
    """No inventory, no targets: the run stops first instead of targeting whoever claims a role."""
    inventory = site / "inventory.yaml"
    kept = inventory.read_text()
    inventory.unlink()
    try:
        compiled = steps(salt_run)
    finally:
        inventory.write_text(kept)
    assert list(compiled) == ["maia-orch-inventory-present"]


def test_without_the_preflight_the_sync_step_comes_first(salt_run):
    """maia:orch:preflight false: the module sync is a step of its own again, first, and stage 1 needs it."""
    compiled = steps(salt_run, {"maia": {"orch": {"preflight": False, "sync": ["modules", "states"]}}})
    assert "maia-orch-preflight" not in compiled
    sync = step_args(compiled["maia-orch-minions-synced"])
    assert sync["tgt"] == "L@maia-node-0,maia-node-1" and sync["types"] == ["modules", "states"]
    assert step_args(compiled["maia-orch-stage-prepare"])["require"] == [{"salt": "maia-orch-minions-synced"}]


def test_the_plan_of_a_new_site_names_itself_for_the_dashboard_step(salt_run, site):
    """Under test=True (`maia install --test`): a sync step that runs in a dry run too (a new site's
    minions have none of maia-salt's modules) before stage 1. Where CONFIG_FOLDER holds no fetched
    kubeconfig yet (no stage 2 has run), every stage step gets maia:orch:plan (the plan's records,
    _utils/maia_plan_overlay.py) and the dashboard step the token the Rancher step would record. A
    real run, and a plan once the kubeconfig is there, have neither."""
    plan = steps(salt_run, test=True)
    sync = plan["maia-orch-minions-synced-for-the-plan"]
    assert "maia_orch" in sync and step_args(sync)["name"] == "L@maia-node-0,maia-node-1"
    assert {"maia_orch": "maia-orch-minions-synced-for-the-plan"} in step_args(plan["maia-orch-stage-prepare"])["require"]
    stage_steps = ["maia-orch-stage-prepare", "maia-orch-stage-k8s", "maia-orch-stage-core", "maia-orch-stage-admin",
                   "maia-orch-stage-admin-dashboard"]
    names = {step_args(plan[s])["pillar"]["maia"]["orch"]["plan"] for s in stage_steps}
    assert len(names) == 1 and re.fullmatch(r"[0-9a-f]{16}", names.pop())
    dashboard = step_args(plan["maia-orch-stage-admin-dashboard"])["pillar"]["maia"]
    assert dashboard["env"] == {"rancher_token": "<recorded by the Rancher step>"}
    assert "env" not in step_args(plan["maia-orch-stage-admin"])["pillar"]["maia"]
    assert "maia-orch-minions-synced-for-the-plan" not in steps(salt_run, {"maia": {"orch": {"ssh": True}}}, test=True)
    real = steps(salt_run)
    assert "maia-orch-minions-synced-for-the-plan" not in real
    assert all("plan" not in (step_args(real[s])["pillar"]["maia"].get("orch") or {}) for s in stage_steps)
    assert "env" not in step_args(real["maia-orch-stage-admin-dashboard"])["pillar"]["maia"]

    kubeconfig = site / f"{json.loads((site / 'env.json').read_text())['cluster_name']}-kubeconfig.yaml"
    kubeconfig.write_text("apiVersion: v1\n")
    try:
        converged = steps(salt_run, test=True)
    finally:
        kubeconfig.unlink()
    assert all("plan" not in (step_args(converged[s])["pillar"]["maia"].get("orch") or {}) for s in stage_steps)
    assert "env" not in step_args(converged["maia-orch-stage-admin-dashboard"])["pillar"]["maia"]


WORKER_SITE = {"hosts": {"maia-node-0": {"address": "198.18.0.11", "roles": ["control-plane", "nfs_server"]},
                         "maia-node-1": {"address": "198.18.0.12", "roles": ["worker", "nfs_clients"]},
                         "maia-node-2": {"address": "198.18.0.13", "roles": ["worker"]}},
               "cluster": {"k8s_distribution": "rke2"}}


@pytest.mark.parametrize("ssh", [False, True])
def test_workers_get_stage_2_after_the_control_plane_then_join(salt_run, ssh):
    """With hosts in the inventory group workers (role worker): maia.k8s.worker on them after the
    control plane's stage 2, then maia_join.workers_joined (control plane, workers, distribution,
    where the control plane is, the distribution's paths), before stage 3; in both modes."""
    compiled = steps(salt_run, {"maia": {**WORKER_SITE, "orch": {"ssh": ssh}}})
    workers = step_args(compiled["maia-orch-stage-k8s-workers"])
    assert workers["sls"] == "maia.k8s.worker"
    assert workers["require"] == [{"salt": "maia-orch-stage-k8s"}]
    if ssh:
        assert workers["tgt"] == ["maia-node-1", "maia-node-2"] and workers["ssh"] is True
    else:
        assert workers["tgt"] == "L@maia-node-1,maia-node-2" and workers["tgt_type"] == "compound"
    assert step_args(compiled["maia-orch-stage-k8s"])["tgt"] in (["maia-node-0"], "L@maia-node-0")
    joined = step_args(compiled["maia-orch-workers-joined"])
    assert "workers_joined" in compiled["maia-orch-workers-joined"]["maia_join"]
    assert joined["name"] == "maia-node-0" and joined["workers"] == ["maia-node-1", "maia-node-2"]
    assert joined["distribution"] == "rke2" and joined["server"] == "198.18.0.11" and joined["ssh"] is ssh
    assert joined["paths"]["bin"] == "/usr/local/bin/rke2" and joined["paths"]["data_dir"] == "/var/lib/rancher/rke2"
    assert joined["require"] == [{"salt": "maia-orch-stage-k8s-workers"}] and joined["failhard"] is True
    order = list(compiled)
    assert order.index("maia-orch-workers-joined") < order.index("maia-orch-stage-core")


def test_no_worker_steps_without_workers_or_connect_only(salt_run):
    assert "maia-orch-workers-joined" not in steps(salt_run)
    compiled = steps(salt_run, {"maia": {**WORKER_SITE, "k8s": {"connect_only": True}}})
    assert "maia-orch-stage-k8s-workers" not in compiled and "maia-orch-workers-joined" not in compiled


def _record(salt_master):
    return Path(salt_master.config["cachedir"]) / "maia-salt" / "converged.sha256"


@pytest.mark.parametrize("ssh", [False, True])
def test_one_job_per_host_once_the_last_run_finished_with_the_same_inputs(salt_run, salt_master, ssh):
    """A run's last step records the digest of its inputs (maia_orch.converged_recorded, after every
    other step). The next render with the same inputs is the one-job run: one salt.state step,
    `maia` on every host with each host's stage SLS (maia:orch:parts), and the steps after the
    stages follow it. The render takes the record away (a run that fails leaves none); a plan
    (test=True), other inputs and maia:orch:one_job false keep the stage steps."""
    pillar = {"maia": {**WORKER_SITE, "orch": {"ssh": ssh}}}
    record = _record(salt_master)
    full = steps(salt_run, pillar)
    recorded = step_args(full["maia-run-converged-recorded"])
    assert "converged_recorded" in full["maia-run-converged-recorded"]["maia_orch"]
    assert recorded["require"] == [{"salt": "maia-orch-*"}]
    digest = recorded["digest"]
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and "maia-orch-stages" not in full
    assert "maia-run-converged-recorded" not in steps(salt_run, pillar, test=True)

    record.parent.mkdir(exist_ok=True)
    record.write_text(digest + "\n")
    assert "maia-orch-stages" not in steps(salt_run, pillar, test=True) and record.exists()  # a plan keeps it
    one = steps(salt_run, pillar)
    assert not record.exists()
    assert not [s for s in one if s.startswith("maia-orch-stage-") and s != "maia-orch-stage-admin-dashboard"]
    job = step_args(one["maia-orch-stages"])
    assert job["sls"] == "maia" and job["failhard"] is True
    assert job["tgt"] == (["maia-node-0", "maia-node-1", "maia-node-2"] if ssh else "L@maia-node-0,maia-node-1,maia-node-2")
    orch = job["pillar"]["maia"]["orch"]
    # each host checks itself first in its own job (no preflight job, no sync job: a change of the
    # shipped code changes the inputs); the site's CONFIG_FOLDER is checked on the master before it
    assert orch["parts"] == {"maia-node-0": ["maia.preflight", "maia.prepare", "maia.k8s", "maia.core", "maia.admin"],
                             "maia-node-1": ["maia.preflight", "maia.prepare", "maia.k8s.worker"],
                             "maia-node-2": ["maia.preflight", "maia.prepare", "maia.k8s.worker"]}
    assert orch["exported"] == {"maia-node-0": ""}
    assert not {"maia-orch-preflight", "maia-orch-minions-synced"} & set(one) and "maia-orch-preflight" in full
    site = step_args(one["maia-orch-site-checked"])
    assert "site_checked" in one["maia-orch-site-checked"]["maia_orch"] and site["failhard"] is True
    assert site["name"] == step_args(full["maia-orch-preflight"])["config_folder"] and "admin" in site
    assert job["require"] == [{"maia_orch": "maia-orch-site-checked"}]
    clock = orch["clock"]
    assert abs(clock["at"] - time.time()) < 120 and clock["max_skew"] == 5 and clock["slack"] == (30 if ssh else 10)
    fetch = step_args(one["maia-orch-kubeconfig-fetched-maia-node-0"])
    assert fetch["onchanges"] == [{"salt": "maia-orch-stages"}]
    assert step_args(one["maia-orch-workers-joined"])["require"][0] == {"salt": "maia-orch-stages"}
    assert step_args(one["maia-orch-rancher-local-kubeconfig"])["require"][0] == {"salt": "maia-orch-stages"}
    # the one job applied the admin Applications with the token on record: the dashboard step runs
    # again only when the Rancher step records another one
    dashboard = step_args(one["maia-orch-stage-admin-dashboard"])
    assert dashboard["onchanges"] == [{"maia_rancher": "maia-orch-rancher-local-kubeconfig"}]
    # a driver's reboot comes after the job (its state is order: last); the later steps wait for it
    reboots = step_args(one["maia-orch-nvidia-reboots-waited"])
    assert reboots["onchanges"] == [{"salt": "maia-orch-stages"}]
    assert {"salt": "maia-orch-nvidia-reboots-waited"} in fetch["require"]
    assert step_args(one["maia-run-converged-recorded"])["digest"] == digest

    for other in ({"maia": {**pillar["maia"], "prepare": {"ufw": False}}},
                  {"maia": {**pillar["maia"], "orch": {"ssh": ssh, "one_job": False}}}):
        record.write_text(digest + "\n")
        assert "maia-orch-stages" not in steps(salt_run, other)
    # the switch itself is no input: a run with it on after one with it off takes the one job
    record.write_text(digest + "\n")
    assert "maia-orch-stages" in steps(salt_run, {"maia": {**pillar["maia"], "orch": {"ssh": ssh, "one_job": True}}})
    record.write_text(digest + "\n")
    # one stage: one job per host instead of the preflight's job and the stage's
    only_prepare = {"maia": {**pillar["maia"], "stages": ["prepare"]}}
    record.write_text(step_args(steps(salt_run, only_prepare)["maia-run-converged-recorded"])["digest"] + "\n")
    single = steps(salt_run, only_prepare)
    assert "maia-orch-preflight" not in single and "maia-orch-stage-prepare" not in single
    assert step_args(single["maia-orch-stages"])["pillar"]["maia"]["orch"]["parts"]["maia-node-1"] == [
        "maia.preflight", "maia.prepare"]
    # without the preflight: no site check, no host check, and still no sync job
    without = {"maia": {**pillar["maia"], "orch": {"ssh": ssh, "preflight": False}}}
    record.write_text(step_args(steps(salt_run, without)["maia-run-converged-recorded"])["digest"] + "\n")
    bare = steps(salt_run, without)
    assert "maia-orch-site-checked" not in bare and "maia-orch-minions-synced" not in bare
    assert step_args(bare["maia-orch-stages"])["pillar"]["maia"]["orch"]["parts"]["maia-node-1"] == [
        "maia.prepare", "maia.k8s.worker"]
    record.unlink(missing_ok=True)


def test_the_shipped_host_code_is_an_input_of_the_one_job_run(salt_run, salt_master):
    """A change of the code the minions get (a file under _modules, _states, _utils, ... of the
    file_roots) changes the run's inputs: the next run orders its stages again, and its preflight
    job brings the new code to the minions, instead of a one-job run with the old code."""
    pillar = {"maia": WORKER_SITE}
    record = _record(salt_master)
    digest = step_args(steps(salt_run, pillar)["maia-run-converged-recorded"])["digest"]
    folder = Path(salt_master.config["file_roots"]["base"][-1]) / "_modules"  # the tests' own file root
    made = not folder.exists()
    folder.mkdir(exist_ok=True)
    extra = folder / "maia_test_shipped_extra.py"
    extra.write_text("# a new host-side module\n")
    try:
        changed = step_args(steps(salt_run, pillar)["maia-run-converged-recorded"])["digest"]
        record.parent.mkdir(exist_ok=True)
        record.write_text(digest + "\n")
        assert changed != digest and "maia-orch-stages" not in steps(salt_run, pillar)
    finally:
        extra.unlink()
        if made:
            folder.rmdir()
        record.unlink(missing_ok=True)
    assert step_args(steps(salt_run, pillar)["maia-run-converged-recorded"])["digest"] == digest



@pytest.mark.parametrize("orchestration", ["orch.maia_reset", "orch.maia_remove_host"])
def test_reset_and_remove_host_take_the_record_of_a_finished_run_away(salt_run, salt_master, orchestration):
    """After a reset or a host's removal the site is not what orch.maia's last run left: their
    render takes its record away, so the next orch.maia orders its stages again; a plan keeps it."""
    record = _record(salt_master)
    record.parent.mkdir(exist_ok=True)
    record.write_text("ab" * 32 + "\n")
    pillar = {"maia": {"remove_host": {"name": "maia-node-1"}}} if orchestration.endswith("host") else {}
    args = ["state.orchestrate_show_sls", orchestration, f"pillar={json.dumps(pillar)}"]
    assert salt_run.run(*args, "test=True").returncode == 0 and record.exists()
    assert salt_run.run(*args).returncode == 0
    assert not record.exists()
