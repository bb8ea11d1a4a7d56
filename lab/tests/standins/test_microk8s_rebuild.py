"""The MicroK8s stand-in through a rebuilt control plane, as docs/operations.md's procedure runs it
(tests/k8s/test_k8s_lab_restore.py runs it on the lab host): `snap remove --purge` takes its data
and CA away, the next `snap install` makes a new CA, `microk8s refresh-certs CA_DIR` puts a given CA
in its place and `microk8s dbctl restore` brings back the addons of a backup."""
import subprocess
import sys

from maia_lab.standins import microk8s

from standins.test_hostcli import KUBECONFIG


def test_purge_new_ca_refresh_certs_and_dbctl_restore(tmp_path):
    old_ca = microk8s.make_ca()
    standin = microk8s.install(KUBECONFIG, prefix=str(tmp_path), python=sys.executable, ca=old_ca)
    certs = standin.host_path(f"{standin.snap_root}/microk8s/current/certs")

    def run(cmd, *args):
        proc = subprocess.run([str(standin.host_path(cmd)), *args], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return proc

    run(standin.snap_cmd, "install", "microk8s", "--classic")
    run(standin.microk8s_cmd, "enable", "metrics-server")
    run(standin.microk8s_cmd, "dbctl", "backup", "-o", str(tmp_path / "backup"))
    (tmp_path / "ca").mkdir()
    for name in ("ca.crt", "ca.key"):
        (tmp_path / "ca" / name).write_text((certs / name).read_text())

    run(standin.snap_cmd, "remove", "microk8s", "--purge")
    assert not standin.host_path(f"{standin.snap_root}/microk8s").exists()
    run(standin.snap_cmd, "install", "microk8s", "--classic")
    new_cert = (certs / "ca.crt").read_text()
    assert new_cert.startswith("-----BEGIN CERTIFICATE-----") and new_cert != old_ca[0]
    assert standin.state()["addons"].get("metrics-server") is None

    run(standin.microk8s_cmd, "refresh-certs", str(tmp_path / "ca"))
    assert ((certs / "ca.crt").read_text(), (certs / "ca.key").read_text()) == old_ca
    run(standin.microk8s_cmd, "dbctl", "restore", str(tmp_path / "backup.tar.gz"))
    assert standin.state()["addons"]["metrics-server"] is True
