"""The datastore restored onto a rebuilt control plane, following docs/operations.md, on the host of
the lab that test_k8s_lab.py converged (the folder's one lab, tests/k8s/conftest.py: no lab of its
own). The site is put back to MicroK8s first (test_k8s_lab.py leaves it on another distribution),
and back as it was afterwards.

STAND-INS (docs/standins.md): the MicroK8s stand-in stands in for MicroK8s. `snap remove --purge`
takes its data and its CA away, as a host rebuilt from its image has neither; its next `snap
install` makes a new CA, as MicroK8s does; `microk8s refresh-certs DIR` puts the CA of DIR in its
place and `microk8s dbctl restore FILE` the datastore of a `dbctl backup` (what the stand-in keeps
there is its addons). The Kubernetes API stand-in runs beside the lab host, not on it, so its
objects are not what the rebuild takes away: the test reads the cluster state back from the
stand-in's CA and addons. Everything else is real: `maia backup --ssh` and `maia restore
--cluster-to`, salt-ssh to the lab host, the CA files on the host's disk. Not run against
MAIA_E2E_ROSTER (it would purge that site's control plane).
"""
import shutil
from pathlib import Path

import pytest
import yaml

from support.states import changed_ids, failed

pytestmark = [pytest.mark.lab, pytest.mark.slow]

EXTRA_ADDON = "metrics-server"  # not one of the site's addons: only the datastore snapshot brings it back
CLUSTER_ON_HOST = "/root/maia-cluster"
MICROK8S = "/snap/bin/microk8s"


@pytest.fixture(scope="module")
def microk8s_site(target):
    """The shared lab's site with `k8s_distribution: microk8s` for this module."""
    if not target.lab:
        pytest.skip("purges the control plane: the lab's stand-in host only")
    folder = target.config_folder()
    cluster_yaml = folder / f"{target.lab.state['cluster_name']}.yaml"
    text = cluster_yaml.read_text()
    cluster_yaml.write_text(yaml.safe_dump({**yaml.safe_load(text), "k8s_distribution": "microk8s"},
                                           sort_keys=False))
    yield folder
    cluster_yaml.write_text(text)


def maia(*args, timeout=600):
    from support.install_output import run_maia

    proc = run_maia(*[str(a) for a in args], timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def test_a_rebuilt_control_plane_gets_its_ca_and_datastore_back_and_converges(microk8s_site, target, tmp_path):
    lab, host = target.lab, target.name
    root = Path(lab.path("hosts", host, "merged"))
    certs = root / "var/snap/microk8s/current/certs"
    lab.ssh(host, f"{MICROK8S} enable {EXTRA_ADDON}")
    ca = [(certs / name).read_bytes() for name in ("ca.crt", "ca.key")]

    # backup, from the controller, over salt-ssh
    (tmp_path / "keys").mkdir()
    passphrase = tmp_path / "keys" / "passphrase"
    passphrase.write_text("k8s lab backup passphrase\n")
    archive = tmp_path / "site.maiabackup"
    made = maia("backup", "-c", lab.dir, "--ssh", "--config-folder", microk8s_site, "-o", archive,
                "--passphrase-file", passphrase)
    assert f"the datastore snapshot and CA of {host}" in made.stderr, made.stderr

    # the rebuild: MicroK8s, its data and its CA gone from the host
    lab.ssh(host, "snap remove microk8s --purge")
    assert not certs.exists()

    # the documented procedure: the cluster files out of the archive and onto the host ...
    cluster = tmp_path / "cluster"
    cluster.mkdir()
    maia("restore", archive, "--config-folder", tmp_path / "config", "--cluster-to", cluster,
         "--passphrase-file", passphrase)
    on_host = root / CLUSTER_ON_HOST.lstrip("/")
    on_host.mkdir(mode=0o700)
    for name in ("datastore.tar.gz", "ca.crt", "ca.key"):
        shutil.copy2(cluster / name, on_host / name)
    # ... MicroK8s installed again (with a CA of its own), then the old CA and the datastore back ...
    proc, data = target.apply(sls="maia.k8s.microk8s")
    assert isinstance(data, dict) and failed(data) == {}, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (certs / "ca.crt").read_bytes() != ca[0]
    assert target.standin_state()["addons"].get(EXTRA_ADDON) is None
    lab.ssh(host, f"{MICROK8S} refresh-certs {CLUSTER_ON_HOST} && "
                  f"{MICROK8S} dbctl restore {CLUSTER_ON_HOST}/datastore.tar.gz && rm -r {CLUSTER_ON_HOST}")
    # ... then stage 2: it converges, and a second run changes nothing
    for run in ("after the restore", "again"):
        proc, data = target.apply()
        assert isinstance(data, dict) and failed(data) == {}, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert changed_ids(data) == set(), changed_ids(data)

    assert [(certs / name).read_bytes() for name in ("ca.crt", "ca.key")] == ca
    state = target.standin_state()
    assert state["addons"][EXTRA_ADDON] is True and state["restores"] == 1
