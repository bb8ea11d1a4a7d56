#!/usr/bin/env python3
"""k0s stand-in: the `k0s` binary and the `systemctl` that runs its service.

STAND-IN. This machine (and the lab hosts) cannot run k0s. The formula downloads this
file as the k0s release binary (the tests serve it with its sha256) and the harness
installs it a second time as `systemctl` for a host without systemd; it dispatches on
the name it is called by. The formulas never install it by name.

Standard library only (PyYAML when it is there, for the settings file).

Emulated, as k0s and systemd answer them:
  k0s version | --version
  k0s install controller [--single] [--config|-c FILE] [--data-dir DIR] [--force]
        writes /etc/systemd/system/k0scontroller.service as k0s does (its ExecStart: `k0s controller`
        with the given flags as --name=value, sorted), refuses an existing unit without --force,
        then `systemctl enable k0scontroller` and `systemctl daemon-reload`; a settings file that is
        no YAML mapping is refused before anything is written
  k0s controller --config=FILE ...   the service's ExecStart: starts, runs until SIGTERM
  k0s token create --role worker [--expiry D]
        on a running controller: a bootstrap token in the API stand-in (Secret
        kube-system/bootstrap-token-<id>, expiring after D, default 0 = never), printed as k0s does:
        one line of base64 of a gzipped kubeconfig (the API server, its CA, the token as the user's)
  k0s install worker --token-file FILE [--data-dir DIR] [--force]
        writes /etc/systemd/system/k0sworker.service (ExecStart: `k0s worker` and the flags), as
        `install controller` does its unit; refuses a missing token file
  k0s worker --token-file=FILE ...   the worker's ExecStart: joins with the token (valid and
        unexpired, or its Node already there; else it fails with the reason), registers its Node
        (Ready, no control-plane role), writes <data-dir>/kubelet.conf (no credentials), runs until SIGTERM
  k0s kubectl [--kubeconfig FILE] get nodes [--no-headers] | get nodes -o json | delete node NAME
  k0s backup --save-path DIR [--data-dir DIR]
        a running controller's archive DIR/k0s_backup_<UTC time>.tar.gz (a real gzip tar): its
        pki/ and the node config it started with as k0s.yaml (the real one adds the datastore)
  systemctl daemon-reload | is-enabled UNIT | is-active UNIT | enable|disable [--now] UNIT
          | start|stop|restart UNIT       (UNIT: k0scontroller, k0sworker)
A start reads the settings file the unit's ExecStart names (none: k0s' defaults, as the
real k0s does), writes the cluster CA (`<data-dir>/pki/ca.crt`, `.key`) and the admin
kubeconfig (`<data-dir>/pki/admin.conf`, the Kubernetes API stand-in's), and registers the
Node in the API stand-in. What the API server would run with (spec.api.extraArgs as
flags, spec.api.sans) is kept in the state file as `apiserver_args` and `sans`.
Every call is appended to `calls.jsonl` beside the state file.
"""
import base64
import gzip
import json
import os
import subprocess
import sys
import tarfile
import time

from maia_lab.standins.hostcli import fail, load, save  # the installer puts hostcli.py here
from maia_lab.standins.joincli import create_token, join_node, parse_duration
from maia_lab.standins.servicecli import dispatch, exec_args, kubectl_get_nodes, read_settings, register_node, serve, unit_record, write  # noqa: E501

VERSION = "v1.34.2+k0s.0"
UNIT = "k0scontroller"


def flags(argv):
    """``{name: value}`` of ``--name=value``, ``--name value`` and ``-c value`` arguments;
    a flag without a value (``--single``) is ``"true"``."""
    out, index = {}, 0
    while index < len(argv):
        arg = argv[index]
        if arg == "-c":
            arg = "--config"
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if not eq and index + 1 < len(argv) and not argv[index + 1].startswith("-") and name not in (
                    "single", "force", "enable-worker", "no-taints"):
                value, index = argv[index + 1], index + 1
            out[name] = value if (eq or value) else "true"
        index += 1
    return out


def install_unit(state, role, argv):
    """`k0s install controller|worker FLAGS`: the unit k0s writes (ExecStart `k0s <role>` and the
    flags as --name=value, sorted), then `systemctl enable` and `daemon-reload`."""
    unit = UNITS_BY_ROLE[role]
    given = flags(argv)
    force = given.pop("force", None) == "true"
    path = os.path.join(state["paths"]["unit_dir"], f"{unit}.service")
    if os.path.exists(path) and not force:
        fail(f"failed to install {role} service: Init already exists: {path}")
    for name in ("config", "data-dir", "token-file"):
        if name in given:
            given[name] = os.path.abspath(given[name])
    read_settings(given.get("config"))  # k0s validates its node config before it writes anything
    if role == "worker" and not os.path.isfile(given.get("token-file", "")):
        fail(f"failed to install worker service: token file {given.get('token-file')!r} does not exist")
    args = " ".join(f"--{name}={value}" for name, value in sorted(given.items()))
    binary = state["paths"]["bin"]
    write(path, "[Unit]\nDescription=k0s - Zero Friction Kubernetes\nDocumentation=https://docs.k0sproject.io\n"
                f"ConditionFileIsExecutable={binary}\n\nAfter=network-online.target\nWants=network-online.target\n\n"
                f"[Service]\nStartLimitInterval=5\nStartLimitBurst=10\nExecStart={binary} {role} {args}\n\n"
                "RestartSec=10\nDelegate=yes\nKillMode=process\nLimitCORE=infinity\nTasksMax=infinity\n"
                "TimeoutStartSec=0\nLimitNOFILE=999999\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
          0o644)
    rec = state if role == "controller" else unit_record(state, "agent")
    rec["installs"] = rec.get("installs", 0) + 1
    save(state)
    for command in (["enable", f"{unit}.service"], ["daemon-reload"]):
        subprocess.run([state["systemctl"], *command], check=True)
    return 0


def start(state, argv=None):
    """What the k0s controller does when it starts (for this stand-in): ``argv`` are its
    arguments (under a real systemd), else those of the unit's ExecStart."""
    given = flags(argv if argv is not None else exec_args(state, UNIT)[1:])
    settings = read_settings(given.get("config"))
    data_dir = given.get("data-dir") or state["paths"]["data_dir"]
    pki = os.path.join(data_dir, "pki")
    write(os.path.join(pki, "ca.crt"), state["ca"]["crt"], 0o644)
    write(os.path.join(pki, "ca.key"), state["ca"]["key"], 0o600)
    write(os.path.join(pki, "admin.conf"), state["kubeconfig"], 0o600)
    register_node(state, state["hostname"])
    api = (settings.get("spec") or {}).get("api") or {}
    state.update(active=True, args_at_start=given, settings_at_start=settings, sans=api.get("sans") or [],
                 apiserver_args=[f"--{k}={v}" for k, v in sorted((api.get("extraArgs") or {}).items())])
    state["starts"] = state.get("starts", 0) + 1


def token_create(state, argv):
    """`k0s token create --role worker [--expiry D]`: the join token as k0s prints it, base64 of a
    gzipped kubeconfig whose user's token is the bootstrap token."""
    given = flags(argv)
    if given.get("role", "worker") != "worker":
        fail("the stand-in makes worker tokens only (--role worker)")
    if not state.get("active"):
        fail("failed to create token: k0s controller is not running")
    token_id, token_secret = create_token(state, parse_duration(given.get("expiry", "0")),
                                          "Worker bootstrap token generated by k0s")
    api = state["api"]
    ca = base64.b64encode((api.get("ca_pem") or state["ca"]["crt"]).encode()).decode()
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "k0s",
                  "clusters": [{"name": "k0s", "cluster": {"server": api["server"], "certificate-authority-data": ca}}],
                  "contexts": [{"name": "k0s", "context": {"cluster": "k0s", "user": "kubelet-bootstrap"}}],
                  "users": [{"name": "kubelet-bootstrap", "user": {"token": f"{token_id}.{token_secret}"}}]}
    print(base64.b64encode(gzip.compress(json.dumps(kubeconfig).encode(), mtime=0)).decode())
    return 0


def start_worker(state, argv=None):
    """What `k0s worker` does when it starts: the token file's kubeconfig, its bootstrap token
    checked (or the Node there already), the host's Node registered, `<data-dir>/kubelet.conf`."""
    given = flags(argv if argv is not None else exec_args(state, "k0sworker")[1:])
    try:
        with open(given.get("token-file", ""), encoding="utf-8") as fh:
            joined = json.loads(gzip.decompress(base64.b64decode(fh.read().strip())))
        token = joined["users"][0]["user"]["token"]
        server = joined["clusters"][0]["cluster"]["server"]
    except (OSError, ValueError, KeyError, IndexError, EOFError) as exc:
        fail(f"k0s worker: failed to read the join token from {given.get('token-file')!r}: {exc}")
    join_node(state, state["hostname"], token, {}, "k0s worker")
    conf = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "k0s", "cluster": {"server": server}}]}
    data_dir = given.get("data-dir") or state["paths"]["data_dir"]
    write(os.path.join(data_dir, "kubelet.conf"), json.dumps(conf), 0o600)
    rec = unit_record(state, "agent")
    rec.update(active=True, node=state["hostname"], server=server, args_at_start=given)
    rec["starts"] = rec.get("starts", 0) + 1


def backup(state, argv):
    given = flags(argv)
    if not state.get("active"):
        fail("failed to create backup: k0s controller is not running")
    if "save-path" not in given or not os.path.isdir(given["save-path"]):
        fail("failed to create backup: --save-path must be an existing folder")
    pki = os.path.join(given.get("data-dir") or state["paths"]["data_dir"], "pki")
    name = os.path.join(given["save-path"], time.strftime("k0s_backup_%Y-%m-%dT%H_%M_%SZ.tar.gz", time.gmtime()))
    config = (state.get("args_at_start") or {}).get("config")  # the node config the controller started with
    with tarfile.open(name, "w:gz") as tar:
        for entry in sorted(os.listdir(pki)):
            tar.add(os.path.join(pki, entry), arcname=f"pki/{entry}")
        if config and os.path.isfile(config):
            tar.add(config, arcname="k0s.yaml")
    return 0


def k0s_main(argv):
    if argv[:1] in (["version"], ["--version"]):
        print(f"{VERSION} (stand-in)")
        return 0
    state = load()
    if argv[:1] == ["install"] and argv[1:2] in (["controller"], ["worker"]):
        return install_unit(state, argv[1], argv[2:])
    if argv[:2] == ["token", "create"]:
        return token_create(state, argv[2:])
    if argv[:1] == ["worker"]:  # the worker's ExecStart under a real systemd
        serve(start_worker, argv[1:], "agent")
    if argv[:1] == ["backup"]:
        return backup(state, argv[1:])
    if argv[:1] == ["controller"]:  # ExecStart under a real systemd
        serve(start, argv[1:])
    done = kubectl_get_nodes(state, argv, state["hostname"], "control-plane", VERSION)
    if done is not None:
        return done
    fail(f"k0s stand-in: unknown command {' '.join(argv)}")
    return 1


UNITS_BY_ROLE = {"controller": UNIT, "worker": "k0sworker"}

if __name__ == "__main__":
    sys.exit(dispatch({UNIT: (start, None), "k0sworker": (start_worker, "agent")}, k0s_main))
