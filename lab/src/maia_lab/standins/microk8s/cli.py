#!/usr/bin/env python3
"""MicroK8s stand-in: the `snap` and `microk8s` commands the maia.k8s formulas call.

STAND-IN. This machine (and the lab hosts) cannot run snapd or MicroK8s, so the
test harness installs this one file twice, as `snap` and as `microk8s`; it
dispatches on the name it is called by. The formulas never install it.

Standard library only: it runs with the lab host's system python3.

State lives in one JSON file (STATE_FILE below, filled in by the installer, or
the environment variable MAIA_STANDIN_MICROK8S_STATE). Every call is appended
to `calls.jsonl` beside it so tests can assert which commands ran.

Emulated:
  snap list [--unicode=never] [--color=never] [NAME]
  snap install NAME [--channel=C] [--classic]
  snap refresh [--hold|--unhold] NAME [--channel=C]
  snap remove NAME [--purge]         --purge: the snap's data (certs, addons, datastore) and its CA are
                                     gone, as on a rebuilt host; the next install makes a new CA (openssl)
  microk8s status [--wait-ready] [--timeout N] [--format yaml]
  microk8s enable|disable ADDON...
  microk8s start | stop
  microk8s config
  microk8s dbctl [--debug] backup [-o NAME]   NAME.tar.gz: a real gzip tar whose datastore is this state
  microk8s dbctl [--debug] restore FILE       the state of such a file back (the kubeconfig and files stay)
  microk8s refresh-certs CA_DIR      the CA replaced by CA_DIR's ca.crt and ca.key (MicroK8s' way to
                                     run on a CA of one's own), then a restart
  microk8s add-node --token T --token-ttl S    T (32 characters) as a bootstrap token for S seconds
  microk8s join HOST:25000/T[/HASH] --worker   joins as a worker (joincli.join_node), once T is valid
                                     or the Node is there; a worker host's stand-in (awaiting_join)
                                     registers no Node before
  microk8s leave | remove-node NAME [--force] | kubectl get nodes -o json | kubectl delete node NAME
Files laid down by `snap install microk8s` (under the state's snap_root):
  microk8s/<rev>/args/kube-apiserver, microk8s/<rev>/certs/ca.crt, ca.key,
  microk8s/current -> <rev>, microk8s/common/
"""
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from maia_lab.standins.hostcli import fail, load, record, save  # the installer puts hostcli.py here
from maia_lab.standins.joincli import api_request, node_ready
from maia_lab.standins.microk8s.cluster import CLUSTER_COMMANDS

REVISION = "8148"
VERSION = "v1.34.1"
KNOWN_ADDONS = [
    "cert-manager", "dashboard", "dns", "gpu", "helm", "helm3", "hostpath-storage",
    "ingress", "metallb", "metrics-server", "observability", "rbac", "registry", "storage",
]
DEFAULT_APISERVER_ARGS = """--cert-dir=${SNAP_DATA}/certs
--service-cluster-ip-range=10.152.183.0/24
--authorization-mode=RBAC,Node
--service-account-key-file=${SNAP_DATA}/certs/serviceaccount.key
--client-ca-file=${SNAP_DATA}/certs/ca.crt
--tls-cert-file=${SNAP_DATA}/certs/server.crt
--tls-private-key-file=${SNAP_DATA}/certs/server.key
--secure-port=16443
--etcd-servers=unix://${SNAP_DATA}/var/kubernetes/backend/kine.sock:12379
--kubelet-client-certificate=${SNAP_DATA}/certs/apiserver-kubelet-client.crt
--kubelet-client-key=${SNAP_DATA}/certs/apiserver-kubelet-client.key
--allow-privileged=true
--service-account-issuer='https://kubernetes.default.svc'
--service-account-signing-key-file=${SNAP_DATA}/certs/serviceaccount.key
"""


# what the snap ships as args/containerd-env (its comments shortened): containerd sources it
DEFAULT_CONTAINERD_ENV = """\
# To start containerd behind a proxy you need to add an HTTPS_PROXY
# environment variable in this file. HTTPS_PROXY is of the following format:
#   HTTPS_PROXY=http://username:password@proxy:port/
#HTTPS_PROXY=http://squid.internal:3128
#
# Attempt to change the maximum number of open file descriptors
ulimit -n 65536 || true
# Attempt to change the maximum locked memory limit
ulimit -l 16384 || true
"""


def containerd_env(state):
    """The variables containerd would get from args/containerd-env (``KEY=value`` lines)."""
    path = os.path.join(snap_dir(state), "current", "args", "containerd-env")
    env = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
                if match:
                    env[match.group(1)] = match.group(2)
    return env


def snap_dir(state):
    return os.path.join(state["snap_root"], "microk8s")


# ---------------------------------------------------------------- snap ----

def lay_down_files(state):
    base = snap_dir(state)
    rev_dir = os.path.join(base, REVISION)
    for sub in ("args", "certs"):
        os.makedirs(os.path.join(rev_dir, sub), exist_ok=True)
    os.makedirs(os.path.join(base, "common"), exist_ok=True)
    current = os.path.join(base, "current")
    if not os.path.islink(current):
        os.symlink(REVISION, current)
    for name, text in (("kube-apiserver", DEFAULT_APISERVER_ARGS), ("containerd-env", DEFAULT_CONTAINERD_ENV)):
        if not os.path.exists(os.path.join(rev_dir, "args", name)):
            with open(os.path.join(rev_dir, "args", name), "w", encoding="utf-8") as fh:
                fh.write(text)
    for name in ("ca.crt", "ca.key"):
        with open(os.path.join(rev_dir, "certs", name), "w", encoding="utf-8") as fh:
            fh.write(state["ca"][name])
        os.chmod(os.path.join(rev_dir, "certs", name), 0o600 if name.endswith("key") else 0o644)


def new_ca():
    """A new self-signed CA, as `snap install microk8s` makes on a host without one (openssl comes
    with ca-certificates)."""
    with tempfile.TemporaryDirectory() as folder:
        crt, key = os.path.join(folder, "ca.crt"), os.path.join(folder, "ca.key")
        proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                               "-subj", "/CN=10.152.183.1", "-keyout", key, "-out", crt], capture_output=True, text=True)
        if proc.returncode != 0:
            fail(f"stand-in: openssl could not make the new CA: {proc.stderr.strip()}")
        ca = {}
        for name, path in (("ca.crt", crt), ("ca.key", key)):
            with open(path, encoding="utf-8") as fh:
                ca[name] = fh.read()
    return ca


def launch_config_addons(path):
    """The addon names of a MicroK8s launch configuration (`addons: - name: X`)."""
    names, in_addons = [], False
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if re.match(r"^addons:\s*$", line):
                in_addons = True
                continue
            if in_addons and re.match(r"^\S", line):
                in_addons = False
            m = re.match(r"^\s*-\s*name:\s*['\"]?([\w.-]+)", line) if in_addons else None
            if m:
                names.append(m.group(1))
    return names


def snap_main(argv):
    state = load()
    args = [a for a in argv if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) if "=" in a else (a[2:], True) for a in argv if a.startswith("--"))
    if not args:
        fail("usage: snap <command>")
    cmd, rest = args[0], args[1:]
    snaps = state.setdefault("snaps", {})
    if cmd == "list":
        wanted = [n for n in rest if n in snaps] if rest else sorted(snaps)
        if rest and not wanted:
            fail(f"error: no matching snaps installed")
        print("Name      Version  Rev   Tracking     Publisher   Notes")
        for name in wanted:
            s = snaps[name]
            notes = ",".join(n for n in ("classic" if s["classic"] else "", "held" if s["held"] else "") if n) or "-"
            print(f"{name}  {s['version']}  {s['revision']}  {s['channel']}  canonical**  {notes}")
        return 0
    if cmd == "install":
        name = rest[0]
        if name in snaps:
            print(f'snap "{name}" is already installed, see \'snap help refresh\'')
            return 0
        if name != "microk8s":
            fail(f'error: snap "{name}" not found')
        if not opts.get("classic"):
            fail('error: This revision of snap "microk8s" was published using classic confinement '
                 "and thus may perform arbitrary system changes outside of the security sandbox "
                 "that snaps are usually confined to, which may put your system at risk.")
        channel = opts.get("channel", "latest/stable")
        if "/" not in channel:
            channel = f"{channel}/stable" if channel[0].isdigit() else f"latest/{channel}"
        launch = os.path.join(snap_dir(state), "common", ".microk8s.yaml")
        state["launch_config_at_install"] = None
        if os.path.exists(launch):
            with open(launch, encoding="utf-8") as fh:
                state["launch_config_at_install"] = fh.read()
            for addon in launch_config_addons(launch):
                state.setdefault("addons", {})[addon] = True
        snaps[name] = {"version": VERSION, "revision": REVISION, "channel": channel,
                       "classic": True, "held": False}
        if not state.get("ca"):
            state["ca"] = new_ca()
        lay_down_files(state)
        state.setdefault("addons", {}).setdefault("ha-cluster", True)
        microk8s_start(state)
        save(state)
        print(f"microk8s ({channel}) {VERSION} from Canonical** installed")
        return 0
    if cmd == "refresh":
        name = rest[0] if rest else None
        if name not in snaps:
            fail(f'error: snap "{name}" is not installed')
        if opts.get("hold"):
            snaps[name]["held"] = True
            print(f"General refreshes of \"{name}\" held indefinitely")
        elif opts.get("unhold"):
            snaps[name]["held"] = False
            print(f"Removed general refreshes hold of \"{name}\"")
        elif opts.get("channel"):
            snaps[name]["channel"] = opts["channel"]
            state["restarts"] = state.get("restarts", 0) + 1
            print(f"{name} ({opts['channel']}) {VERSION} refreshed")
        else:
            print(f"snap \"{name}\" has no updates available")
        save(state)
        return 0
    if cmd == "remove":
        name = rest[0]
        if name not in snaps:
            print(f'snap "{name}" is not installed')
            return 0
        del snaps[name]
        state["running"] = False
        if opts.get("purge"):
            shutil.rmtree(snap_dir(state), ignore_errors=True)
            state.update(addons={}, ca=None)
        save(state)
        print(f"{name} removed")
        return 0
    fail(f'error: unknown command "{cmd}" (MicroK8s stand-in)')
    return 1


# ------------------------------------------------------------ microk8s ----

def register_node(state):
    """Create this host's Node object in the Kubernetes API stand-in (kubelet's job). A host that
    waits to join a cluster (a worker host's fresh MicroK8s, whose own one-node cluster is not the
    API stand-in's) registers nothing."""
    if state.get("awaiting_join"):
        return
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": state["hostname"], "labels": {"kubernetes.io/hostname": state["hostname"],
                                                               "microk8s.io/cluster": "true"}}}
    status, _ = api_request(state, "POST", "/api/v1/nodes", node)
    if status in (201, 409):
        status = node_ready(state, state["hostname"])
    if status not in (None, 200):
        sys.stderr.write(f"stand-in: node registration failed: HTTP {status}\n")


def microk8s_start(state):
    state["running"] = True
    state["starts"] = state.get("starts", 0) + 1
    state["containerd_env_at_start"] = containerd_env(state)
    register_node(state)


def status_yaml(state):
    out = ["microk8s:", f"  running: {'true' if state.get('running') else 'false'}",
           "high-availability:", "  enabled: false", "  nodes:",
           f"  - address: {state.get('address', '127.0.0.1')}:19001", "    role: voter",
           "addons:"]
    enabled = state.get("addons", {})
    for name in sorted(set(KNOWN_ADDONS) | set(enabled)):
        out += [f"- name: {name}", "  repository: core", f"  description: {name} addon",
                f"  version: {VERSION}", f"  status: {'enabled' if enabled.get(name) else 'disabled'}"]
    return "\n".join(out) + "\n"


DATASTORE_MEMBER = "backup/datastore.json"


def dbctl(state, argv):
    """`microk8s dbctl backup -o NAME` writes NAME.tar.gz (as the real one does), `restore FILE` reads it."""
    args = [a for a in argv if a != "--debug"]
    if not state.get("running"):
        fail("microk8s is not running. Use microk8s inspect for a deeper inspection.")
    if args[:1] == ["backup"]:
        name = args[args.index("-o") + 1] if "-o" in args else time.strftime("backup-%Y-%m-%d-%H-%M-%S")
        data = json.dumps({"addons": state.get("addons", {}), "revision": REVISION}, sort_keys=True).encode()
        with tarfile.open(f"{name}.tar.gz", "w:gz") as tar:
            info = tarfile.TarInfo(DATASTORE_MEMBER)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        print(f"Backup at {name}.tar.gz")
        return 0
    if args[:1] == ["restore"] and len(args) == 2:
        try:
            with tarfile.open(args[1], "r:gz") as tar:
                data = json.loads(tar.extractfile(DATASTORE_MEMBER).read())
        except (OSError, KeyError, ValueError, tarfile.TarError) as exc:
            fail(f"cannot restore {args[1]}: {exc}")
        state["addons"] = data["addons"]
        state["restores"] = state.get("restores", 0) + 1
        save(state)
        print(f"Restored {args[1]}")
        return 0
    fail("usage: microk8s dbctl [--debug] backup [-o NAME] | restore FILE")
    return 1


def refresh_certs(state, ca_dir):
    """`microk8s refresh-certs CA_DIR`: the CA of CA_DIR (ca.crt, ca.key) in place of this one."""
    ca = {}
    for name in ("ca.crt", "ca.key"):
        try:
            with open(os.path.join(ca_dir, name), encoding="utf-8") as fh:
                ca[name] = fh.read()
        except OSError as exc:
            fail(f"{ca_dir} must hold ca.crt and ca.key: {exc}")
    state["ca"] = ca
    lay_down_files(state)
    state["restarts"] = state.get("restarts", 0) + 1
    save(state)
    print(f"The CA certificates have been replaced by those of {ca_dir}. MicroK8s restarted.")
    return 0


def microk8s_main(argv):
    state = load()
    if "microk8s" not in state.get("snaps", {}):
        fail("microk8s: command not found", 127)
    if not argv:
        fail("usage: microk8s <command>")
    cmd, rest = argv[0], argv[1:]
    if cmd == "status":
        timeout = 30
        if "--timeout" in rest:
            timeout = int(rest[rest.index("--timeout") + 1])
        ready = state.get("running") and not state.get("never_ready")
        if "--wait-ready" in rest and not ready:
            time.sleep(min(timeout, float(state.get("wait_ready_sleep", 1))))
            fail("microk8s is not running. Use microk8s inspect for a deeper inspection.")
        if not state.get("running"):
            fail("microk8s is not running. Use microk8s inspect for a deeper inspection.")
        if "--format" in rest and rest[rest.index("--format") + 1] == "yaml":
            sys.stdout.write(status_yaml(state))
        else:
            print("microk8s is running")
            for name, on in sorted(state.get("addons", {}).items()):
                print(f"    {name} {'enabled' if on else 'disabled'}")
        return 0
    if cmd in ("enable", "disable"):
        on = cmd == "enable"
        for addon in rest:
            if addon not in KNOWN_ADDONS:
                fail(f"Addon {addon} was not found in any repository")
            if state.setdefault("addons", {}).get(addon, False) == on:
                print(f"Addon {addon} is already {cmd}d")
            else:
                state["addons"][addon] = on
                print(f"{'Enabled' if on else 'Disabled'} {addon}")
        save(state)
        return 0
    if cmd == "start":
        if not state.get("running"):
            microk8s_start(state)
            save(state)
        return 0
    if cmd == "stop":
        state["running"] = False
        state["stops"] = state.get("stops", 0) + 1
        save(state)
        print("Stopped.")
        return 0
    if cmd == "config":
        if not state.get("running"):
            fail("microk8s is not running. Use microk8s inspect for a deeper inspection.")
        sys.stdout.write(state["kubeconfig"])
        return 0
    if cmd == "version":
        print(f"MicroK8s {VERSION} revision {REVISION}")
        return 0
    if cmd == "dbctl":
        return dbctl(state, rest)
    if cmd == "refresh-certs" and len(rest) == 1 and not rest[0].startswith("-"):
        return refresh_certs(state, rest[0])
    if cmd in CLUSTER_COMMANDS:
        return CLUSTER_COMMANDS[cmd](state, rest)
    fail(f"'{cmd}' is not a MicroK8s command known to the stand-in")
    return 1


def main():
    prog = os.path.basename(sys.argv[0])
    argv = sys.argv[1:]
    record(prog, argv)
    if prog == "snap":
        return snap_main(argv)
    return microk8s_main(argv)


if __name__ == "__main__":
    sys.exit(main())
