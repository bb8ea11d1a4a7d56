"""maia.k8s.worker and the control plane's side of worker hosts render the right states for each
distribution (salt-call --local state.show_sls; rendering only, no stand-in is called)."""
import pytest

from k8s.harness import make_site
from k8s.test_k8s_render import DUMMY_KUBECONFIG, state_args

HOSTS = {
    "maia-node-0": {"address": "198.18.0.11", "roles": ["control-plane", "nfs_server"]},
    "maia-node-1": {"address": "198.18.0.12", "roles": ["worker", "nfs_clients"]},
    "maia-node-2": {"address": "", "ip": "198.18.0.13", "roles": ["worker"]},
    "maia-node-3": {"address": "198.18.0.14", "roles": ["nfs_clients"]},
}
# the same site seen from a worker: the harness' host (minion id maia-node-0) is the worker at .12
WORKER_HOSTS = {
    "maia-cp": {"address": "198.18.0.11", "roles": ["control-plane", "nfs_server"]},
    "maia-node-0": {"address": "198.18.0.12", "roles": ["worker", "nfs_clients"]},
    "maia-node-2": {"address": "", "ip": "198.18.0.13", "roles": ["worker"]},
}


def site(tmp_path, distribution, roles, pillar=None):
    hosts = WORKER_HOSTS if "worker" in roles else HOSTS
    extra = {"maia": {"cluster": {"k8s_distribution": distribution}, "hosts": hosts, "roles": roles,
                      "prepare": {"ufw": True}, **(pillar or {})}}
    return make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9", extra)


def show(site_, sls):
    rc, data, proc = site_.salt_call("state.show_sls", sls)
    assert rc == 0 and isinstance(data, dict), proc.stdout[-2000:] + proc.stderr[-2000:]
    return data


def rules(data, prefix):
    return {(a["port"], a["proto"], a["source"]) for sid, a in
            ((sid, state_args(data, sid, "maia_ufw")) for sid in data if sid.startswith(prefix))}


@pytest.mark.parametrize("distribution, ports", [
    ("microk8s", [(16443, "tcp"), (25000, "tcp"), (10250, "tcp"), (4789, "udp")]),
    ("k3s", [(6443, "tcp"), (10250, "tcp"), (8472, "udp")]),
    ("rke2", [(9345, "tcp"), (6443, "tcp"), (10250, "tcp"), (8472, "udp")]),
    ("k0s", [(6443, "tcp"), (8132, "tcp"), (10250, "tcp"), (179, "tcp")]),
])
def test_the_control_plane_opens_node_ports_to_the_workers_only(tmp_path, distribution, ports):
    """With workers in the inventory, the control plane opens the distribution's node ports to each
    worker's address (the inventory's, else its grains' IPv4), never to the NFS-only host or anyone."""
    data = show(site(tmp_path, distribution, ["control-plane"]), "maia.k8s")
    assert rules(data, f"maia-k8s-{distribution}-workers-ufw-") == {
        (port, proto, source) for port, proto in ports for source in ("198.18.0.12", "198.18.0.13")}


def test_without_workers_no_node_ports_and_k0s_stays_single(tmp_path):
    data = show(make_site(tmp_path / "site", DUMMY_KUBECONFIG, "http://127.0.0.1:9",
                          {"maia": {"cluster": {"k8s_distribution": "k0s"}, "prepare": {"ufw": True}}}), "maia.k8s")
    assert not [sid for sid in data if "-workers-ufw-" in sid]
    assert "--single" in state_args(data, "maia-k8s-k0s-unit-installed", "maia_k8s_dist")["install_cmd"]


def test_k0s_with_workers_is_a_controller_that_is_a_node_without_taints(tmp_path):
    unit = state_args(show(site(tmp_path, "k0s", ["control-plane"]), "maia.k8s.k0s"), "maia-k8s-k0s-unit-installed",
                      "maia_k8s_dist")
    assert unit["install_cmd"] == ["/usr/local/bin/k0s", "install", "controller", "--enable-worker", "--no-taints",
                                   "--config", "/etc/k0s/k0s.yaml", "--data-dir", "/var/lib/k0s"]
    assert unit["exec_args"] == ["controller", "--config=/etc/k0s/k0s.yaml", "--data-dir=/var/lib/k0s",
                                 "--enable-worker=true", "--no-taints=true"]


WORKER_STATES = {
    "microk8s": {"maia-k8s-worker-microk8s-snap-installed"},
    "k3s": {"maia-k8s-worker-k3s-binary-installed", "maia-k8s-worker-k3s-settings-merged",
            "maia-k8s-worker-k3s-unit-managed", "maia-k8s-worker-k3s-proxy-environment",
            "maia-k8s-worker-k3s-agent-running"},
    "rke2": {"maia-k8s-worker-rke2-release-downloaded", "maia-k8s-worker-rke2-release-unpacked",
             "maia-k8s-worker-rke2-settings-merged", "maia-k8s-worker-rke2-proxy-environment",
             "maia-k8s-worker-rke2-agent-running"},
    "k0s": {"maia-k8s-worker-k0s-binary-installed", "maia-k8s-worker-k0s-proxy-environment",
            "maia-k8s-worker-k0s-agent-running"},
}
# the agent's unit and the token file whose presence says the worker joined
AGENTS = {"k3s": ("k3s-agent", "/etc/rancher/k3s/join-token"), "rke2": ("rke2-agent", "/etc/rancher/rke2/join-token"),
          "k0s": ("k0sworker", "/etc/k0s/worker-token")}
WORKER_PORTS = {"microk8s": [(10250, "tcp"), (4789, "udp")], "k3s": [(10250, "tcp"), (8472, "udp")],
                "rke2": [(10250, "tcp"), (8472, "udp")], "k0s": [(10250, "tcp"), (179, "tcp")]}


@pytest.mark.parametrize("distribution", sorted(WORKER_STATES))
def test_a_worker_installs_its_agent_and_starts_nothing(tmp_path, distribution):
    """maia.k8s.worker on a worker: the distribution's binary (or snap), the agent's settings and
    unit, the proxy environment, the worker ports open to the control plane and the other worker
    only; none of the control plane's parts. The agent's unit is started by the join; its state here
    acts only once the join wrote the token file, and watches every agent state before it."""
    s = site(tmp_path, distribution, ["worker", "nfs_clients"])
    s.pillar["maia"]["k8s"]["node_name"] = ""
    s.write_pillar()
    data = show(s, "maia.k8s.worker")
    ids = {sid for sid in data if "-ufw-" not in sid}
    assert ids == WORKER_STATES[distribution] | {"maia-k8s-client-packages-skipped"}
    assert rules(data, "maia-k8s-worker-ufw-") == {(p, proto, src) for p, proto in WORKER_PORTS[distribution]
                                                    for src in ("198.18.0.11", "198.18.0.13")}
    for sid in data:
        mods = [m for m in data[sid] if not m.startswith("__")]
        assert "maia_k8s_dist" not in mods or {"settings_merged", "archive_unpacked", "agent_running"} & {
            fun for fun in data[sid]["maia_k8s_dist"] if isinstance(fun, str)}, sid
    if distribution in AGENTS:
        agent = state_args(data, f"maia-k8s-worker-{distribution}-agent-running", "maia_k8s_dist")
        assert (agent["name"], agent["joined_file"]) == AGENTS[distribution]
        watched = {sid for item in agent["watch"] for sid in item.values()}
        assert watched == WORKER_STATES[distribution] - {f"maia-k8s-worker-{distribution}-agent-running",
                                                         "maia-k8s-worker-rke2-release-downloaded"}


@pytest.mark.parametrize("distribution, server, config", [
    ("k3s", "https://198.18.0.11:6443", "/etc/rancher/k3s"),
    ("rke2", "https://198.18.0.11:9345", "/etc/rancher/rke2"),
])
def test_the_agent_settings_name_the_server_and_the_token_file_never_a_token(tmp_path, distribution, server, config):
    data = show(site(tmp_path, distribution, ["worker"], {"cluster": {"k8s_distribution": distribution,
                                                                       "proxy_ip": "10.0.0.1"}}), "maia.k8s.worker")
    settings = state_args(data, f"maia-k8s-worker-{distribution}-settings-merged", "maia_k8s_dist")
    assert settings["name"] == f"{config}/config.yaml"
    assert settings["settings"] == {"server": server, "token-file": f"{config}/join-token", "node-name": "maia-node-0"}
    proxy = state_args(data, f"maia-k8s-worker-{distribution}-proxy-environment", "file")
    assert "HTTPS_PROXY=http://10.0.0.1:3130" in proxy["contents"].splitlines()
    if distribution == "k3s":
        unit = state_args(data, "maia-k8s-worker-k3s-unit-managed", "file")
        assert unit["name"] == "/etc/systemd/system/k3s-agent.service"
        assert "ExecStart=/usr/local/bin/k3s agent --config /etc/rancher/k3s/config.yaml" in unit["contents"]
        assert proxy["name"] == "/etc/systemd/system/k3s-agent.service.env"
    else:
        assert proxy["name"] == "/etc/default/rke2-agent"
