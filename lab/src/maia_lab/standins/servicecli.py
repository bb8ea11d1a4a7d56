# The shared part of the stand-ins of distributions that run as a systemd service (k3s, k0s, rke2).
# STAND-IN helpers. Standard library only (PyYAML when it is there, for settings files): it runs
# with the host's system python3. The installer (maia_lab.standins.hoststate.build_cli) puts this
# text in place of the CLI's import line of this module, after hostcli's text, so it uses
# hostcli's load/save/fail there; the import below is for reading it here.
import hashlib
import json
import os
import re
import signal
import socket
import sys
import time

from maia_lab.standins.hostcli import fail, load, record, save  # noqa: F401  (inlined before this text)
from maia_lab.standins.joincli import api_request, create_token, join_node, kubectl_nodes, node_ready, parse_duration


def _scalar(text):
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return int(text) if text.isdigit() and (text == "0" or not text.startswith("0")) else text


def flat_yaml(text):
    """The YAML the settings files hold, for a host without PyYAML (a lab host's system python3): a
    mapping of scalars and lists of scalars (block or flow); None for anything else (nesting)."""
    data, key = {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("- ") and isinstance(data.get(key), list):
            data[key].append(_scalar(line.lstrip()[2:]))
            continue
        match = re.match(r"""^("[^"]+"|'[^']+'|[\w./-]+):(?:\s+(.*?))?\s*$""", line)
        if not match:
            return None
        key, value = _scalar(match[1]), match[2]
        if not value:
            data[key] = []
        elif value.startswith("[") and value.endswith("]"):
            data[key] = [_scalar(item) for item in value[1:-1].split(",") if item.strip()]
        else:
            data[key] = _scalar(value)
    return data


def read_settings(path):
    """The YAML mapping in ``path`` ({} when it does not exist); fails on a file that is no mapping."""
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        import yaml
    except ImportError:
        data = flat_yaml(text)
        return {"<unparsed>": text} if data is None else data
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        fail(f"{path}: not a mapping")
    return data


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)


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
    node = {"apiVersion": "v1", "kind": "Node", "metadata": meta}
    if api_request(state, "POST", "/api/v1/nodes", node)[0] == 409:
        api_request(state, "PATCH", f"/api/v1/nodes/{name}", {"metadata": meta}, "application/merge-patch+json")
    node_ready(state, name)


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


def unit_record(state, key):
    """Where the state keeps a unit's bookkeeping (enabled, active, starts, restarts, stops): the
    state itself for the server's unit (``key`` None), ``state[key]`` for another (the agent's)."""
    return state if key is None else state.setdefault(key, {})


def serve(start, argv, key=None):
    """The service's ExecStart under a real systemd: start (``start(state, argv)``), then run
    until SIGTERM, marked inactive (in ``unit_record(state, key)``) on the way out. A start that
    fails exits non-zero with its message, before systemd hears READY=1."""
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
        unit_record(state, key)["active"] = False
        save(state)


def exec_args(state, unit):
    """The arguments of the installed ``unit``'s ExecStart (after the binary); [] without one."""
    path = os.path.join(state["paths"]["unit_dir"], f"{unit}.service")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("ExecStart="):
                return line[len("ExecStart="):].split()[1:]
    return []


def kubectl_get_nodes(state, argv, node_name, roles, version):
    """``<cli> kubectl [--kubeconfig FILE] get nodes [--no-headers]`` as kubectl prints it, and
    ``get nodes -o json`` and ``delete node NAME`` from the API stand-in (joincli.kubectl_nodes);
    None when ``argv`` is another command."""
    if "--kubeconfig" in argv:
        at = argv.index("--kubeconfig")
        if not os.path.exists(argv[at + 1]):
            fail(f"error: stat {argv[at + 1]}: no such file or directory")
        argv = argv[:at] + argv[at + 2:]
    if argv[:1] != ["kubectl"] or argv[1:3] not in (["get", "nodes"], ["delete", "node"], ["delete", "nodes"]):
        return None
    if not state.get("active"):
        fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
    done = kubectl_nodes(state, argv[1:])
    if done is not None or argv[1] == "delete":
        return done
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


def ca_hash(state):
    """The sha256 of the cluster CA, as k3s and rke2 put it into their tokens (``K10<hash>::``)."""
    return hashlib.sha256(state["ca"]["crt"].encode()).hexdigest()


def token_create(state, argv, program):
    """``<k3s|rke2> token create [--ttl D] [--description TEXT]`` on a running server: a bootstrap
    token in the API stand-in, printed in the server's full form ``K10<CA hash>::<id>.<secret>``."""
    if not state.get("active"):
        fail(f"{program}: failed to create token: the server is not running")
    opts = dict(zip(argv[::2], argv[1::2]))
    ttl = parse_duration(opts.get("--ttl", "24h"))
    token_id, token_secret = create_token(state, ttl, opts.get("--description", f"{program} join token"))
    print(f"K10{ca_hash(state)}::{token_id}.{token_secret}")
    return 0


def agent_started(state, name, settings, argv=None):
    """What a k3s or rke2 agent does when it starts (``name``: k3s, rke2): ``server`` and the token
    (``token``, or ``token-file``) from its settings; the token's CA hash must be this cluster's
    (k3s' check against the server's CA), its bootstrap token valid (or the Node there already);
    then its Node registered (no control-plane role), ``<data-dir>/agent/`` written and the
    agent's start recorded in ``state["agent"]`` (settings without a token value)."""
    program = f"{name} agent"
    if not str(settings.get("server") or "").startswith("https://"):
        fail(f"{program}: --server is required (https://<server>:<port>)")
    token = settings.get("token")
    if not token and settings.get("token-file"):
        try:
            with open(settings["token-file"], encoding="utf-8") as fh:
                token = fh.read().strip()
        except OSError as exc:
            fail(f"{program}: failed to read token file: {exc}")
    if not token:
        fail(f"{program}: --token or --token-file is required")
    prefix, sep, creds = token.partition("::")
    if sep and prefix != f"K10{ca_hash(state)}":
        fail(f"{program}: token CA hash does not match the Cluster CA certificate hash")
    node = settings.get("node-name") or state["hostname"]
    join_node(state, node, creds if sep else token, {"node.kubernetes.io/instance-type": name}, program)
    write(os.path.join(state["paths"]["data_dir"], "agent", "server-ca.crt"), state["ca"]["crt"], 0o644)
    rec = unit_record(state, "agent")
    rec.update(active=True, node=node, server=settings["server"], args_at_start=argv or [],
               settings_at_start={k: ("<masked>" if k == "token" else v) for k, v in settings.items()})
    rec["starts"] = rec.get("starts", 0) + 1


def _start_unit(state, start, unit):
    """``start(state, None)`` as systemd's start job: a start that fails (exits) is systemd's
    "Job ... failed" (exit 1), with the state saved as it was."""
    try:
        start(state, None)
    except SystemExit as exc:
        if exc.code:
            save(state)
            fail(f"Job for {unit}.service failed because the control process exited with error code.")
        raise


def systemctl_main(argv, units):
    """`systemctl` for a host without systemd, for the units ``units`` ({name: (start, key)}):
    daemon-reload, is-enabled, is-active, enable, disable (both with --now), start, restart, stop;
    ``start(state, None)`` is what the service does when it starts, ``key`` where the state keeps
    the unit's bookkeeping (``unit_record``)."""
    state = load()
    if not argv:
        fail("usage: systemctl COMMAND [UNIT]")
    cmd, units_named = argv[0], [u.removesuffix(".service") for u in argv[1:] if not u.startswith("-")]
    if cmd == "daemon-reload":
        state["daemon_reloads"] = state.get("daemon_reloads", 0) + 1
        save(state)
        return 0
    unit = units_named[0] if units_named else ""
    unit_file = os.path.join(state["paths"]["unit_dir"], f"{unit}.service")
    if unit not in units or not os.path.exists(unit_file):
        if cmd == "is-enabled":
            print("not-found")
            fail(f"Failed to get unit file state for {unit}.service: No such file or directory")
        if cmd == "is-active":
            print("inactive")
            return 3
        fail(f"Failed to {cmd} {unit}.service: Unit {unit}.service not found.", 5)
    if not os.path.exists(state["paths"]["bin"]):
        fail(f"{unit}.service: ExecStart binary {state['paths']['bin']} is missing", 1)
    start, key = units[unit]
    rec = unit_record(state, key)
    if cmd == "is-enabled":
        print("enabled" if rec.get("enabled") else "disabled")
        return 0 if rec.get("enabled") else 1
    if cmd == "is-active":
        print("active" if rec.get("active") else "inactive")
        return 0 if rec.get("active") else 3
    now = "--now" in argv
    if cmd in ("enable", "disable"):
        rec["enabled"] = cmd == "enable"
    if (cmd == "start" or (cmd == "enable" and now)) and not rec.get("active"):
        _start_unit(state, start, unit)
    elif cmd == "restart":
        rec["restarts"] = rec.get("restarts", 0) + (1 if rec.get("active") else 0)
        _start_unit(state, start, unit)
    elif cmd == "stop" or (cmd == "disable" and now and rec.get("active")):
        rec["active"] = False
        rec["stops"] = rec.get("stops", 0) + 1
    elif cmd not in ("enable", "disable", "start"):
        fail(f"systemctl stand-in: unknown command {cmd}")
    save(state)
    return 0


def dispatch(units, distribution_main):
    """The executable's entry point: each call logged (its secrets masked), then `systemctl` (for
    ``units``, {name: (start, key)}) or the distribution's own command line, by the name it is
    called by."""
    prog = os.path.basename(sys.argv[0])
    record(prog, sys.argv[1:])
    if prog == "systemctl":
        return systemctl_main(sys.argv[1:], units)
    return distribution_main(sys.argv[1:])
