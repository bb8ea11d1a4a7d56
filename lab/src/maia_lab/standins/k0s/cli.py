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
  k0s kubectl [--kubeconfig FILE] get nodes [--no-headers]
  systemctl daemon-reload | is-enabled UNIT | is-active UNIT | enable|disable|start|stop|restart UNIT
A start reads the settings file the unit's ExecStart names (none: k0s' defaults, as the
real k0s does), writes the cluster CA (`<data-dir>/pki/ca.crt`, `.key`) and the admin
kubeconfig (`<data-dir>/pki/admin.conf`, the Kubernetes API stand-in's), and registers the
Node in the API stand-in. What the API server would run with (spec.api.extraArgs as
flags, spec.api.sans) is kept in the state file as `apiserver_args` and `sans`.
Every call is appended to `calls.jsonl` beside the state file.
"""
import os
import subprocess
import sys

from maia_lab.standins.hostcli import fail, load, save  # the installer puts hostcli.py here
from maia_lab.standins.servicecli import dispatch, kubectl_get_nodes, read_settings, register_node, serve, write

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


def unit_args(state):
    """The arguments of the installed unit's ExecStart (after the binary)."""
    path = os.path.join(state["paths"]["unit_dir"], f"{UNIT}.service")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("ExecStart="):
                return line[len("ExecStart="):].split()[1:]
    return []


def install_controller(state, argv):
    given = flags(argv)
    force = given.pop("force", None) == "true"
    path = os.path.join(state["paths"]["unit_dir"], f"{UNIT}.service")
    if os.path.exists(path) and not force:
        fail(f"failed to install controller service: Init already exists: {path}")
    for name in ("config", "data-dir"):
        if name in given:
            given[name] = os.path.abspath(given[name])
    read_settings(given.get("config"))  # k0s validates its node config before it writes anything
    args = " ".join(f"--{name}={value}" for name, value in sorted(given.items()))
    binary = state["paths"]["bin"]
    write(path, "[Unit]\nDescription=k0s - Zero Friction Kubernetes\nDocumentation=https://docs.k0sproject.io\n"
                f"ConditionFileIsExecutable={binary}\n\nAfter=network-online.target\nWants=network-online.target\n\n"
                f"[Service]\nStartLimitInterval=5\nStartLimitBurst=10\nExecStart={binary} controller {args}\n\n"
                "RestartSec=10\nDelegate=yes\nKillMode=process\nLimitCORE=infinity\nTasksMax=infinity\n"
                "TimeoutStartSec=0\nLimitNOFILE=999999\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
          0o644)
    state["installs"] = state.get("installs", 0) + 1
    save(state)
    for command in (["enable", f"{UNIT}.service"], ["daemon-reload"]):
        subprocess.run([state["systemctl"], *command], check=True)
    return 0


def start(state, argv=None):
    """What the k0s controller does when it starts (for this stand-in): ``argv`` are its
    arguments (under a real systemd), else those of the unit's ExecStart."""
    given = flags(argv if argv is not None else unit_args(state)[1:])
    settings = read_settings(given.get("config"))
    data_dir = given.get("data-dir") or "/var/lib/k0s"
    pki = os.path.join(data_dir, "pki")
    write(os.path.join(pki, "ca.crt"), state["ca"]["crt"], 0o644)
    write(os.path.join(pki, "ca.key"), state["ca"]["key"], 0o600)
    write(os.path.join(pki, "admin.conf"), state["kubeconfig"], 0o600)
    register_node(state, state["hostname"])
    api = (settings.get("spec") or {}).get("api") or {}
    state.update(active=True, args_at_start=given, settings_at_start=settings, sans=api.get("sans") or [],
                 apiserver_args=[f"--{k}={v}" for k, v in sorted((api.get("extraArgs") or {}).items())])
    state["starts"] = state.get("starts", 0) + 1


def k0s_main(argv):
    if argv[:1] in (["version"], ["--version"]):
        print(f"{VERSION} (stand-in)")
        return 0
    state = load()
    if argv[:2] == ["install", "controller"]:
        return install_controller(state, argv[2:])
    if argv[:1] == ["controller"]:  # ExecStart under a real systemd
        serve(start, argv[1:])
    done = kubectl_get_nodes(state, argv, state["hostname"], "control-plane", VERSION)
    if done is not None:
        return done
    fail(f"k0s stand-in: unknown command {' '.join(argv)}")
    return 1


if __name__ == "__main__":
    sys.exit(dispatch(UNIT, start, k0s_main))
