"""`maia install --test` on a new site predicts what its first `maia install` changes (minions).

The plan is taken when the e2e lab comes up (tests/e2e/conftest.py, site_lab: bare Debian hosts,
nothing installed, no module of maia-salt on the minions), before any test changes the lab; this
test compares it, row by row (stage, host: states, changed, failed), with the lab's first install:
the package's `maia install` (conftest.py's minion_install, which test_day2_hosts.py and
test_orchestration.py use too), made here. It runs after the read-only day-1 preflight tests and
before the day-2 tests, which then start from the lab it installed: no install of its own.

With minions the plan syncs maia-salt's modules first (the orchestration state
maia_orch.minions_synced, _orch_states/maia_orch.py): without it stage 1 failed on every host.

What the plan says on a new site (docs/orchestration.md, "The plan on a new site"): stages 1 and 2
exactly; stages 3 and 4 and the Rancher step read the cluster stage 2 makes, so they are not
predicted and a NOTE says so.

Real: the hosts, apt, UFW, LVM PV/VG on loop disks, Salt (master, minions). Stand-ins
(docs/standins.md): the Kubernetes API, MicroK8s, ArgoCD and the admin services.
"""
import os

import pytest

PREDICTED = {"prepare", "k8s"}
NOT_PREDICTED = {"core", "admin", "rancher", "dashboard"}
NOTE = ("NOTE core, admin not predicted: they read the cluster that stage 2 (k8s) would make first; "
        "run maia install --test again once it is there (maia install --stages prepare,k8s)")


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
    assert {stage for stage, _ in made} == PREDICTED | NOT_PREDICTED, first.text
    assert predicted == {row: counts for row, counts in made.items() if row[0] in PREDICTED}, (plan.text, first.text)
    assert "  " + NOTE in plan.stdout.splitlines(), plan.text
    changed = sum(r.changed for r in predicted.values())
    assert changed > 0 and f"plan: {changed} state(s) would change" in plan.stdout, plan.text
    if installed["rerun"].returncode == 0 and not any(r.changed for r in installed["rerun"].summary_rows().values()):
        converged.now()  # minion_install's re-run changed nothing: the next test need not install first
