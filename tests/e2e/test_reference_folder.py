"""A CONFIG_FOLDER made by the MAIA toolkit's own configure script installs on the lab (issue 13).

The folder is made at test time by ``MAIA_Configure_Installation.sh`` of maia-toolkit 2.5.0
(PyPI; support/reference_config.py): a MicroK8s site with a private registry and CIFS declined.
The site's hosts come in as ``maia-configure import-inventory`` writes them (inventory.yaml).
``maia-configure`` re-runs on it from its env.json, the lab's master reads it through the maia
ext_pillar, ``maia install`` runs all three stages and a second run changes nothing. The lab's
own folder comes back afterwards and converges again.

Real: the toolkit's script, the hosts, UFW, Salt with minions. Stand-ins (conftest.py): the
Kubernetes API, MicroK8s and the ArgoCD controller. The lab's Keycloak, Harbor and MinIO stand-ins serve
the lab's own site (its domain and client secret), not this folder's: here stage 4 leaves the
services as their charts start them (maia:admin:configure off); tests/e2e/test_orchestration.py
covers their configuration.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maia_salt.install import run_orchestration
from support.reference_config import PRIVATE_SITE, reference_or_skip
from support.standin_cluster import applications_text

# the service stand-ins answer for the lab's own domain only (see above)
NO_SERVICE_CONFIGURATION = {"maia": {"admin": {"configure": {"keycloak": False, "harbor": False, "minio": False, "rancher": False}}}}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return reference_or_skip(tmp_path_factory.mktemp("maia-toolkit"))


def test_reference_folder_installs_then_reruns_with_no_change(site_lab, reference, tmp_path):
    config = Path(site_lab.config_folder)
    saved = tmp_path / "lab-config"
    shutil.move(config, saved)
    try:
        # made where the lab's master reads it, so the paths the script writes into env.json hold
        reference.make_folder(config, PRIVATE_SITE, "n")
        shutil.copy(saved / "inventory.yaml", config / "inventory.yaml")
        base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        rerun = subprocess.run(
            [sys.executable, "-m", "maia_salt.configure_cli", str(config / "env.json"), "--non-interactive"],
            input="", capture_output=True, text=True, timeout=300,
            env={**base, "MAIA_REALM_TEMPLATE": str(reference.realm_template)},
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert PRIVATE_SITE["REGISTRY_PASSWORD"] not in rerun.stdout + rerun.stderr

        first = run_orchestration(site_lab.dir, pillar=NO_SERVICE_CONFIGURATION)
        assert first.ok, first.render()
        assert {r.stage for r in first.results} == {"prepare", "k8s", "core", "admin"}, first.render()
        # stage 3 deploys the reference site's values: its domain and its private registry
        apps = applications_text(site_lab)
        assert PRIVATE_SITE["CLUSTER_DOMAIN"] in apps and PRIVATE_SITE["MAIA_PRIVATE_REGISTRY"] in apps
        again = run_orchestration(site_lab.dir, pillar=NO_SERVICE_CONFIGURATION)
        assert again.ok and again.changed == 0, again.render()
        assert PRIVATE_SITE["REGISTRY_PASSWORD"] not in first.render() + again.render()
    finally:
        shutil.rmtree(config, ignore_errors=True)
        shutil.move(saved, config)
    back = run_orchestration(site_lab.dir)
    assert back.ok, back.render()
    assert PRIVATE_SITE["CLUSTER_DOMAIN"] not in applications_text(site_lab)
