"""A 3-host lab with a salt-master, minions and the stand-ins, for end-to-end runs of orch.maia.

Real: the hosts (systemd-nspawn Debian, apt, UFW, LVM PV/VG on loop disks),
Salt (master, minions, salt-ssh). Stand-ins (docs/standins.md):
the Kubernetes API, MicroK8s and the ArgoCD controller. The lab's pillar switches
off LV creation and the NFS service start/mount, which this machine cannot run
(maia_lab.lab.core.HOST_LIMITS).
"""
import os
import stat

import pytest

from support.install_output import installed_as_documented, maia_install
from support.lab import quick_argocd_controller, session_lab

CIFS_DRIVER = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/fstab~cifs/cifs"


# the e2e test that compares the plan of the lab as it came up with the lab's first install
FRESH_PLAN_TEST = "test_the_plan_of_a_new_site_predicts_its_first_install"
_fresh_plan = {}


@pytest.fixture(scope="package")
def site_lab(request):
    for lab_ in session_lab(os.environ.get("MAIA_LAB_E2E_NAME", "pytest-e2e"), hosts=3, minions=True, standins=True):
        quick_argocd_controller(lab_)  # stage 3's sync waves in about 1.5 s each instead of 3.5 s
        if any(item.name == FRESH_PLAN_TEST for item in request.session.items):
            _fresh_plan.update(plan_of_a_new_site(lab_))
        yield lab_


def plan_of_a_new_site(lab_) -> dict:
    """`maia install --test` and `maia install --ssh --test` on the lab as it came up, before any test
    changes it (the first e2e test may run a preflight, which syncs the minions' modules): {"plan":
    InstallRun, "ssh_plan": InstallRun}, or {"not_new": why} when the lab was installed already (a
    lab left up by MAIA_LAB_KEEP)."""
    fetched = os.path.join(lab_.config_folder, f"{lab_.state['cluster_name']}-kubeconfig.yaml")
    if os.path.exists(fetched):
        return {"not_new": f"the lab was installed before this session ({fetched} exists)"}
    return {"plan": maia_install(lab_, "--test"), "ssh_plan": maia_install(lab_, "--ssh", "--test")}


@pytest.fixture
def fresh_plan(site_lab):
    """What plan_of_a_new_site found when site_lab came up (empty unless FRESH_PLAN_TEST is selected)."""
    return _fresh_plan


@pytest.fixture(scope="package")
def documented_runs():
    """{text: completed process} of the documented commands (README.md, docs/) that an e2e test ran
    verbatim from the lab's folder (support.doc_commands.run_verbatim): the documented-commands test
    checks those runs instead of running each again."""
    return {}


class Convergence:
    """Which e2e test left the lab converged: its last step, after its assertions, was a whole
    install (all stages) that changed nothing. The test run right after it starts from that lab
    and need not install first to get there (`already`); any other test in between, or a test
    that stopped before its last line, and it installs as before. minion_install, made during a
    test, says the same of its re-run when that changed nothing."""

    def __init__(self):
        self.left_by = None  # the test that ended on a converged lab
        self.last = None  # the e2e test that ran last (set when it ends)

    def already(self) -> bool:
        return self.left_by is not None and self.left_by == self.last


_convergence = Convergence()


@pytest.fixture(autouse=True)
def _e2e_test_order(request):
    yield
    _convergence.last = request.node.nodeid


@pytest.fixture
def converged(request):
    """``converged.already()``: the lab is converged (see Convergence); ``converged.now()``, a test's
    last line: this test leaves it so."""

    class Converged:
        already = staticmethod(_convergence.already)

        @staticmethod
        def now():
            _convergence.left_by = request.node.nodeid

    return Converged()


@pytest.fixture(scope="package")
def minion_install(site_lab, documented_runs):
    """One `maia install` with minions as a user runs it (in a pipe), then the same again, the second
    time verbatim as documented (so test_orchestration.py's documented-commands test need not run it
    again): the first run's summary is checked by test_orchestration.py, its output searched for
    secrets by test_no_secret_in_output.py, instead of an install each. Before it, something for
    stage 1 to put back on one host (the lab may be installed already: the CIFS driver's mode; on a
    fresh lab: everything), and for the kubeconfig fetch to take again (the controller's record of
    the last fetch removed)."""
    site_lab.ssh("maia-node-1", f"chmod 0700 '{CIFS_DRIVER}'", check=False)
    # and one for the kubeconfig fetch: without the controller's record of its last fetch, stage 2
    # reports the copy missing and the fetch runs (it runs only on a change of stage 2)
    os.makedirs(os.path.join(site_lab.config_folder, ".maia-kube"), mode=0o700, exist_ok=True)
    record = os.path.join(site_lab.config_folder, ".maia-kube", "exported-maia-node-0.sha256")
    if os.path.exists(record):
        os.unlink(record)
    # an e2e test before this one may have installed the lab already (Rancher's step then keeps the
    # token it recorded: its row changes nothing)
    rancher_recorded = os.path.exists(os.path.join(site_lab.config_folder, "local.yaml"))
    run = maia_install(site_lab)
    # the modes of the fetched files as the first run left them
    cluster = site_lab.state["cluster_name"]
    modes = {name: stat.S_IMODE(os.stat(os.path.join(site_lab.config_folder, name)).st_mode)
             for name in (f"{cluster}-kubeconfig.yaml", "ca.crt")
             if os.path.exists(os.path.join(site_lab.config_folder, name))}
    rerun = installed_as_documented(site_lab, documented_runs)
    if rerun.returncode == 0 and rerun.summary_rows() and not any(r.changed for r in rerun.summary_rows().values()):
        # a whole install that changed nothing (see Convergence): the test that asked for it starts converged
        _convergence.left_by = _convergence.last = _convergence.last or "minion_install"
    return {"run": run, "modes_after_run": modes, "rancher_recorded_before": rancher_recorded, "rerun": rerun}
