"""The k3s stand-in as a real systemd runs it: `k3s server` under a Type=notify unit.

STAND-IN (docs/standins.md): ``maia_lab.standins.k3s`` is what the lab serves as the k3s
release; in a lab host the host's own systemd starts it with the unit maia-salt writes
(Type=notify, as k3s' own unit). systemd then waits for READY=1 on ``$NOTIFY_SOCKET`` (the
sd_notify protocol); a server that never sends it keeps `systemctl start k3s` waiting. Here the
notify socket is this test's own datagram socket, as systemd's would be.
"""
import json
import os
import signal
import socket
import subprocess
import sys

from maia_lab.standins import k3s as k3s_standin

# what k3s writes to k3s.yaml; no API server here (the stand-in then registers no Node)
KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "default",
                         "clusters": [{"name": "default", "cluster": {"server": ""}}],
                         "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
                         "users": [{"name": "default", "user": {}}]})


def test_server_tells_systemd_it_is_ready_and_stops_on_sigterm(tmp_path):
    standin = k3s_standin.install(KUBECONFIG, tmp_path / "release", prefix=str(tmp_path), python=sys.executable,
                                  systemctl=False)
    binary = standin.release_dir / "k3s"
    config = standin.paths["config"]
    os.makedirs(os.path.dirname(config))
    with open(config, "w", encoding="utf-8") as fh:
        fh.write("node-name: node-a\ndisable:\n- traefik\n")
    notify_path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(notify_path)
        notify.settimeout(20)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        server = subprocess.Popen([str(binary), "server", "--config", config], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert notify.recv(256) == b"READY=1"
            state = standin.state()
            assert state["active"] is True and state["starts"] == 1
            assert state["settings_at_start"] == {"node-name": "node-a", "disable": ["traefik"]}
            assert (tmp_path / "etc/rancher/k3s/k3s.yaml").read_text() == KUBECONFIG
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
    assert server.returncode == 0, server.stderr.read()
    assert standin.state()["active"] is False
