"""_modules/maia_k8s_join.py: the worker join's host side, with small recording CLIs in place of the
distributions' (the lab test tests/k8s/test_k8s_workers_lab.py runs it against the stand-ins).

STAND-IN: ``k3s``/``k0s``/``microk8s``/``systemctl`` here are scripts that append their argument list
to a file and print what the real CLI prints (a token, a node list); the module under test is real:
its argument lists, the sealed hand-over (real X25519/AES-GCM), the files and their modes."""
import json
import os
import stat
import sys

import pytest
from salt.exceptions import CommandExecutionError

from support.modules import load_salt_module

K3S_TOKEN = "K10" + "ab" * 32 + "::abc123.0123456789abcdef"


def _cli(path, log, stdout="", rc=0, stderr=""):
    path.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps([{path.name!r}, *sys.argv[1:]]) + '\\n')\n"
        f"sys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\nsys.exit({rc})\n"
    )
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def join_mod():
    return load_salt_module("_modules/maia_k8s_join.py", "maia_k8s_join_under_test")


@pytest.fixture
def host(tmp_path):
    log = tmp_path / "calls.jsonl"
    nodes = {"items": [{"metadata": {"name": "cp"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                       {"metadata": {"name": "w1"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}]}
    paths = {
        "k3s": {"bin": _cli(tmp_path / "k3s", log, stdout=K3S_TOKEN + "\n"), "config_dir": str(tmp_path / "etc"),
                "data_dir": str(tmp_path / "data"), "systemctl_cmd": _cli(tmp_path / "systemctl", log)},
        "nodes": {"bin": _cli(tmp_path / "kubectl-k3s", log, stdout=json.dumps(nodes))},
    }

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return {"tmp": tmp_path, "log": log, "paths": paths, "calls": calls}


def test_a_k3s_join_hands_the_token_over_sealed_and_writes_it_0600(join_mod, host, tmp_path):
    keys = tmp_path / "run"
    public = join_mod.recipient(key_dir=str(keys))["recipient"]
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(keys / "recipient.key").st_mode) == 0o600
    bundle = join_mod.token("k3s", public, ttl=900, paths=host["paths"]["k3s"])
    assert set(bundle) == {"epk", "nonce", "sealed"} and K3S_TOKEN not in json.dumps(bundle)
    said = join_mod.join("k3s", "198.18.0.11", node_name="w1", paths=host["paths"]["k3s"], key_dir=str(keys), **bundle)
    assert said == {"joined": "w1", "distribution": "k3s"} and K3S_TOKEN not in json.dumps(said)
    token_file = tmp_path / "etc" / "join-token"
    assert token_file.read_text() == K3S_TOKEN + "\n"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert not (keys / "recipient.key").exists()  # the key is used once
    assert host["calls"]() == [["k3s", "token", "create", "--ttl", "15m"], ["systemctl", "daemon-reload"],
                               ["systemctl", "enable", "--now", "k3s-agent"]]
    with pytest.raises(CommandExecutionError, match="no join key"):
        join_mod.join("k3s", "198.18.0.11", paths=host["paths"]["k3s"], key_dir=str(keys), **bundle)


def test_a_bundle_sealed_to_another_key_is_refused_and_writes_nothing(join_mod, host, tmp_path):
    keys = tmp_path / "run"
    join_mod.recipient(key_dir=str(tmp_path / "other"))
    other = join_mod.recipient(key_dir=str(tmp_path / "other"))["recipient"]
    join_mod.recipient(key_dir=str(keys))
    bundle = join_mod.token("k3s", other, paths=host["paths"]["k3s"])
    with pytest.raises(CommandExecutionError, match="not sealed to this key") as err:
        join_mod.join("k3s", "198.18.0.11", paths=host["paths"]["k3s"], key_dir=str(keys), **bundle)
    assert K3S_TOKEN not in str(err.value)
    assert not (tmp_path / "etc" / "join-token").exists()


def test_microk8s_token_is_drawn_here_and_masked_in_errors(join_mod, tmp_path):
    """MicroK8s takes the token maia-salt draws (`add-node --token <32 hex> --token-ttl`); a failing
    `microk8s join` names the command with the token masked."""
    log = tmp_path / "calls.jsonl"
    cp = {"bin": _cli(tmp_path / "microk8s", log)}
    keys = tmp_path / "run"
    bundle = join_mod.token("microk8s", join_mod.recipient(key_dir=str(keys))["recipient"], ttl=900, paths=cp)
    call = json.loads(log.read_text().splitlines()[0])
    assert call[:2] == ["microk8s", "add-node"] and call[2] == "--token" and call[4:] == ["--token-ttl", "900"]
    token = call[3]
    assert len(token) == 32 and int(token, 16) >= 0 and token not in json.dumps(bundle)
    worker = {"bin": _cli(tmp_path / "mk8s-worker", log, rc=1, stderr=f"join failed for {token}")}
    with pytest.raises(CommandExecutionError) as err:
        join_mod.join("microk8s", "198.18.0.11", paths=worker, key_dir=str(keys), **bundle)
    assert token not in str(err.value) and "<masked>" in str(err.value) and "--worker" in str(err.value)
    assert json.loads(log.read_text().splitlines()[1]) == ["mk8s-worker", "join", f"198.18.0.11:25000/{token}", "--worker"]


def test_k0s_token_and_install_worker_once(join_mod, tmp_path):
    log = tmp_path / "calls.jsonl"
    paths = {"bin": _cli(tmp_path / "k0s", log, stdout="H4sIAAAAAAAA/worker-token==\n"), "config_dir": str(tmp_path / "etc-k0s"),
             "data_dir": str(tmp_path / "lib"), "unit_dir": str(tmp_path / "units"),
             "systemctl_cmd": _cli(tmp_path / "systemctl", log)}
    keys = tmp_path / "run"
    bundle = join_mod.token("k0s", join_mod.recipient(key_dir=str(keys))["recipient"], paths=paths)
    join_mod.join("k0s", "198.18.0.11", paths=paths, key_dir=str(keys), **bundle)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0] == ["k0s", "token", "create", "--role", "worker", "--expiry", "15m"]
    assert calls[1] == ["k0s", "install", "worker", "--token-file", str(tmp_path / "etc-k0s" / "worker-token")]
    assert calls[-1] == ["systemctl", "enable", "--now", "k0sworker"]


def test_nodes_remove_node_and_leave(join_mod, host, tmp_path):
    paths = {**host["paths"]["k3s"], "bin": host["paths"]["nodes"]["bin"]}
    assert join_mod.nodes("k3s", paths=paths) == {"cp": True, "w1": False}
    assert join_mod.remove_node("k3s", "w1", paths=paths) == {"removed": "w1"}
    assert join_mod.remove_node("k3s", "gone", paths=paths) == {"removed": None}
    assert ["kubectl-k3s", "kubectl", "delete", "node", "w1"] in host["calls"]()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "join-token").write_text("x")
    (tmp_path / "data" / "agent").mkdir(parents=True)
    left = join_mod.leave("k3s", paths=host["paths"]["k3s"])["left"]
    assert left[0] == "k3s-agent stopped and disabled"
    assert not (tmp_path / "etc" / "join-token").exists() and not (tmp_path / "data" / "agent").exists()
    assert ["systemctl", "disable", "--now", "k3s-agent"] in host["calls"]()


def test_an_unknown_distribution_is_refused(join_mod):
    with pytest.raises(CommandExecutionError, match="workers join microk8s, k3s, rke2, k0s clusters only"):
        join_mod.nodes("kind")
