"""`maia install --test` on a new site predicts what its first `maia install` changes (minions).

The plan is taken when the e2e lab comes up (tests/e2e/conftest.py, site_lab: bare Debian hosts,
nothing installed, no module of maia-salt on the minions), before any test changes the lab; this
test compares it, row by row (stage, host: states, changed, failed), with the lab's first install:
the package's `maia install` (conftest.py's minion_install, which test_day2_hosts.py and
test_orchestration.py use too), made here. It runs after the read-only day-1 preflight tests and
before the day-2 tests, which then start from the lab it installed: no install of its own.

The same new site's plan over salt-ssh, taken then too, predicts the same rows for stages 2 to 4.

With minions the plan syncs maia-salt's modules first (the orchestration state
maia_orch.minions_synced, _orch_states/maia_orch.py): without it stage 1 failed on every host.

What the plan says on a new site (docs/orchestration.md, "The plan on a new site"): every row
exactly. Stages 3 and 4 find no cluster to read yet and predict an empty one (everything created);
the dashboard step, which applies stage 4's Applications again after the Rancher step, compares
with what the plan's earlier steps would have made (_utils/maia_plan_overlay.py) and with the token
the Rancher step would record.

One difference is the stand-in's, and the test asserts exactly it: the ArgoCD stand-in syncs an
Application without creating its workloads, so the MAIA dashboard's Deployment never exists on the
lab. The plan predicts its rollout restart in the admin step (the sync creates it, without the
restart's record) and in the dashboard step (its values change with the token), as a real cluster
does them; on the lab the first run finds no Deployment to restart in either step.

Real: the hosts, apt, UFW, LVM PV/VG on loop disks, Salt (master, minions). Stand-ins
(docs/standins.md): the Kubernetes API, MicroK8s, ArgoCD and the admin services.
"""
import dataclasses
import os

import pytest

from support.install_output import job_states, outcome, rows_explained

ROWS = {"prepare", "k8s", "core", "admin", "rancher", "dashboard"}
# the restart of a Deployment that the stand-in's ArgoCD never creates (the module docstring)
NO_WORKLOAD_ON_THE_LAB = "maia-admin-maia-dashboard-rollout-restarted"


def test_the_plan_of_a_new_site_predicts_its_first_install(site_lab, fresh_plan, converged, request):
    if "plan" not in fresh_plan:
        pytest.skip(fresh_plan.get("not_new", "no plan was taken when the lab came up"))
    plan = fresh_plan["plan"]
    fetched = os.path.join(site_lab.config_folder, f"{site_lab.state['cluster_name']}-kubeconfig.yaml")
    fresh = not os.path.exists(fetched)
    installed = request.getfixturevalue("minion_install")
    assert fresh, "an e2e test before this one installed the lab: minion_install's run was not its first install"
    first = installed["run"]
    assert first.returncode == 0, first.text
    assert plan.returncode == 0, plan.text
    predicted, made = plan.summary_rows(), first.summary_rows()
    assert {stage for stage, _ in made} == ROWS, first.text
    gap = {row for row, states in plan.would_change().items() if NO_WORKLOAD_ON_THE_LAB in states}
    assert gap == {("admin", "maia-node-0"), ("dashboard", "maia-node-0")}, plan.text
    assert not dashboard_deployment_exists(site_lab), "the stand-in made the Deployment: compare every row as it is"
    expected = {row: dataclasses.replace(r, changed=r.changed + (row in gap)) for row, r in made.items()}
    ssh_plan = fresh_plan["ssh_plan"]
    runs = {"the plan": plan, "the plan over salt-ssh": ssh_plan, "the first install": first}

    def explained(want, got) -> str:
        """On a failure: each row that differs, with the states each run names there, and what each
        run said of the others (every state's return of its stage job, from the master job cache)."""
        differ = {row for row in set(want) | set(got) if want.get(row) != got.get(row)}
        said = {label: job_states(site_lab, run, differ) for label, run in runs.items()}
        made_there = {row: {state: [outcome(r)] for state, r in states.items() if r.get("changes")}
                      for row, states in said["the first install"].items()}
        named = {"the plan": plan.would_change(), "the plan over salt-ssh": ssh_plan.would_change(),
                 "the first install": made_there}
        return rows_explained(want, got, named, said)

    assert predicted == expected, explained(expected, predicted)

    # over salt-ssh the plan of the same new site predicts the same stages 2 to 4 (stage 1 has one
    # state fewer per host over salt-ssh: the minion's own; it is checked by the salt-ssh runs)
    assert ssh_plan.returncode == 0, ssh_plan.text
    over_ssh = ssh_plan.summary_rows()
    later = {row: r for row, r in over_ssh.items() if row[0] != "prepare"}
    later_expected = {row: r for row, r in expected.items() if row[0] != "prepare"}
    assert later == later_expected, explained(later_expected, later)
    assert {row for row in over_ssh if row[0] == "prepare"} == {row for row in made if row[0] == "prepare"}
    assert all(r.failed == 0 and r.changed > 0 for row, r in over_ssh.items() if row[0] == "prepare"), ssh_plan.text
    assert "NOTE" not in plan.stdout, plan.text
    changed = sum(r.changed for r in predicted.values())
    assert changed > 0 and f"plan: {changed} state(s) would change" in plan.stdout, plan.text
    if installed["rerun"].returncode == 0 and not any(r.changed for r in installed["rerun"].summary_rows().values()):
        converged.now()  # minion_install's re-run changed nothing: the next test need not install first


def dashboard_deployment_exists(site_lab) -> bool:
    """Whether the lab's cluster (the Kubernetes API stand-in, through the fetched kubeconfig) has
    the MAIA dashboard's Deployment."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = config.new_client_from_config(
        config_file=os.path.join(site_lab.config_folder, f"{site_lab.state['cluster_name']}-kubeconfig.yaml"))
    try:
        client.AppsV1Api(api).read_namespaced_deployment("maia-admin-maia-dashboard", "maia-dashboard")
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True
