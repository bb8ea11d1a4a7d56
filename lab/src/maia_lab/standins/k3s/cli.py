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
  k3s kubectl [--kubeconfig FILE] get nodes [--no-headers]
  systemctl daemon-reload | is-enabled UNIT | is-active UNIT | enable|disable|start|stop|restart UNIT
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
import hashlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import ssl
import sys
import time
import urllib.error
import urllib.request

from maia_lab.standins.hostcli import fail, load, record, save  # the installer puts hostcli.py here

VERSION = "v1.34.1+k3s1"


def read_settings(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        import yaml
    except ImportError:
        return {"<unparsed>": text}
    return yaml.safe_load(text) or {}


def node_args(settings):
    """The server's arguments as k3s records them: `server`, then each setting as flags."""
    args = ["server"]
    for key, value in sorted(settings.items()):
        for item in value if isinstance(value, list) else [value]:
            args += [f"--{key}", str(item)]
    return args


def api_call(state, method, path, body, content_type="application/json"):
    api = state.get("api") or {}
    if not api.get("server"):
        return None
    req = urllib.request.Request(api["server"].rstrip("/") + path, data=json.dumps(body).encode(),
                                 method=method, headers={"Content-Type": content_type})
    if api.get("token"):
        req.add_header("Authorization", "Bearer " + api["token"])
    ctx = ssl.create_default_context(cadata=api.get("ca_pem") or None) if api["server"].startswith("https") else None
    try:
        return urllib.request.urlopen(req, context=ctx, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        sys.stderr.write(f"stand-in: API stand-in unreachable: {exc}\n")
        return None


def register_node(state, settings):
    name = settings.get("node-name") or state["hostname"]
    meta = {"name": name,
            "labels": {"kubernetes.io/hostname": name, "node-role.kubernetes.io/control-plane": "true",
                       "node-role.kubernetes.io/master": "true"},
            "annotations": {"k3s.io/node-args": json.dumps(node_args(settings))}}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": meta,
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    if api_call(state, "POST", "/api/v1/nodes", node) == 409:
        api_call(state, "PATCH", f"/api/v1/nodes/{name}", {"metadata": meta}, "application/merge-patch+json")


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)


def notify_ready():
    """Under a real systemd (the unit is Type=notify, as k3s' own), tell it the server is up:
    READY=1 on $NOTIFY_SOCKET, as k3s does through sd_notify. Without the socket, nothing."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1")


KINE_TABLE = """CREATE TABLE IF NOT EXISTS kine (id INTEGER PRIMARY KEY AUTOINCREMENT, name INTEGER,
    created INTEGER, deleted INTEGER, create_revision INTEGER, prev_revision INTEGER, lease INTEGER,
    value BLOB, old_value BLOB)"""


def keep_datastore(state, server, node):
    """The server token (first start only, in k3s' `K10<CA hash>::server:<secret>` form) and the
    SQLite datastore, where this start writes the Node's key as a new revision."""
    token = os.path.join(server, "token")
    if not os.path.exists(token):
        ca_hash = hashlib.sha256(state["ca"]["crt"].encode()).hexdigest()
        write(token, f"K10{ca_hash}::server:{secrets.token_hex(16)}\n", 0o600)
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


def start(state):
    """What the k3s server does when it starts (for this stand-in)."""
    paths = state["paths"]
    settings = read_settings(paths["config"])
    if "<unparsed>" not in settings and not isinstance(settings, dict):
        fail(f"{paths['config']}: not a mapping")
    tls = os.path.join(paths["data_dir"], "server", "tls")
    write(os.path.join(tls, "server-ca.crt"), state["ca"]["crt"], 0o644)
    write(os.path.join(tls, "server-ca.key"), state["ca"]["key"], 0o600)
    write(os.path.join(paths["config_dir"], "k3s.yaml"), state["kubeconfig"],
          int(str(settings.get("write-kubeconfig-mode") or "0600"), 8))
    keep_datastore(state, os.path.join(paths["data_dir"], "server"), settings.get("node-name") or state["hostname"])
    register_node(state, settings)
    state.update(active=True, settings_at_start=settings)
    state["starts"] = state.get("starts", 0) + 1


def systemctl_main(argv):
    state = load()
    if not argv:
        fail("usage: systemctl COMMAND [UNIT]")
    cmd, units = argv[0], [u.removesuffix(".service") for u in argv[1:] if not u.startswith("-")]
    if cmd == "daemon-reload":
        state["daemon_reloads"] = state.get("daemon_reloads", 0) + 1
        save(state)
        return 0
    unit = units[0] if units else ""
    unit_file = os.path.join(state["paths"]["unit_dir"], f"{unit}.service")
    if unit != "k3s" or not os.path.exists(unit_file):
        if cmd == "is-enabled":
            print("not-found")
            fail(f"Failed to get unit file state for {unit}.service: No such file or directory")
        if cmd == "is-active":
            print("inactive")
            return 3
        fail(f"Failed to {cmd} {unit}.service: Unit {unit}.service not found.", 5)
    if not os.path.exists(state["paths"]["bin"]):
        fail(f"{unit}.service: ExecStart binary {state['paths']['bin']} is missing", 1)
    if cmd == "is-enabled":
        print("enabled" if state.get("enabled") else "disabled")
        return 0 if state.get("enabled") else 1
    if cmd == "is-active":
        print("active" if state.get("active") else "inactive")
        return 0 if state.get("active") else 3
    if cmd in ("enable", "disable"):
        state["enabled"] = cmd == "enable"
    elif cmd == "start":
        if not state.get("active"):
            start(state)
    elif cmd == "restart":
        state["restarts"] = state.get("restarts", 0) + (1 if state.get("active") else 0)
        start(state)
    elif cmd == "stop":
        state["active"] = False
        state["stops"] = state.get("stops", 0) + 1
    else:
        fail(f"systemctl stand-in: unknown command {cmd}")
    save(state)
    return 0


def k3s_main(argv):
    if argv[:1] in (["--version"], ["-v"]):
        print(f"k3s version {VERSION} (stand-in)")
        return 0
    state = load()
    if argv[:1] == ["server"]:  # ExecStart under a real systemd
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            start(state)
            save(state)
            notify_ready()
            while True:
                time.sleep(3600)
        finally:
            state = load()
            state["active"] = False
            save(state)
    if argv[:1] == ["kubectl"] and "--kubeconfig" in argv:
        at = argv.index("--kubeconfig")
        if not os.path.exists(argv[at + 1]):
            fail(f"error: stat {argv[at + 1]}: no such file or directory")
        argv = argv[:at] + argv[at + 2:]
    if argv[:3] == ["kubectl", "get", "nodes"]:
        if not state.get("active"):
            fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
        settings = state.get("settings_at_start") or {}
        if "--no-headers" not in argv:
            print("NAME   STATUS   ROLES                  AGE   VERSION")
        print(f"{settings.get('node-name') or state['hostname']}   Ready    control-plane,master   1m    {VERSION}")
        return 0
    fail(f"k3s stand-in: unknown command {' '.join(argv)}")
    return 1


def main():
    prog = os.path.basename(sys.argv[0])
    record(prog, sys.argv[1:])
    if prog == "systemctl":
        return systemctl_main(sys.argv[1:])
    return k3s_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
