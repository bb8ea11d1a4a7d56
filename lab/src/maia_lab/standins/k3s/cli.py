#!/usr/bin/env python3
"""k3s stand-in: the `k3s` binary and the `systemctl` that runs its service.

STAND-IN. This machine (and the lab hosts) cannot run k3s. The formula downloads
this file as the k3s release binary (the tests serve it with its sha256) and the
harness installs it a second time as `systemctl` for a host without systemd; it
dispatches on the name it is called by. The formulas never install it by name.

Standard library only (PyYAML when it is there, for the settings file).

Emulated, as k3s and systemd answer them:
  k3s --version | -v
  k3s server [--config FILE]       the service's ExecStart: starts, tells systemd READY=1
                                   (sd_notify protocol, the unit is Type=notify), runs until SIGTERM
  k3s agent [--config FILE]        the agent's ExecStart (k3s-agent.service), the same way; see below
  k3s token create [--ttl D] [--description TEXT]
                                   on a running server: a bootstrap token (Secret
                                   kube-system/bootstrap-token-<id>, expiring after D, default 24h) in
                                   the API stand-in, printed as K10<CA sha256>::<id>.<secret>
  k3s kubectl [--kubeconfig FILE] get nodes [--no-headers] | get nodes -o json | delete node NAME
  systemctl daemon-reload | is-enabled UNIT | is-active UNIT | enable|disable [--now] UNIT
          | start|stop|restart UNIT     (UNIT: k3s, k3s-agent)
An agent start reads its settings file (`server`, `token` or `token-file`, `node-name`), refuses a
token whose CA hash is not this cluster's, and joins with its bootstrap token: valid and unexpired,
or its Node already there (a restart once the token expired), else it fails with the reason. It
registers its Node (Ready, no control-plane role, `node.kubernetes.io/instance-type: k3s`) and writes
`<data-dir>/agent/`; its bookkeeping is the state's `agent`. No token value is logged or kept.
A start reads the settings file (`config.yaml`, the real file's format), writes the
server CA (`<data-dir>/server/tls/server-ca.crt`, `.key`) and the admin kubeconfig
(`<config-dir>/k3s.yaml`, the Kubernetes API stand-in's), keeps what a single k3s server keeps
in its data dir: the server token (`server/token`, made on the first start) and its datastore,
a real SQLite database in kine's layout (`server/db/state.db`, write-ahead log on, as kine opens
it; each start writes the Node's key there), and registers the Node in
the API stand-in with what k3s puts there: the control-plane/master labels and the
annotation `k3s.io/node-args` (the server's arguments, settings file included, as a
JSON list), so the tests see the OIDC flags and the disabled Traefik on the cluster.
Every call is appended to `calls.jsonl` beside the state file.
"""
import json
import os
import secrets
import sqlite3
import sys

from maia_lab.standins.hostcli import load  # the installer puts hostcli.py here
from maia_lab.standins.servicecli import agent_started, ca_hash, dispatch, exec_args, read_settings, serve, server_kubectl, server_started, token_create, write  # noqa: E501

VERSION = "v1.34.1+k3s1"


KINE_TABLE = """CREATE TABLE IF NOT EXISTS kine (id INTEGER PRIMARY KEY AUTOINCREMENT, name INTEGER,
    created INTEGER, deleted INTEGER, create_revision INTEGER, prev_revision INTEGER, lease INTEGER,
    value BLOB, old_value BLOB)"""


def keep_datastore(state, server, node):
    """The server token (first start only, in k3s' `K10<CA hash>::server:<secret>` form) and the
    SQLite datastore, where this start writes the Node's key as a new revision."""
    token = os.path.join(server, "token")
    if not os.path.exists(token):
        write(token, f"K10{ca_hash(state)}::server:{secrets.token_hex(16)}\n", 0o600)
    os.makedirs(os.path.join(server, "db"), mode=0o700, exist_ok=True)
    db = sqlite3.connect(os.path.join(server, "db", "state.db"))
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(KINE_TABLE)
        key = f"/registry/minions/{node}"
        with db:
            db.execute("INSERT INTO kine (name, created, deleted, create_revision, prev_revision, lease, value, "
                       "old_value) VALUES (?, 0, 0, 0, 0, 0, ?, NULL)",
                       (key, json.dumps({"kind": "Node", "metadata": {"name": node}}).encode()))
    finally:
        db.close()


def start(state, _argv=None):
    """What the k3s server does when it starts (for this stand-in)."""
    paths = state["paths"]
    settings = read_settings(paths["config"])
    keep_datastore(state, os.path.join(paths["data_dir"], "server"), settings.get("node-name") or state["hostname"])
    # k3s records the server's arguments on its Node, settings file included
    server_started(state, "k3s", settings)


def start_agent(state, argv=None):
    """What the k3s agent does when it starts: ``argv`` are its arguments (under a real systemd),
    else those of the k3s-agent unit's ExecStart; it reads the settings file they name."""
    args = argv if argv is not None else exec_args(state, "k3s-agent")[1:]
    config = args[args.index("--config") + 1] if "--config" in args[:-1] else state["paths"]["config"]
    agent_started(state, "k3s", read_settings(config), args)


def k3s_main(argv):
    if argv[:1] in (["--version"], ["-v"]):
        print(f"k3s version {VERSION} (stand-in)")
        return 0
    state = load()
    if argv[:1] == ["server"]:  # ExecStart under a real systemd
        serve(start, argv)
    if argv[:1] == ["agent"]:
        serve(start_agent, argv[1:], "agent")
    if argv[:2] == ["token", "create"]:
        return token_create(state, argv[2:], "k3s")
    return server_kubectl(state, argv, "control-plane,master", VERSION, "k3s")


if __name__ == "__main__":
    sys.exit(dispatch({"k3s": (start, None), "k3s-agent": (start_agent, "agent")}, k3s_main))
