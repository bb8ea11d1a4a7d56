"""A 3-host lab with a salt-master, minions and the stand-ins, for end-to-end runs of orch.maia.

Real: the hosts (systemd-nspawn Debian, apt, UFW, LVM PV/VG on loop disks),
Salt (master, minions, salt-ssh). Stand-ins (docs/standins.md):
the Kubernetes API, MicroK8s and the ArgoCD controller. The lab's pillar switches
off LV creation and the NFS service start/mount, which this machine cannot run
(maia_lab.lab.core.HOST_LIMITS).
"""
import os

import pytest

from support.lab import quick_argocd_controller, session_lab


@pytest.fixture(scope="package")
def site_lab():
    for lab_ in session_lab(os.environ.get("MAIA_LAB_E2E_NAME", "pytest-e2e"), hosts=3, minions=True, standins=True):
        quick_argocd_controller(lab_)  # stage 3's sync waves in about 1.5 s each instead of 3.5 s
        yield lab_

