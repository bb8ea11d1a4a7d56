"""orch.maia_reset and orch.maia_remove_host compile to the right steps, and refuse bad input
before any step runs (real salt-run state.orchestrate_show_sls on a real master).

The site (support/site.py): maia-node-0 is control-plane and NFS server, maia-node-1 an NFS client.
"""
import json

import pytest

from test_orch_render import step_args


@pytest.fixture(scope="module")
def salt_run(salt_master):
    return salt_master.salt_run_cli(timeout=120)


def compiled(salt_run, sls, pillar):
    ret = salt_run.run("state.orchestrate_show_sls", sls, f"pillar={json.dumps(pillar)}")
    assert ret.returncode == 0, ret
    (steps,) = ret.data.values()
    assert isinstance(steps, dict), steps
    return steps


def in_order(steps):
    """Step ids in the order the orchestration runs them (state_auto_order: the ``order`` of each)."""
    return [k for _, k in sorted((step_args(v)["order"], k) for k, v in steps.items())]


def refusal(steps):
    (step_id,) = steps
    assert step_id.endswith("-refused") or step_id.endswith("-valid"), steps
    return step_args(steps[step_id])["comment"]


def test_reset_runs_last_stage_first_with_minions_and_ssh(salt_run):
    steps = compiled(salt_run, "orch.maia_reset", {})
    assert in_order(steps) == ["maia-orch-minions-synced", "maia-reset-admin", "maia-reset-core", "maia-reset-k8s",
                               "maia-reset-prepare"]
    assert step_args(steps["maia-reset-core"])["sls"] == "maia.reset.core"
    admin = step_args(steps["maia-reset-admin"])
    assert admin["sls"] == "maia.reset.admin" and admin["tgt"] == step_args(steps["maia-reset-core"])["tgt"]
    # the inventory's minion ids only: never a grain a minion sets itself
    assert step_args(steps["maia-reset-k8s"])["tgt"] == "L@maia-node-0"
    prepare = step_args(steps["maia-reset-prepare"])
    assert prepare["tgt"] == "L@maia-node-0,maia-node-1"
    assert prepare["sls"] == "maia.reset.prepare" and prepare["pillar"]["maia"]["reset"]["wipe_storage"] is False

    ssh = compiled(salt_run, "orch.maia_reset",
                   {"maia": {"orch": {"ssh": True}, "reset": {"stages": ["prepare"], "wipe_storage": True}}})
    assert in_order(ssh) == ["maia-reset-prepare"]
    args = step_args(ssh["maia-reset-prepare"])
    assert args["tgt"] == ["maia-node-0", "maia-node-1"] and args["ssh"] is True
    assert args["pillar"]["maia"]["reset"]["wipe_storage"] is True

    bad = compiled(salt_run, "orch.maia_reset", {"maia": {"reset": {"stages": ["core", "apps"]}}})
    assert "maia:reset:stages has apps" in refusal(bad)


def test_remove_host_steps(salt_run):
    steps = compiled(salt_run, "orch.maia_remove_host", {"maia": {"remove_host": {"name": "maia-node-1"}}})
    assert in_order(steps) == ["maia-orch-minions-synced", "maia-remove-host-leaving", "maia-remove-host-others",
                               "maia-remove-host-inventory", "maia-remove-host-pillar-refreshed"]
    leaving = step_args(steps["maia-remove-host-leaving"])
    assert leaving["tgt"] == ["maia-node-1"] and leaving["sls"] == "maia.hosts.leaving"
    assert "failhard" not in leaving  # a host that is gone already does not stop the removal
    others = step_args(steps["maia-remove-host-others"])
    assert others["tgt"] == ["maia-node-0"] and others["sls"] == "maia.hosts.removed"
    assert others["pillar"]["maia"]["remove_host"] == {"name": "maia-node-1", "address": "198.18.0.12"}
    inventory = step_args(steps["maia-remove-host-inventory"])
    assert inventory["host"] == "maia-node-1" and inventory["require"] == [{"salt": "maia-remove-host-others"}]


@pytest.mark.parametrize("ssh", [False, True])
def test_removing_a_worker_leaves_the_cluster_then_deletes_its_node(salt_run, ssh):
    """A host of group workers: maia_join.worker_removed (on the worker maia_k8s_join.leave, then on
    the control plane maia_k8s_join.remove_node), after its own files and before the other hosts and
    the inventory drop it; the site's distribution and its paths, in both modes."""
    extra = {"maia": {"remove_host": {"name": "gpu-1"}, "orch": {"ssh": ssh}, "cluster": {"k8s_distribution": "k3s"},
                      "hosts": {"gpu-1": {"address": "198.18.0.21", "roles": ["worker"]}}}}
    steps = compiled(salt_run, "orch.maia_remove_host", extra)
    order = in_order(steps)
    assert order.index("maia-remove-host-leaving") < order.index("maia-remove-host-worker-removed") \
        < order.index("maia-remove-host-others") < order.index("maia-remove-host-inventory")
    removed = step_args(steps["maia-remove-host-worker-removed"])
    assert "worker_removed" in steps["maia-remove-host-worker-removed"]["maia_join"]
    assert removed["name"] == "maia-node-0" and removed["worker"] == "gpu-1" and removed["ssh"] is ssh
    assert removed["distribution"] == "k3s" and removed["paths"]["bin"] == "/usr/local/bin/k3s"
    assert removed["failhard"] is True
    # an NFS client that is no worker has no such step
    plain = compiled(salt_run, "orch.maia_remove_host", {"maia": {"remove_host": {"name": "maia-node-1"}}})
    assert "maia-remove-host-worker-removed" not in plain


def test_remove_host_refuses_with_the_reason(salt_run):
    unknown = refusal(compiled(salt_run, "orch.maia_remove_host", {"maia": {"remove_host": {"name": "nope"}}}))
    assert "nope is not in the inventory (hosts: maia-node-0, maia-node-1)" in unknown
    control = refusal(compiled(salt_run, "orch.maia_remove_host", {"maia": {"remove_host": {"name": "maia-node-0"}}}))
    assert "maia-node-0 is the control-plane" in control and "maia reset" in control
    # an NFS server that is not the control-plane (a host added on the command line)
    extra = {"maia": {"remove_host": {"name": "store"},
                      "hosts": {"store": {"address": "198.18.0.20", "roles": ["nfs_server"]}}}}
    nfs = refusal(compiled(salt_run, "orch.maia_remove_host", extra))
    assert "store is the NFS server that maia-node-1 mount /nfs from" in nfs
    assert "move the nfs_server group" in nfs
    missing = refusal(compiled(salt_run, "orch.maia_remove_host", {}))
    assert "maia:remove_host:name" in missing


def test_the_run_mark_reaches_the_day2_stages(salt_run):
    """maia reset and maia remove-host mark their stage jobs as maia install does (maia:orch:run in
    each stage job's pillar): their live progress shows their own jobs only."""
    reset = compiled(salt_run, "orch.maia_reset", {"maia": {"orch": {"run": "0123abcd"}}})
    for step in ("maia-reset-core", "maia-reset-k8s", "maia-reset-prepare"):
        assert step_args(reset[step])["pillar"]["maia"]["orch"] == {"run": "0123abcd"}, step
    remove = compiled(salt_run, "orch.maia_remove_host",
                      {"maia": {"remove_host": {"name": "maia-node-1"}, "orch": {"run": "0123abcd"}}})
    for step in ("maia-remove-host-leaving", "maia-remove-host-others"):
        assert step_args(remove[step])["pillar"]["maia"]["orch"] == {"run": "0123abcd"}, step
    assert "orch" not in step_args(compiled(salt_run, "orch.maia_reset", {})["maia-reset-core"])["pillar"]["maia"]
