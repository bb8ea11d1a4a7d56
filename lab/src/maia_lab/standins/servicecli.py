# The shared part of the stand-ins of distributions that run as a systemd service (k3s, k0s, rke2).
# STAND-IN helpers. Standard library only (PyYAML when it is there, for settings files): it runs
# with the host's system python3. The installer (maia_lab.standins.hoststate.build_cli) puts this
# text in place of the CLI's import line of this module, after hostcli's text, so it uses
# hostcli's load/save/fail there; the import below is for reading it here.
import json
import os
import signal
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

from maia_lab.standins.hostcli import fail, load, record, save  # noqa: F401  (inlined before this text)


def read_settings(path):
    """The YAML mapping in ``path`` ({} when it does not exist); fails on a file that is no mapping."""
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        import yaml
    except ImportError:
        return {"<unparsed>": text}
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        fail(f"{path}: not a mapping")
    return data


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)


def api_call(state, method, path, body, content_type="application/json"):
    """One request to the Kubernetes API stand-in whose kubeconfig the state holds; its status."""
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


def node_args(settings):
    """The server's arguments as k3s and rke2 record them on the Node: `server`, then each
    setting as flags."""
    args = ["server"]
    for key, value in sorted(settings.items()):
        for item in value if isinstance(value, list) else [value]:
            args += [f"--{key}", str(item)]
    return args


def register_node(state, name, annotations=None):
    """The host's Node, Ready, with the control-plane labels the distribution gives its server."""
    meta = {"name": name,
            "labels": {"kubernetes.io/hostname": name, "node-role.kubernetes.io/control-plane": "true",
                       "node-role.kubernetes.io/master": "true"},
            "annotations": annotations or {}}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": meta,
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    if api_call(state, "POST", "/api/v1/nodes", node) == 409:
        api_call(state, "PATCH", f"/api/v1/nodes/{name}", {"metadata": meta}, "application/merge-patch+json")


def server_started(state, name, settings):
    """What a k3s or rke2 server writes when it starts (``name``: k3s, rke2): the server CA
    (``<data-dir>/server/tls/server-ca.crt``, ``.key``), the admin kubeconfig
    (``<config-dir>/<name>.yaml``, the API stand-in's, mode ``write-kubeconfig-mode``), and its
    Node in the API stand-in with the server's arguments as ``<name>.io/node-args``; the state
    records the start and the settings it read."""
    paths = state["paths"]
    tls = os.path.join(paths["data_dir"], "server", "tls")
    write(os.path.join(tls, "server-ca.crt"), state["ca"]["crt"], 0o644)
    write(os.path.join(tls, "server-ca.key"), state["ca"]["key"], 0o600)
    write(os.path.join(paths["config_dir"], f"{name}.yaml"), state["kubeconfig"],
          int(str(settings.get("write-kubeconfig-mode") or "0600"), 8))
    register_node(state, settings.get("node-name") or state["hostname"],
                  {f"{name}.io/node-args": json.dumps(node_args(settings))})
    state.update(active=True, settings_at_start=settings)
    state["starts"] = state.get("starts", 0) + 1


def notify_ready():
    """Under a real systemd with a Type=notify unit, tell it the server is up (READY=1 on
    $NOTIFY_SOCKET, as sd_notify does). Without the socket, nothing."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1")


def serve(start, argv):
    """The service's ExecStart under a real systemd: start (``start(state, argv)``), then run
    until SIGTERM, marked inactive on the way out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        state = load()
        start(state, argv)
        save(state)
        notify_ready()
        while True:
            time.sleep(3600)
    finally:
        state = load()
        state["active"] = False
        save(state)


def kubectl_get_nodes(state, argv, node_name, roles, version):
    """``<cli> kubectl [--kubeconfig FILE] get nodes [--no-headers]`` as kubectl prints it;
    None when ``argv`` is another command."""
    if "--kubeconfig" in argv:
        at = argv.index("--kubeconfig")
        if not os.path.exists(argv[at + 1]):
            fail(f"error: stat {argv[at + 1]}: no such file or directory")
        argv = argv[:at] + argv[at + 2:]
    if argv[:3] != ["kubectl", "get", "nodes"]:
        return None
    if not state.get("active"):
        fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
    if "--no-headers" not in argv:
        print("NAME   STATUS   ROLES                  AGE   VERSION")
    print(f"{node_name}   Ready    {roles}   1m    {version}")
    return 0


def server_kubectl(state, argv, roles, version, program):
    """``kubectl get nodes`` of a k3s or rke2 server (``argv`` from ``kubectl``): its Node by the
    name it started with; any other command fails naming ``program``."""
    settings = state.get("settings_at_start") or {}
    done = kubectl_get_nodes(state, argv, settings.get("node-name") or state["hostname"], roles, version)
    if done is not None:
        return done
    fail(f"{program} stand-in: unknown command {' '.join(argv)}")
    return 1


def systemctl_main(argv, unit_name, start):
    """`systemctl` for a host without systemd, for the one unit ``unit_name``: daemon-reload,
    is-enabled, is-active, enable, disable, start, restart, stop; ``start(state, None)`` is what
    the service does when it starts."""
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
    if unit != unit_name or not os.path.exists(unit_file):
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
            start(state, None)
    elif cmd == "restart":
        state["restarts"] = state.get("restarts", 0) + (1 if state.get("active") else 0)
        start(state, None)
    elif cmd == "stop":
        state["active"] = False
        state["stops"] = state.get("stops", 0) + 1
    else:
        fail(f"systemctl stand-in: unknown command {cmd}")
    save(state)
    return 0


def dispatch(unit_name, start, distribution_main):
    """The executable's entry point: each call logged, then `systemctl` (for ``unit_name``) or the
    distribution's own command line, by the name it is called by."""
    prog = os.path.basename(sys.argv[0])
    record(prog, sys.argv[1:])
    if prog == "systemctl":
        return systemctl_main(sys.argv[1:], unit_name, start)
    return distribution_main(sys.argv[1:])
