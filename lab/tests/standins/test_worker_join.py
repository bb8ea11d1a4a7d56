"""Worker hosts in the stand-ins (issue 24 item 4): a control plane makes a join token, a worker joins
with it, the control plane lists and deletes the worker's Node, for MicroK8s, k3s, rke2 and k0s.

STAND-INS (docs/standins.md, "Worker hosts"): none of the four runs here. Each test installs the
distribution's stand-in twice, as a control-plane host and as worker hosts (each its own folder,
state and `systemctl` stand-in), against one Kubernetes API stand-in on loopback, and runs the
installed executables with the command lines the product's `maia_k8s_join` runs
(docs/k8s.md's table). The join token is a bootstrap-token Secret in the API stand-in; a worker's
start checks it there. No lab, no root.
"""
from __future__ import annotations

import base64
import datetime
import gzip
import json
import secrets
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests

from maia_lab.standins import k0s, k3s, microk8s, rke2
from maia_lab.standins.kube_api import KubeApiStandin

CP = "maia-node-0"
SECONDS = {"15m": 900}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with KubeApiStandin(tls_dir=tmp_path_factory.mktemp("kube-api")) as server:
        yield server


def run(path, *args):
    return subprocess.run([str(path), *args], capture_output=True, text=True, timeout=60)


def ok(proc):
    assert proc.returncode == 0, f"{proc.args}: {proc.stdout}\n{proc.stderr}"
    return proc


class Service:
    """A k3s, rke2 or k0s host: its stand-in installed under its own folder (``prefix``), the
    release binary where the formula puts it, `systemctl` for the units."""

    def __init__(self, module, api, root: Path, name: str):
        self.name, self.root = name, root / name
        self.handle = module.install(api.kubeconfig_text(), root / f"release-{name}", prefix=str(self.root),
                                     hostname=name, ca=(api.ca_cert_pem, api.ca_key_pem), python=sys.executable)
        self.paths = self.handle.paths
        release = self.handle.release_dir
        bin_path = Path(self.paths["bin"])
        bin_path.parent.mkdir(parents=True, exist_ok=True)
        if "install_dir" in self.paths:  # rke2: the tarball unpacked into the install dir
            with tarfile.open(release / "rke2.linux-amd64.tar.gz") as tar:
                tar.extractall(self.paths["install_dir"], filter="data")
        else:
            shutil.copy(release / bin_path.name, bin_path)
        self.systemctl = self.root / "usr/bin/systemctl"

    def ctl(self, *args):
        return run(self.systemctl, *args)

    def unit(self, name, exec_args):
        path = Path(self.paths["unit_dir"], f"{name}.service")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(f"[Service]\nExecStart={self.paths['bin']} {exec_args}\n")

    def state(self):
        return self.handle.state()

    def calls_text(self):
        return self.handle.state_file.with_name("calls.jsonl").read_text()


class Rancher:
    """k3s and rke2: `token create --ttl`, the agent's config.yaml with `server` and `token-file`,
    its unit (k3s: maia-salt's `k3s-agent.service`; rke2: the tarball's `rke2-agent.service`)."""

    def __init__(self, module, name, port):
        self.module, self.dist, self.port = module, name, port

    def control_plane(self, api, root):
        cp = Service(self.module, api, root, CP)
        Path(cp.paths["config"]).parent.mkdir(parents=True, exist_ok=True)
        Path(cp.paths["config"]).write_text(f"node-name: {CP}\n")
        cp.unit(self.server_unit, "server")
        ok(cp.ctl("enable", "--now", self.server_unit))
        return cp

    server_unit = property(lambda self: "k3s" if self.dist == "k3s" else "rke2-server")
    agent_unit = property(lambda self: f"{self.dist}-agent")

    def token(self, cp, ttl="15m"):
        return ok(run(cp.paths["bin"], "token", "create", "--ttl", ttl)).stdout.strip()

    def join(self, worker, token):
        config = Path(worker.paths["config"])
        config.parent.mkdir(parents=True, exist_ok=True)
        token_file = config.with_name("join-token")
        token_file.write_text(token + "\n")
        config.write_text(f"server: https://198.18.0.11:{self.port}\ntoken-file: {token_file}\n"
                          f"node-name: {worker.name}\n")
        worker.unit(self.agent_unit, f"agent --config {config}" if self.dist == "k3s" else "agent")
        return worker.ctl("enable", "--now", self.agent_unit)

    def restart(self, worker):
        return worker.ctl("restart", self.agent_unit)

    def kubectl(self, cp, *args):
        if self.dist == "k3s":
            return run(cp.paths["bin"], "kubectl", *args)
        return run(Path(cp.paths["data_dir"], "bin", "kubectl"), "--kubeconfig",
                   Path(cp.paths["config_dir"], "rke2.yaml"), *args)

    def delete(self, cp, name):
        return self.kubectl(cp, "delete", "node", name)


class K0s:
    """k0s: `token create --role worker --expiry`, `install worker --token-file`, `k0sworker`."""

    dist = "k0s"
    agent_unit = "k0sworker"

    def control_plane(self, api, root):
        cp = Service(k0s, api, root, CP)
        ok(run(cp.paths["bin"], "install", "controller", "--enable-worker", "--no-taints"))
        ok(cp.ctl("start", "k0scontroller"))
        return cp

    def token(self, cp, ttl="15m"):
        return ok(run(cp.paths["bin"], "token", "create", "--role", "worker", "--expiry", ttl)).stdout.strip()

    def join(self, worker, token):
        token_file = Path(worker.paths["config_dir"], "worker-token")
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(token + "\n")
        if not Path(worker.paths["unit_dir"], "k0sworker.service").exists():
            ok(run(worker.paths["bin"], "install", "worker", "--token-file", token_file))
        return worker.ctl("enable", "--now", "k0sworker")

    def restart(self, worker):
        return worker.ctl("restart", "k0sworker")

    def kubectl(self, cp, *args):
        return run(cp.paths["bin"], "kubectl", *args)

    def delete(self, cp, name):
        return self.kubectl(cp, "delete", "node", name)


class MicroK8sHost:
    def __init__(self, api, root, name, worker):
        self.name = name
        self.handle = microk8s.install(api.kubeconfig_text(), prefix=str(root / name), hostname=name,
                                       ca=(api.ca_cert_pem, api.ca_key_pem), python=sys.executable, worker=worker)
        self.microk8s = self.handle.host_path(self.handle.microk8s_cmd)
        ok(run(self.handle.host_path(self.handle.snap_cmd), "install", "microk8s", "--classic"))

    def state(self):
        return self.handle.state()

    def calls_text(self):
        return self.handle.state_file.with_name("calls.jsonl").read_text()


class MicroK8s:
    """MicroK8s: `add-node --token T --token-ttl S`, `join <cp>:25000/T --worker`, `remove-node`."""

    dist = "microk8s"
    agent_unit = None

    def control_plane(self, api, root):
        return MicroK8sHost(api, root, CP, worker=False)

    def token(self, cp, ttl="15m"):
        token = secrets.token_hex(16)  # as maia_k8s_join draws it
        ok(run(cp.microk8s, "add-node", "--token", token, "--token-ttl", str(SECONDS[ttl])))
        return token

    def join(self, worker, token):
        return run(worker.microk8s, "join", f"198.18.0.11:25000/{token}", "--worker")

    def restart(self, worker):
        ok(run(worker.microk8s, "stop"))
        return run(worker.microk8s, "start")

    def kubectl(self, cp, *args):
        return run(cp.microk8s, "kubectl", *args)

    def delete(self, cp, name):
        return run(cp.microk8s, "remove-node", name, "--force")


DISTRIBUTIONS = {"microk8s": MicroK8s(), "k3s": Rancher(k3s, "k3s", 6443), "rke2": Rancher(rke2, "rke2", 9345),
                 "k0s": K0s()}


def new_worker(dist, api, root, name):
    if dist.dist == "microk8s":
        return MicroK8sHost(api, root, name, worker=True)
    return Service({"k3s": k3s, "rke2": rke2, "k0s": k0s}[dist.dist], api, root, name)


def node_names(dist, cp):
    listed = json.loads(ok(dist.kubectl(cp, "get", "nodes", "-o", "json")).stdout)
    assert listed["kind"] == "List"
    return {item["metadata"]["name"]: item for item in listed["items"]}


def k0s_kubeconfig(token):
    return json.loads(gzip.decompress(base64.b64decode(token)))


def secret_of(token, dist):
    """The secret part of a token as the distribution prints it."""
    if dist == "microk8s":
        return token[6:]
    if dist == "k0s":
        return k0s_kubeconfig(token)["users"][0]["user"]["token"].split(".")[1]
    return token.rsplit(".", 1)[1]


def wrong_secret(token, dist):
    """``token`` with another secret (same id)."""
    if dist == "k0s":
        kubeconfig = k0s_kubeconfig(token)
        user = kubeconfig["users"][0]["user"]
        user["token"] = user["token"].split(".")[0] + "." + "0" * 16
        return base64.b64encode(gzip.compress(json.dumps(kubeconfig).encode())).decode()
    return token[:-4] + ("1111" if token.endswith("0000") else "0000")


def expire(api, token_secret_id):
    """Time passing: the bootstrap token's expiration moved into the past, as the API keeps it."""
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = requests.patch(f"{api.url}/api/v1/namespaces/kube-system/secrets/bootstrap-token-{token_secret_id}",
                          json={"data": {"expiration": base64.b64encode(past.encode()).decode()}},
                          headers={"Authorization": f"Bearer {api.token}",
                                   "Content-Type": "application/merge-patch+json"},
                          verify=str(api.tls_dir / "ca.crt"), timeout=10)
    assert resp.status_code == 200, resp.text


def token_ids(api):
    resp = requests.get(f"{api.url}/api/v1/namespaces/kube-system/secrets", timeout=10,
                        headers={"Authorization": f"Bearer {api.token}"}, verify=str(api.tls_dir / "ca.crt"))
    return {item["metadata"]["name"].removeprefix("bootstrap-token-"): item for item in resp.json()["items"]
            if item.get("type") == "bootstrap.kubernetes.io/token"}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_a_worker_joins_with_a_valid_token_only_and_the_control_plane_removes_it(api, tmp_path, name):
    dist = DISTRIBUTIONS[name]
    cp = dist.control_plane(api, tmp_path)
    before = set(token_ids(api))
    token = dist.token(cp)
    (new_id,) = set(token_ids(api)) - before
    secret = token_ids(api)[new_id]
    assert secret["metadata"]["namespace"] == "kube-system"
    assert set(secret["data"]) >= {"token-id", "token-secret", "expiration"}
    expires = base64.b64decode(secret["data"]["expiration"]).decode()
    left = datetime.datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc) - \
        datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=13) < left <= datetime.timedelta(minutes=15)

    # a worker whose MicroK8s/agent is installed is no node before it joins
    worker = new_worker(dist, api, tmp_path, f"{name}-w1")
    assert worker.name not in node_names(dist, cp)

    # a wrong token: refused with the reason, no Node
    wrong = new_worker(dist, api, tmp_path, f"{name}-w2")
    refused = dist.join(wrong, wrong_secret(token, name))
    assert refused.returncode != 0 and "failed to join the cluster" in refused.stderr + refused.stdout, refused
    assert wrong.name not in node_names(dist, cp)

    # the valid token: the worker's Node, Ready, no control-plane role
    ok(dist.join(worker, token))
    nodes = node_names(dist, cp)
    assert {CP, worker.name} <= set(nodes)
    labels = nodes[worker.name]["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == worker.name
    assert not any(key.startswith("node-role.kubernetes.io/") for key in labels), labels
    assert {"type": "Ready", "status": "True"}.items() <= nodes[worker.name]["status"]["conditions"][0].items()

    # the token expires: a restart of the joined worker still works (its Node exists), a new
    # worker with the same token is refused
    expire(api, new_id)
    ok(dist.restart(worker))
    late = new_worker(dist, api, tmp_path, f"{name}-w3")
    refused = dist.join(late, token)
    assert refused.returncode != 0 and "expired" in refused.stderr + refused.stdout, refused
    assert late.name not in node_names(dist, cp)

    # the control plane deletes the worker's Node; deleting it again fails
    ok(dist.delete(cp, worker.name))
    assert worker.name not in node_names(dist, cp) and CP in node_names(dist, cp)
    assert dist.delete(cp, worker.name).returncode != 0

    # no host's call log holds the token's secret (MicroK8s' command lines carry it: masked)
    for host in (cp, worker, wrong, late):
        assert secret_of(token, name) not in host.calls_text()
    if name == "microk8s":
        assert '"198.18.0.11:25000/<masked>"' in worker.calls_text()
        assert '"--token", "<masked>"' in cp.calls_text()


@pytest.mark.parametrize("name", ["k3s", "rke2", "k0s"])
def test_agent_bookkeeping_and_leave(api, tmp_path, name):
    """The agent's unit is the state's `agent` (the server's stays as it was); `disable --now` stops it."""
    dist = DISTRIBUTIONS[name]
    cp = dist.control_plane(api, tmp_path)
    worker = new_worker(dist, api, tmp_path, f"{name}-leave")
    ok(dist.join(worker, dist.token(cp)))
    agent = worker.state()["agent"]
    assert (agent["active"], agent["enabled"], agent["starts"], agent["node"]) == (True, True, 1, worker.name)
    assert not worker.state().get("active")  # no server on a worker host
    # what the agent writes is in the worker's own folder (the product's `leave` removes it)
    written = "kubelet.conf" if name == "k0s" else "agent/server-ca.crt"
    assert Path(worker.paths["data_dir"], written).is_file()
    assert worker.ctl("is-active", dist.agent_unit).stdout.strip() == "active"
    ok(worker.ctl("disable", "--now", dist.agent_unit))
    assert worker.ctl("is-active", dist.agent_unit).returncode == 3
    assert worker.ctl("is-enabled", dist.agent_unit).returncode == 1
    # the cluster keeps the Node until the control plane deletes it
    assert worker.name in node_names(dist, cp)
    ok(dist.delete(cp, worker.name))


def test_a_k3s_token_of_another_cluster_is_refused(api, tmp_path):
    """k3s checks the CA hash of a full token (K10<hash>::...) against its server's CA."""
    dist = DISTRIBUTIONS["k3s"]
    cp = dist.control_plane(api, tmp_path)
    token = dist.token(cp)
    other = "K10" + "0" * 64 + "::" + token.split("::")[1]
    refused = dist.join(new_worker(dist, api, tmp_path, "k3s-other"), other)
    assert refused.returncode != 0 and "CA hash" in refused.stderr, refused


def test_microk8s_leave_and_join_again(api, tmp_path):
    dist = DISTRIBUTIONS["microk8s"]
    cp = dist.control_plane(api, tmp_path)
    worker = new_worker(dist, api, tmp_path, "mk8s-again")
    ok(dist.join(worker, dist.token(cp)))
    assert worker.state()["joined"] == {"server": "198.18.0.11:25000", "worker": True}
    ok(run(worker.microk8s, "leave"))
    ok(dist.delete(cp, worker.name))
    # left: its own MicroK8s again, which registers nothing in the cluster when it restarts
    ok(dist.restart(worker))
    assert worker.name not in node_names(dist, cp)
    ok(dist.join(worker, dist.token(cp)))
    assert worker.name in node_names(dist, cp)
    assert run(cp.microk8s, "add-node", "--token", "short", "--token-ttl", "900").returncode != 0


def test_token_create_needs_a_running_server(api, tmp_path):
    dist = DISTRIBUTIONS["k3s"]
    cp = dist.control_plane(api, tmp_path)
    ok(cp.ctl("stop", "k3s"))
    before = set(token_ids(api))
    refused = run(cp.paths["bin"], "token", "create", "--ttl", "15m")
    assert refused.returncode != 0 and "not running" in refused.stderr
    assert set(token_ids(api)) == before
