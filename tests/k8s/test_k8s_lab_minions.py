"""`maia install` with minions, all stages, for k3s, then k0s, then rke2 on one lab host (issue 24).

A one-host lab of its own (`maia lab up --minions --standins`, name ``pytest-k8s-minions`` or
``MAIA_LAB_TEST_K8S_MINIONS_NAME``): a salt-master on the lab's bridge and a salt-minion in the
host, as a site with minions runs. Each distribution in turn: the site's cluster YAML is switched
to it (as a site admin does), `maia install` runs every stage (prepare, k8s, core, admin, and the
Rancher and dashboard steps), then again: the first run converges with 0 failed and the
distribution's service is active and enabled, started once; the re-run changes nothing and starts
nothing again. MicroK8s with minions, all stages: tests/e2e (test_orchestration.py); these three
over salt-ssh: test_k8s_lab.py.

STAND-INS (docs/standins.md): this machine runs none of k3s, k0s or rke2, nor a kube-apiserver. The
lab serves the k3s, k0s and rke2 stand-ins (maia_lab.standins.k3s, .k0s, .rke2) as their releases
beside the ArgoCD manifest, and the host's own systemd runs them (k0s through the unit its `k0s
install controller` writes, rke2 through the unit its release tarball ships); the Kubernetes API,
the ArgoCD controller and stage 4's services are the lab's stand-ins on the bridge. A distribution
stays as its part left it when the next one installs (their stand-ins hold no port of another's;
on a real host, switching distributions means `maia reset --stages k8s` first). Everything else is
real: the master, the minion, the orchestration, apt, UFW, systemd, the files. Lab only (no
MAIA_E2E_ROSTER switch: it installs three distributions in turn on one host).
"""
import os

import pytest

from k8s.harness import assert_installed_once, assert_rerun_changes_nothing_and_restarts_nothing, install_distribution
from support.lab import quick_argocd_controller, session_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def minion_lab():
    """A one-host lab with a salt-master, a salt-minion in the host and the stand-ins."""
    name = os.environ.get("MAIA_LAB_TEST_K8S_MINIONS_NAME", "pytest-k8s-minions")
    for lab_ in session_lab(name, hosts=1, minions=True, standins=True):
        quick_argocd_controller(lab_)  # stage 3's sync waves in about 1.5 s each instead of 3.5 s
        yield lab_


# module-scoped and parametrized: pytest runs both tests of one distribution, then the next, in
# this order, each installed on the host the one before it left
@pytest.fixture(scope="module", params=("k3s", "k0s", "rke2"))
def installed(request, minion_lab):
    """(distribution, its two `maia install` runs with minions and the stand-in's state after each)."""
    host = minion_lab.state["standins_control_plane"]
    return request.param, install_distribution(minion_lab, host, request.param)


def test_installs_all_stages_with_minions(installed, minion_lab):
    name, install = installed
    assert "running orch.maia (minions)" in install["first"].stderr, install["first"].text
    assert_installed_once(install, minion_lab, minion_lab.state["standins_control_plane"], name)


def test_rerun_changes_nothing_and_restarts_nothing(installed):
    assert_rerun_changes_nothing_and_restarts_nothing(installed[1])
