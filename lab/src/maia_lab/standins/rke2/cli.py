#!/usr/bin/env python3
"""rke2 stand-in: `bin/rke2` of the release tarball, the `kubectl` rke2 unpacks, and `systemctl`.

STAND-IN. This machine (and the lab hosts) cannot run rke2. The formula downloads the release
tarball that holds this file as `bin/rke2` (the tests serve it with its sha256 list) and unpacks
it; the harness installs it a second time as `systemctl` for a host without systemd. A start
copies it to `<data-dir>/bin/kubectl`, where rke2 puts its kubectl. It dispatches on the name it
is called by. The formulas never install it by name.

Standard library only (PyYAML when it is there, for the settings file).

Emulated, as rke2, its kubectl and systemd answer them:
  rke2 --version | -v
  rke2 server                       the unit's ExecStart (rke2 reads /etc/rancher/rke2/config.yaml
                                    by default): starts, tells systemd READY=1 (the unit is
                                    Type=notify), runs until SIGTERM
  rke2 agent                        rke2-agent.service's ExecStart (the tarball ships that unit too):
                                    the same way, as an agent (see below)
  rke2 token create [--ttl D] [--description TEXT]
                                    on a running server: a bootstrap token in the API stand-in
                                    (Secret kube-system/bootstrap-token-<id>), printed as
                                    K10<CA sha256>::<id>.<secret>
  kubectl [--kubeconfig FILE] get nodes [--no-headers] | get nodes -o json | delete node NAME
  systemctl daemon-reload | is-enabled UNIT | is-active UNIT | enable|disable [--now] UNIT
          | start|stop|restart UNIT      (UNIT: rke2-server, rke2-agent)
An agent start reads config.yaml and its drop-ins (`server`, `token` or `token-file`, `node-name`)
and joins as the k3s stand-in's agent does (servicecli.agent_started): a token of this cluster's
CA, valid and unexpired or its Node already there, else it fails with the reason; its Node gets
`node.kubernetes.io/instance-type: rke2` and no control-plane role.
A start reads `config.yaml` (the real file's format) and the `config.yaml.d/*.yaml` drop-ins after
it (their keys replace the file's, as rke2 merges them), writes the server CA
(`<data-dir>/server/tls/server-ca.crt`, `.key`), the admin kubeconfig (`<config-dir>/rke2.yaml`,
the Kubernetes API stand-in's, mode `write-kubeconfig-mode`) and `<data-dir>/bin/kubectl`, and
registers the Node in the API stand-in with the annotation `rke2.io/node-args` (the server's
arguments, settings included, as a JSON list), so the tests see the OIDC flags and the disabled
ingress-nginx on the cluster. Every call is appended to `calls.jsonl` beside the state file.
"""
import glob
import os
import shutil
import sys

from maia_lab.standins.hostcli import fail, load  # the installer puts hostcli.py here
from maia_lab.standins.servicecli import agent_started, dispatch, read_settings, serve, server_kubectl, server_started, token_create  # noqa: E501

VERSION = "v1.34.2+rke2r1"
UNIT = "rke2-server"


def settings_of(paths):
    """config.yaml, then each config.yaml.d/*.yaml in name order over it (key by key)."""
    settings = read_settings(paths["config"])
    for dropin in sorted(glob.glob(os.path.join(paths["config_dir"], "config.yaml.d", "*.yaml"))):
        settings.update(read_settings(dropin))
    return settings


def start(state, _argv=None):
    """What the rke2 server does when it starts (for this stand-in)."""
    paths = state["paths"]
    kubectl = os.path.join(paths["data_dir"], "bin", "kubectl")
    os.makedirs(os.path.dirname(kubectl), exist_ok=True)
    shutil.copyfile(paths["bin"], kubectl)
    os.chmod(kubectl, 0o755)
    server_started(state, "rke2", settings_of(paths))


def start_agent(state, argv=None):
    """What the rke2 agent does when it starts (for this stand-in)."""
    agent_started(state, "rke2", settings_of(state["paths"]), argv)


def rke2_main(argv):
    if argv[:1] in (["--version"], ["-v"]):
        print(f"rke2 version {VERSION} (stand-in)")
        return 0
    if argv[:1] == ["server"]:  # ExecStart under a real systemd
        serve(start, argv)
    if argv[:1] == ["agent"]:
        serve(start_agent, argv[1:], "agent")
    if argv[:2] == ["token", "create"]:
        return token_create(load(), argv[2:], "rke2")
    fail(f"rke2 stand-in: unknown command {' '.join(argv)}")
    return 1


def kubectl_main(argv):
    return server_kubectl(load(), ["kubectl", *argv], "control-plane,etcd,master", VERSION, "kubectl")


UNITS = {UNIT: (start, None), "rke2-agent": (start_agent, "agent")}

if __name__ == "__main__":
    if os.path.basename(sys.argv[0]) == "kubectl":
        sys.exit(dispatch(UNITS, kubectl_main))
    sys.exit(dispatch(UNITS, rke2_main))
