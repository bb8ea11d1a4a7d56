"""Fixtures for the maia.k8s tests: API stand-in (or a real cluster), release server, sites.

STAND-INS: ``maia_lab.standins.kube_api`` for the kube-apiserver and
``maia_lab.standins.microk8s`` for snapd/MicroK8s (neither runs on this
machine, see docs/standins.md). ``MAIA_E2E_KUBECONFIG=path`` points the API side
at a real cluster instead.
"""
import json
import os
from pathlib import Path

import pytest
import yaml

from k8s.harness import ManifestServer, argocd_manifest, make_site
from support.lab import StandinTarget, target_fixture

# stage 1 is not applied by the lab tests' salt-ssh runs of maia.k8s, so no UFW rules
PILLAR = json.dumps({"maia": {"prepare": {"ufw": False}}})


class RealCluster:
    """The cluster of MAIA_E2E_KUBECONFIG, read through the kubernetes client."""

    def __init__(self, path):
        from kubernetes import config, dynamic

        self.kubeconfig = path
        self.dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=path))
        self.ca_cert_pem = self.ca_key_pem = None

    def kubeconfig_text(self):
        return Path(self.kubeconfig).read_text()

    def get_object(self, api_version, kind, name, namespace=None):
        from kubernetes.dynamic.exceptions import NotFoundError

        res = self.dyn.resources.get(api_version=api_version, kind=kind)
        try:
            return res.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None


@pytest.fixture(scope="module")
def kube_api():
    """A fresh Kubernetes API stand-in per test module (or the real cluster)."""
    real = os.environ.get("MAIA_E2E_KUBECONFIG")
    if real:
        yield RealCluster(real)
        return
    from maia_lab.standins.kube_api import KubeApiStandin

    with KubeApiStandin() as api:
        yield api


@pytest.fixture(scope="session")
def release_server():
    """Serves the ArgoCD install manifest (the stand-in, or MAIA_ARGOCD_MANIFEST) over local HTTP."""
    server = ManifestServer(argocd_manifest()[0].parent)
    yield server
    server.close()


def site_for(root, api, release_server, pillar=None):
    """A control-plane 'host' (temporary root + MicroK8s stand-in) talking to ``api``.

    The stand-in's cluster CA is the API stand-in's CA, as on a real MicroK8s."""
    site = make_site(root, api.kubeconfig_text(), release_server.url, pillar)
    if getattr(api, "ca_cert_pem", None):
        site.standin.update_state(ca={"ca.crt": api.ca_cert_pem, "ca.key": api.ca_key_pem})
    return site


@pytest.fixture
def new_site(tmp_path, release_server):
    """Factory: ``new_site(api, pillar=None, name="site")``."""

    def factory(api, pillar=None, name="site"):
        return site_for(tmp_path / name, api, release_server, pillar)

    return factory


@pytest.fixture
def fresh_api():
    """A Kubernetes API stand-in for one test (failure cases must not share state)."""
    if os.environ.get("MAIA_E2E_KUBECONFIG"):
        pytest.skip("failure cases run against the API stand-in only (they break the cluster state)")
    from maia_lab.standins.kube_api import KubeApiStandin

    with KubeApiStandin() as api:
        yield api


class Target(StandinTarget):
    """The control-plane host of the one-host stand-in lab that tests/k8s/test_k8s_lab*.py share."""

    def __init__(self):
        super().__init__("MAIA_LAB_TEST_K8S_NAME", "pytest-k8s")

    def apply(self, test=False, sls="maia.k8s"):
        args = ["state.apply", sls, f"pillar={PILLAR}"]
        if test:
            args.append("test=True")
        return self.salt_ssh(*args)

    def standin_state(self):
        proc = self.lab.ssh(self.name, "cat /var/lib/maia-standins/microk8s/state.json")
        return json.loads(proc.stdout)

    def config_folder(self):
        with open(os.path.join(self.config_dir, "master"), encoding="utf-8") as fh:
            master = yaml.safe_load(fh)
        for entry in master.get("ext_pillar") or []:
            if "maia" in entry:
                return Path(entry["maia"]["config_folder"])
        raise AssertionError("no maia ext_pillar in the master config")


# one lab for the folder: the lab tests of test_k8s_lab.py, then those of test_k8s_lab_restore.py
target = target_fixture(Target, scope="package")
