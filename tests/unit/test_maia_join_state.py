"""_orch_states/maia_join.py, the orchestration's worker join and removal, with the hosts' module
(_modules/maia_k8s_join.py) run in this process in place of the hosts: the calls the master makes,
in order, what it sees of the token (ciphertext only), the predictions, and a converged site.

STAND-IN: `maia_salt.sealed.call` (the master's call to a host over its bus or salt-ssh) is replaced
by a dispatcher to the real host module; the distribution's CLI is a script that prints a token and
records its arguments, systemctl one that records them (tests/unit/test_maia_k8s_join.py's)."""
import json

import pytest

from maia_salt import sealed
from support.modules import load_salt_module
from unit.test_maia_k8s_join import K3S_TOKEN, _cli


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    host = load_salt_module("_modules/maia_k8s_join.py", "maia_k8s_join_for_state")
    log = tmp_path / "calls.jsonl"
    paths = {"bin": _cli(tmp_path / "k3s", log, stdout=K3S_TOKEN + "\n"), "config_dir": str(tmp_path / "etc"),
             "data_dir": str(tmp_path / "data"), "systemctl_cmd": _cli(tmp_path / "systemctl", log)}
    state = {"nodes": {"cp": True}, "seen": [], "down": set()}

    def call(opts, tgt, fun, kwargs, ssh=False, roster_file=None, timeout=120, wanted=None):
        state["seen"].append((tgt, fun, json.dumps(kwargs, sort_keys=True)))
        if tgt in state["down"]:
            raise sealed.SealError(f"{tgt} did not answer {fun}")
        name = fun.split(".", 1)[1]
        kwargs = {k: v for k, v in kwargs.items() if k != "paths"}
        if name == "nodes":
            return {tgt: dict(state["nodes"])}
        if name == "remove_node":
            return {tgt: {"removed": kwargs["name"] if state["nodes"].pop(kwargs["name"], None) is not None else None}}
        if name in ("recipient", "join"):
            kwargs["key_dir"] = str(tmp_path / f"run-{tgt}")
        said = getattr(host, name)(**kwargs) if name == "recipient" else getattr(host, name)(paths=paths, **kwargs)
        if name == "join":
            state["nodes"][tgt] = True
        return {tgt: said}

    monkeypatch.setattr(sealed, "call", call)
    return state


def join_state(test=False):
    return load_salt_module("_orch_states/maia_join.py", "maia_join_under_test",
                            opts={"test": test, "__role": "master"})


def test_each_missing_worker_joins_with_a_token_the_master_cannot_read(cluster):
    ret = join_state().workers_joined("cp", ["w2", "w1"], "k3s", "198.18.0.11", interval=0)
    assert ret["result"] is True, ret
    assert ret["changes"] == {"w1": {"old": "not a node", "new": "Ready node"},
                              "w2": {"old": "not a node", "new": "Ready node"}}
    calls = [(tgt, fun) for tgt, fun, _ in cluster["seen"]]
    assert calls[:4] == [("cp", "maia_k8s_join.nodes"), ("w1", "maia_k8s_join.recipient"),
                         ("cp", "maia_k8s_join.token"), ("w1", "maia_k8s_join.join")]
    assert calls[-1] == ("cp", "maia_k8s_join.nodes")
    assert K3S_TOKEN not in json.dumps(cluster["seen"]) and K3S_TOKEN not in json.dumps(ret)
    again = join_state().workers_joined("cp", ["w1", "w2"], "k3s", "198.18.0.11")
    assert again["changes"] == {} and again["result"] is True and "2 worker(s) are nodes" in again["comment"]


def test_test_mode_predicts_and_calls_nothing_but_the_node_list(cluster):
    cluster["nodes"]["w1"] = True
    ret = join_state(test=True).workers_joined("cp", ["w1", "w2"], "k3s", "198.18.0.11")
    assert ret["result"] is None and list(ret["changes"]) == ["w2"] and "would join w2" in ret["comment"]
    assert [fun for _, fun, _ in cluster["seen"]] == ["maia_k8s_join.nodes"]
    cluster["down"].add("cp")  # a new site: no control plane answers yet
    assert list(join_state(test=True).workers_joined("cp", ["w1", "w2"], "k3s", "x")["changes"]) == ["w1", "w2"]


def test_a_worker_that_cannot_join_fails_the_step_naming_it(cluster):
    cluster["down"].add("w2")
    ret = join_state().workers_joined("cp", ["w1", "w2"], "k3s", "198.18.0.11", interval=0)
    assert ret["result"] is False and "w2 did not join cp's cluster" in ret["comment"]
    assert list(ret["changes"]) == ["w1"]


def test_worker_removed_leaves_then_deletes_the_node_even_when_the_worker_is_gone(cluster):
    cluster["nodes"].update(w1=True, w2=True)
    ret = join_state().worker_removed("cp", "w1", "k3s")
    assert ret["result"] is True and ret["changes"]["node"] == {"old": "w1", "new": None}
    assert [(t, f) for t, f, _ in cluster["seen"]][-2:] == [("w1", "maia_k8s_join.leave"), ("cp", "maia_k8s_join.remove_node")]
    cluster["down"].add("w2")
    gone = join_state().worker_removed("cp", "w2", "k3s")
    assert gone["result"] is True and "w2 did not leave by itself" in gone["comment"] and "w2" not in cluster["nodes"]
    predicted = join_state(test=True).worker_removed("cp", "w1", "k3s")
    assert predicted["result"] is True and predicted["changes"] == {}  # no node any more: nothing to predict
