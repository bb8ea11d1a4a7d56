"""The stand-in executables installed into a host (the MicroK8s stand-in's `snap` and
`microk8s`, the k3s stand-in's release binary and `systemctl`) share their state and
call-log helpers through one file, ``hostcli.py`` (the k3s, k0s and rke2 stand-ins also
``servicecli.py``), which the installer puts into each executable: the installed file still
runs alone, with no ``maia_lab`` to import."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from maia_lab.standins import k0s, k3s, microk8s, rke2
from maia_lab.standins.hoststate import HOSTCLI_IMPORT, SERVICECLI_IMPORT, build_cli

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: u, user: {token: not-used}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def run_alone(executable, *args, env=None):
    """Run an installed executable with no site-packages (-S) and no user paths (-I)."""
    return subprocess.run([sys.executable, "-I", "-S", str(executable), *args], capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ["PATH"], **(env or {})})


def imports_hostcli(text):
    return any(line.startswith(HOSTCLI_IMPORT) for line in text.splitlines())


def calls(state_file):
    log = state_file.with_name("calls.jsonl")
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []


def test_microk8s_executables_run_alone_and_log_their_calls(tmp_path):
    standin = microk8s.install(KUBECONFIG, prefix=str(tmp_path), python=sys.executable, ca=("crt", "key"))
    snap = standin.host_path(standin.snap_cmd)
    text = snap.read_text(encoding="utf-8")
    assert text.startswith(f"#!{sys.executable}\n") and not imports_hostcli(text)
    listed = run_alone(snap, "list")
    assert listed.returncode in (0, 1), listed.stderr
    assert "ModuleNotFoundError" not in listed.stderr
    assert [c["cmd"] for c in calls(standin.state_file)] == ["snap"]
    assert calls(standin.state_file)[0]["args"] == ["list"]

    other = tmp_path / "other" / "state.json"  # the environment variable names another state file
    other.parent.mkdir()
    shutil.copy(standin.state_file, other)
    run_alone(snap, "list", env={"MAIA_STANDIN_MICROK8S_STATE": str(other)})
    assert len(calls(standin.state_file)) == 1 and [c["cmd"] for c in calls(other)] == ["snap"]


@pytest.mark.parametrize("standin, version, unit", [(k3s, ["--version"], "k3s"), (k0s, ["version"], "k0scontroller")],
                         ids=["k3s", "k0s"])
def test_service_executables_run_alone_and_log_their_calls(tmp_path, standin, version, unit):
    """The service stand-ins (k3s, k0s) carry hostcli's and servicecli's text, no import of either."""
    installed = standin.install(KUBECONFIG, tmp_path / "release", prefix=str(tmp_path), python=sys.executable,
                                ca=("crt", "key"))
    release = installed.release_dir / next(iter(installed.pillar["maia"]["k8s"]))
    text = release.read_text(encoding="utf-8")
    assert not imports_hostcli(text) and SERVICECLI_IMPORT not in text
    shown = run_alone(release, *version)
    assert shown.returncode == 0 and "stand-in" in shown.stdout, shown.stderr
    active = run_alone(installed.host_path(f"{tmp_path}/usr/bin/systemctl"), "is-active", unit)
    assert (active.returncode, active.stdout.strip()) == (3, "inactive"), active.stderr
    assert [c["cmd"] for c in calls(installed.state_file)] == [release.name, "systemctl"]


def test_a_cli_without_the_shared_import_is_refused(tmp_path):
    cli = tmp_path / "cli.py"
    cli.write_text("#!/usr/bin/env python3\nimport json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="hostcli"):
        build_cli(cli, python=sys.executable, state_file="/s.json", state_env="X")


def test_rke2_release_is_a_tarball_in_rke2s_layout_with_its_checksum_list(tmp_path):
    """rke2's stand-in release: a gzip tarball with rke2's layout (bin/rke2, its server's and
    agent's units, share/rke2),
    the release's sha256sum-amd64.txt beside it; bin/rke2 runs alone and `systemctl` knows
    rke2-server only once the unit is where the tarball's unit goes."""
    installed = rke2.install(KUBECONFIG, tmp_path / "release", prefix=str(tmp_path), python=sys.executable,
                             ca=("crt", "key"))
    tarball = tmp_path / "release" / "rke2.linux-amd64.tar.gz"
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert (tmp_path / "release" / "sha256sum-amd64.txt").read_text().split() == [digest, tarball.name]
    assert installed.pillar["maia"]["k8s"]["rke2"]["release"] == {"url": f"file://{tarball}", "sha256": digest}
    with tarfile.open(tarball, "r:gz") as tar:
        assert {m.name: m.mode for m in tar.getmembers()} == {
            "bin/rke2": 0o755, "lib/systemd/system/rke2-server.service": 0o644,
            "lib/systemd/system/rke2-agent.service": 0o644, "share/rke2/README.stand-in": 0o644}
        unit = tar.extractfile("lib/systemd/system/rke2-server.service").read().decode()
        agent_unit = tar.extractfile("lib/systemd/system/rke2-agent.service").read().decode()
        binary = tmp_path / "rke2"
        binary.write_bytes(tar.extractfile("bin/rke2").read())
    assert f"ExecStart={tmp_path}/usr/local/bin/rke2 server" in unit.splitlines()
    assert f"ExecStart={tmp_path}/usr/local/bin/rke2 agent" in agent_unit.splitlines()
    text = binary.read_text(encoding="utf-8")
    assert not imports_hostcli(text) and SERVICECLI_IMPORT not in text
    shown = run_alone(binary, "--version")
    assert shown.returncode == 0 and "stand-in" in shown.stdout, shown.stderr
    systemctl = installed.host_path(f"{tmp_path}/usr/bin/systemctl")
    assert run_alone(systemctl, "is-active", "rke2-server").returncode == 3


@pytest.mark.parametrize("text", [
    "server: https://198.18.0.11:6443\ntoken-file: /etc/rancher/k3s/join-token\nnode-name: maia-node-1\n",
    "disable:\n- traefik\nkube-apiserver-arg:\n  - oidc-issuer-url=https://iam.site.test/realms/maia\n  - 'oidc-client-id=maia'\n"
    "write-kubeconfig-mode: '0644'\nsecrets-encryption: true\nhttps-listen-port: 6443\n# a comment\n",
    "tls-san: [maia.site.test, 198.18.0.11]\n",
])
def test_settings_files_parse_alike_without_pyyaml(text):
    """A lab host's system python3 has no PyYAML: the service stand-ins read the flat settings files
    (scalars, lists) as PyYAML does, and keep anything nested unparsed."""
    import yaml

    from maia_lab.standins.servicecli import flat_yaml

    assert flat_yaml(text) == yaml.safe_load(text)
    assert flat_yaml("spec:\n  api:\n    sans: []\n") is None
