"""``maia_k8s_dist.agent_running`` (a worker's agent unit after its join), as plain Python with its
Salt dunders and the real execution module: before the join (no token file) it does nothing, even
under watch; once joined it starts a stopped agent, restarts a running one only under watch, and
test mode predicts that without touching the unit. The ``systemctl`` here is a small script that
keeps the unit's state in a file and logs each call (this machine has no systemd to spare); the whole
formula runs against real systemd on the lab in tests/k8s/test_k8s_workers_lab.py."""
import json
import subprocess

import pytest

from support.modules import load_salt_module

SYSTEMCTL = """#!/bin/sh
state="$(dirname "$0")/unit.json"
echo "$*" >> "$(dirname "$0")/calls.log"
case "$1" in
  daemon-reload) exit 0 ;;
  is-enabled) grep -q '"enabled": true' "$state" && { echo enabled; exit 0; }; echo disabled; exit 1 ;;
  is-active) grep -q '"active": true' "$state" && { echo active; exit 0; }; echo inactive; exit 3 ;;
  enable) sed -i 's/"enabled": false/"enabled": true/' "$state" ;;
  start|restart) sed -i 's/"active": false/"active": true/' "$state" ;;
esac
"""


@pytest.fixture
def agent(tmp_path):
    systemctl = tmp_path / "systemctl"
    systemctl.write_text(SYSTEMCTL)
    systemctl.chmod(0o755)
    def run_all(argv, **_kw):  # what cmd.run_all returns, from a real process
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        return {"retcode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

    module = load_salt_module("_modules/maia_k8s_dist.py", "maia_k8s_dist_agent_mod", salt={"cmd.run_all": run_all})
    salt = {f"maia_k8s_dist.{fn}": getattr(module, fn) for fn in ("service_status", "service_action")}
    states = load_salt_module("_states/maia_k8s_dist.py", "maia_k8s_dist_agent_state", salt=salt)

    class Agent:
        token = tmp_path / "join-token"
        states_ = states

        @staticmethod
        def unit(enabled, active):
            (tmp_path / "unit.json").write_text(json.dumps({"enabled": enabled, "active": active}))

        @staticmethod
        def calls():
            log = tmp_path / "calls.log"
            return [line for line in log.read_text().splitlines() if not line.startswith("is-")] if log.exists() else []

        @staticmethod
        def run(fun="agent_running", test=False):
            states.__opts__["test"] = test
            kwargs = {"joined_file": str(tmp_path / "join-token"), "systemctl_cmd": str(systemctl)}
            if fun == "watch":
                return states.mod_watch("k3s-agent", sfun="agent_running", **kwargs)
            return states.agent_running("k3s-agent", **kwargs)

    return Agent


@pytest.mark.parametrize("fun", ["agent_running", "watch"])
def test_before_the_join_nothing_happens(agent, fun):
    agent.unit(enabled=False, active=False)
    ret = agent.run(fun)
    assert ret["result"] is True and ret["changes"] == {} and "not joined yet" in ret["comment"]
    assert agent.calls() == []


def test_a_joined_agent_that_runs_is_left_alone(agent):
    agent.token.write_text("never read here")
    agent.unit(enabled=True, active=True)
    ret = agent.run()
    assert ret["result"] is True and ret["changes"] == {} and agent.calls() == []


def test_a_joined_agent_that_stopped_is_predicted_then_started(agent):
    agent.token.write_text("x")
    agent.unit(enabled=True, active=False)
    ret = agent.run(test=True)
    assert ret["result"] is None and ret["changes"] == {"service": {"old": "stopped", "new": "running"}}
    assert agent.calls() == []
    ret = agent.run()
    assert ret["result"] is True and ret["changes"] == {"service": {"old": "stopped", "new": "running"}}
    assert agent.calls() == ["daemon-reload", "start k3s-agent"]
    assert agent.run()["changes"] == {}


def test_a_watched_change_restarts_a_joined_agent_once_and_test_mode_predicts_it(agent):
    agent.token.write_text("x")
    agent.unit(enabled=True, active=True)
    ret = agent.run("watch", test=True)
    assert ret["result"] is None and ret["changes"] == {"service": {"old": "running", "new": "restarted"}}
    assert agent.calls() == []
    ret = agent.run("watch")
    assert ret["result"] is True and ret["changes"] == {"service": {"old": "running", "new": "restarted"}}
    assert agent.calls() == ["daemon-reload", "restart k3s-agent"]
