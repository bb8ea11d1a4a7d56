"""Worker hosts on a 3-host `maia lab` (systemd-nspawn): maia-node-0 is the control plane,
maia-node-1 and maia-node-2 are in the inventory group `workers` (`maia lab up --standins --workers 2`).
For each distribution in turn (MicroK8s, k3s, rke2, k0s), on the same lab: `maia install --ssh
--stages k8s` joins both workers, a re-run changes nothing, a worker's agent binary changed by hand
is restored and that agent alone restarted (k3s, rke2, k0s), and `maia remove-host maia-node-2` takes
one out (it leaves, its node is deleted, the inventory loses it).

STAND-INS (docs/standins.md, "Worker hosts"): the lab hosts cannot run MicroK8s, k3s, rke2 or k0s, so
each distribution's stand-in answers the CLIs maia-salt calls (`token create`, `add-node --token`,
`join --worker`, the agents, `kubectl get/delete node`, `leave`); the Kubernetes API is the API
stand-in, where a token is a bootstrap-token Secret that a worker's agent must present to register
its Node. Real: salt-ssh to the hosts, the orchestration, the sealed hand-over of each token
(X25519 + AES-GCM between the worker and the control plane), the files the join writes, the host's
systemd running the agents' units.

Stage 2 only (`--stages k8s`, with UFW and the NFS parts off: stage 1 does not run here, CI time): the
node ports are render-tested (tests/k8s/test_k8s_worker_render.py). Between distributions the
inventory gets maia-node-2 back and maia-node-1's node of the previous distribution is deleted in
the API stand-in (the lab keeps one API stand-in for every distribution).
"""
import base64
import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from support.install_output import maia_install, run_maia
from support.lab import session_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

DISTRIBUTIONS = ("microk8s", "k3s", "rke2", "k0s")
WORKERS = ("maia-node-1", "maia-node-2")
# stage 1 does not run: no UFW, no NFS server; the stand-ins are ready within a second
PILLAR = json.dumps({"maia": {"prepare": {"ufw": False, "nfs": False},
                              "k8s": {"wait_ready": {"retries": 150, "interval": 1}}}})
TOKEN_FILES = {"k3s": "/etc/rancher/k3s/join-token", "rke2": "/etc/rancher/rke2/join-token",
               "k0s": "/etc/k0s/worker-token"}
# the agents' binaries (k3s' and k0s' release files, rke2's from its tarball): changed by hand on one
# worker, the next run restores it and restarts that worker's agent, and no other
BINARIES = {"k3s": "/usr/local/bin/k3s", "rke2": "/usr/local/bin/rke2", "k0s": "/usr/local/bin/k0s"}


@pytest.fixture(scope="module")
def lab():
    yield from session_lab(os.environ.get("MAIA_LAB_TEST_K8S_WORKERS_NAME", "pytest-k8s-workers"),
                           hosts=3, standins=True, workers=2)


def agent_starts(lab, host, distribution):
    """How often the host's agent unit of ``distribution`` started (the stand-in's record)."""
    state = json.loads(lab.ssh(host, f"cat /var/lib/maia-standins/{distribution}/state.json").stdout)
    return (state.get("agent") or {}).get("starts", 0)


def core_api(lab):
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=lab.path("standins", "kube-api", "kubeconfig")))


def nodes(lab):
    """{name: (Ready, labels)} of the API stand-in's Nodes."""
    out = {}
    for node in core_api(lab).list_node().items:
        ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
        out[node.metadata.name] = (ready, node.metadata.labels or {})
    return out


def join_tokens(lab):
    """The secret halves of the bootstrap tokens the control plane made (the values that must
    never show in an output or a log)."""
    tokens = {}
    for secret in core_api(lab).list_namespaced_secret("kube-system").items:
        if secret.type == "bootstrap.kubernetes.io/token":
            tokens[secret.metadata.name] = base64.b64decode(secret.data["token-secret"]).decode()
    return tokens


@pytest.fixture(scope="module")
def runs(lab):
    folder = Path(lab.path("config"))
    inventory = (folder / "inventory.yaml").read_text()
    cluster_yaml = folder / f"{lab.state['cluster_name']}.yaml"
    out, tokens = {}, {}
    for distribution in DISTRIBUTIONS:
        cluster = yaml.safe_load(cluster_yaml.read_text())
        cluster_yaml.write_text(yaml.safe_dump({**cluster, "k8s_distribution": distribution}, sort_keys=False))
        run = {"first": maia_install(lab, "--ssh", "--stages", "k8s", "--pillar", PILLAR)}
        run["nodes"] = nodes(lab)
        run["token_files"] = {w: lab.ssh(w, f"stat -c %a {TOKEN_FILES[distribution]}").stdout.strip()
                              for w in WORKERS if distribution in TOKEN_FILES}
        run["second"] = maia_install(lab, "--ssh", "--stages", "k8s", "--pillar", PILLAR)
        if distribution in BINARIES:
            before = {w: agent_starts(lab, w, distribution) for w in WORKERS}
            lab.ssh("maia-node-1", f"echo '# changed by hand' >> {BINARIES[distribution]}")
            run["binary_changed"] = maia_install(lab, "--ssh", "--stages", "k8s", "--pillar", PILLAR)
            run["agent_starts"] = (before, {w: agent_starts(lab, w, distribution) for w in WORKERS})
        run["removed"] = run_maia("remove-host", "maia-node-2", "-c", lab.dir, "--ssh", "--pillar", PILLAR,
                                  timeout=900)
        run["nodes_after_remove"] = nodes(lab)
        run["inventory_after_remove"] = yaml.safe_load((folder / "inventory.yaml").read_text())
        if distribution in TOKEN_FILES:
            run["token_file_left"] = lab.ssh("maia-node-2", f"ls {TOKEN_FILES[distribution]}", check=False).returncode
        run["worker_calls"] = lab.ssh("maia-node-2", f"cat /var/lib/maia-standins/{distribution}/calls.jsonl", check=False).stdout
        tokens.update(join_tokens(lab))
        out[distribution] = run
        # the next distribution starts from two workers again
        (folder / "inventory.yaml").write_text(inventory)
        core_api(lab).delete_node("maia-node-1")
    out["tokens"] = tokens
    return out


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_both_workers_join_as_ready_worker_nodes(runs, distribution):
    run = runs[distribution]
    assert run["first"].returncode == 0, run["first"].text
    rows = run["first"].summary_rows()
    assert rows[("workers", "maia-node-1")].failed == 0 and rows[("workers", "maia-node-2")].failed == 0
    assert rows[("join", "maia-node-0")].changed == 1, run["first"].text
    for worker in WORKERS:
        ready, labels = run["nodes"][worker]
        assert ready, (worker, run["nodes"])
        assert "node-role.kubernetes.io/control-plane" not in labels, labels
    # the token file the agent reads: 0600, written by the join
    assert set(run["token_files"].values()) <= {"600"}


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_a_rerun_changes_nothing(runs, distribution):
    second = runs[distribution]["second"]
    assert second.returncode == 0, second.text
    rows = second.summary_rows()
    assert {row for row in rows if row[0] in ("workers", "join")} == {
        ("workers", "maia-node-1"), ("workers", "maia-node-2"), ("join", "maia-node-0")}
    assert {key: row.changed for key, row in rows.items() if row.changed} == {}, second.stdout


@pytest.mark.parametrize("distribution", sorted(BINARIES))
def test_a_changed_agent_binary_is_restored_and_restarts_only_that_agent(runs, distribution):
    """The worker's agent restarts when its binary (or settings, unit, environment) changed, once
    it joined; the other worker's agent, unchanged, keeps running."""
    run = runs[distribution]
    assert run["binary_changed"].returncode == 0, run["binary_changed"].text
    changed = {key for key, row in run["binary_changed"].summary_rows().items() if row.changed}
    assert changed == {("workers", "maia-node-1")}, run["binary_changed"].stdout
    before, after = run["agent_starts"]
    assert before["maia-node-1"] >= 1
    assert after == {"maia-node-1": before["maia-node-1"] + 1, "maia-node-2": before["maia-node-2"]}


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_remove_host_takes_a_worker_out_of_the_cluster_and_the_inventory(runs, distribution):
    run = runs[distribution]
    assert run["removed"].returncode == 0, run["removed"].stdout + run["removed"].stderr
    assert "maia-node-2" not in run["nodes_after_remove"] and "maia-node-1" in run["nodes_after_remove"]
    assert "maia-node-2" not in run["inventory_after_remove"]["hosts"]
    calls = [json.loads(line) for line in run["worker_calls"].splitlines() if line.strip()]
    if distribution == "microk8s":
        assert {"cmd": "microk8s", "args": ["leave"]}.items() <= calls[-1].items(), calls[-3:]
    else:
        assert run["token_file_left"] != 0  # the join token is gone from the worker


def test_no_join_token_in_any_output_or_log(runs, lab):
    """Every token the control planes made (bootstrap-token Secrets in the API stand-in) is absent
    from what the commands printed, the lab master's logs and its job cache."""
    from support.secrets import JOB_DIRS, find_secrets

    assert len(runs["tokens"]) >= 2 * len(DISTRIBUTIONS)
    texts = {}
    for distribution in DISTRIBUTIONS:
        for step in ("first", "second", "binary_changed", "removed"):
            if step in runs[distribution]:
                texts[f"{distribution} {step}"] = runs[distribution][step].stdout + runs[distribution][step].stderr
    places = [Path(lab.path("salt", "log")), *(Path(lab.path("salt", "cache", d)) for d in JOB_DIRS)]
    assert find_secrets(runs["tokens"], places, texts) == []
