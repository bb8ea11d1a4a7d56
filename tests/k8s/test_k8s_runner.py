"""The kubeconfig runner over a real salt-master and salt-minion (pytest-salt-factories).

No stand-in: the minion serves files that maia.k8s.microk8s.export would have
written (the MicroK8s parts are covered by the other tests); the runner fetches
them over the master's bus into the CONFIG_FOLDER of the maia ext_pillar.
"""
import hashlib
import stat

import pytest

from support.site import REPO, make_site

KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: runner-test-token}}]\n"
CA = "-----BEGIN CERTIFICATE-----\nrunner-test\n-----END CERTIFICATE-----\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("site") / "config")


@pytest.fixture(scope="module")
def salt_master(salt_factories, site):
    overrides = {
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
        "file_roots": {"base": [str(REPO / "formulas")]},
    }
    factory = salt_factories.salt_master_daemon("k8s-runner-master", overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture(scope="module")
def salt_minion(salt_master):
    factory = salt_master.salt_minion_daemon("maia-node-0")
    with factory.started():
        yield factory


def test_fetch_kubeconfig_over_the_master(salt_master, salt_minion, site, tmp_path):
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / "func-kubeconfig.yaml").write_text(KUBECONFIG)
    (exported / "ca.crt").write_text(CA)
    cli = salt_master.salt_run_cli(timeout=120)

    ret = cli.run("maia_k8s.fetch_kubeconfig", "maia-node-0", f"remote_folder={exported}")
    assert ret.returncode == 0, ret.stderr
    kubeconfig, ca = site / "func-kubeconfig.yaml", site / "ca.crt"
    assert set(ret.data) == {str(kubeconfig), str(ca)}
    assert kubeconfig.read_text() == KUBECONFIG and ca.read_text() == CA
    for path in (kubeconfig, ca):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ret.data[str(kubeconfig)] == {"sha256": hashlib.sha256(KUBECONFIG.encode()).hexdigest(), "changed": True}
    assert "runner-test-token" not in ret.stdout

    again = cli.run("maia_k8s.fetch_kubeconfig", "maia-node-0", f"remote_folder={exported}")
    assert again.returncode == 0
    assert {v["changed"] for v in again.data.values()} == {False}


def test_fetch_kubeconfig_says_what_is_missing(salt_master, salt_minion, tmp_path):
    cli = salt_master.salt_run_cli(timeout=120)
    ret = cli.run("maia_k8s.fetch_kubeconfig", "maia-node-0", f"remote_folder={tmp_path}")
    assert ret.returncode != 0 or "Not exported yet" in str(ret.data)
    assert "Not exported yet" in ret.stdout + ret.stderr
