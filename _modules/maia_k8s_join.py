"""Worker hosts joining the control plane's cluster (MicroK8s, k3s, rke2, k0s), host side.

``orch.maia``'s step ``maia-orch-workers-joined`` (``_orch_states/maia_join.py``) calls these in turn
for each worker that is not a node yet:

1. on the worker, :func:`recipient`: a fresh X25519 key pair; the private half stays in a 0600 file
   under ``/run/maia-join`` (a tmpfs), the public half is returned;
2. on the control plane, :func:`token`: a short-lived join token from the distribution's own CLI,
   returned SEALED to that public key (``maia_seal.seal``): the job return, the master's job cache
   and the logs hold ciphertext only, and the master cannot open it;
3. on the worker, :func:`join`: the bundle opened with the kept private key (the key file is deleted
   first), the token written where the agent reads it (0600), the agent started;
4. on the control plane, :func:`nodes` until the worker is a Ready node.

``maia remove-host`` of a worker: :func:`remove_node` on the control plane, :func:`leave` on the worker.

.. code-block:: bash

    salt-call maia_k8s_join.nodes k3s
    salt-call maia_k8s_join.remove_node k3s maia-node-2
    salt-call maia_k8s_join.leave k3s

The CLIs run through ``subprocess`` with argument lists, not ``cmd.run``: Salt's ``cmd`` module logs
the command lines it runs, and ``microk8s join`` takes its token as an argument. No token is ever in
a return, an error message or a log line of this module (errors name the command with the token
masked, and only the command's stderr).
"""
import json
import os
import secrets
import shutil
import socket
import subprocess

from salt.exceptions import CommandExecutionError

import maia_seal

__virtualname__ = "maia_k8s_join"

KEY_DIR = "/run/maia-join"
KEY_FILE = "recipient.key"
SYSTEMCTL = "/usr/bin/systemctl"
MASK = "<masked>"
# the port MicroK8s' cluster agent takes joins on (`microk8s join <address>:25000/<token>`)
MICROK8S_AGENT_PORT = 25000

#: each distribution's CLI and the places its worker side uses (``paths`` overrides them, as the
#: formula's ``maia:k8s:<distribution>:paths`` do); unit: the agent's systemd unit
DISTRIBUTIONS = {
    "microk8s": {"bin": "/snap/bin/microk8s"},
    "k3s": {"bin": "/usr/local/bin/k3s", "config_dir": "/etc/rancher/k3s", "data_dir": "/var/lib/rancher/k3s",
            "unit": "k3s-agent", "token_file": "join-token"},
    "rke2": {"bin": "/usr/local/bin/rke2", "config_dir": "/etc/rancher/rke2", "data_dir": "/var/lib/rancher/rke2",
             "unit": "rke2-agent", "token_file": "join-token"},
    "k0s": {"bin": "/usr/local/bin/k0s", "config_dir": "/etc/k0s", "data_dir": "/var/lib/k0s",
            "unit": "k0sworker", "token_file": "worker-token", "unit_dir": "/etc/systemd/system"},
}


def __virtual__():
    return __virtualname__


def _conf(distribution, paths=None):
    if distribution not in DISTRIBUTIONS:
        raise CommandExecutionError(
            f"distribution {distribution!r}: workers join {', '.join(DISTRIBUTIONS)} clusters only"
        )
    conf = dict(DISTRIBUTIONS[distribution])
    conf.update({k: v for k, v in (paths or {}).items() if k in conf or k == "systemctl_cmd"})
    return conf


def _run(argv, secret=None, check=True, timeout=300):
    """``subprocess.run`` of ``argv`` (a list, no shell); an error names the command with ``secret``
    masked and the command's stderr (never its stdout: a token CLI prints the token there)."""
    argv = [str(a) for a in argv]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                             check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandExecutionError(f"{_shown(argv, secret)}: {type(exc).__name__}") from None
    if check and res.returncode != 0:
        stderr = (res.stderr or "").strip()[:500]
        if secret:
            stderr = stderr.replace(secret, MASK)
        raise CommandExecutionError(f"{_shown(argv, secret)} failed ({res.returncode}): {stderr}")
    return res


def _shown(argv, secret):
    return " ".join(MASK if secret and secret in a else a for a in argv)


def _kubectl(distribution, conf):
    if distribution == "rke2":
        return [os.path.join(conf["data_dir"], "bin", "kubectl"), "--kubeconfig",
                os.path.join(conf["config_dir"], "rke2.yaml")]
    return [conf["bin"], "kubectl"]


def _write_private(path, data):
    """``data`` into ``path``, 0600 from its creation, replacing it atomically (no symlink followed)."""
    tmp = f"{path}.maia-tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def token_file(distribution, paths=None):
    """Where the worker's agent reads its join token (k3s, rke2, k0s); None for MicroK8s."""
    conf = _conf(distribution, paths)
    return os.path.join(conf["config_dir"], conf["token_file"]) if "token_file" in conf else None


# ---- the hand-over --------------------------------------------------------------------------------


def recipient(key_dir=KEY_DIR):
    """A fresh X25519 key pair for one join: the private key into ``key_dir/recipient.key`` (0600,
    folder 0700), ``{"recipient": <base64 public key>}`` returned."""
    private, public = maia_seal.keypair()
    os.makedirs(key_dir, mode=0o700, exist_ok=True)
    os.chmod(key_dir, 0o700)
    import maia_seal_box

    _write_private(os.path.join(key_dir, KEY_FILE), maia_seal_box.private_bytes(private))
    return {"recipient": public}


def token(distribution, recipient, ttl=900, paths=None):
    """A join token of ``ttl`` seconds from the control plane's CLI, sealed to ``recipient`` (the
    worker's public key): ``{"epk", "nonce", "sealed"}``. MicroK8s takes a token maia-salt draws
    (``add-node --token``); k3s, rke2 and k0s print the one they make."""
    conf = _conf(distribution, paths)
    ttl = int(ttl)
    minutes = f"{max(1, ttl // 60)}m"
    if distribution == "microk8s":
        value = secrets.token_hex(16)
        _run([conf["bin"], "add-node", "--token", value, "--token-ttl", str(ttl)], secret=value)
    elif distribution == "k0s":
        value = _run([conf["bin"], "token", "create", "--role", "worker", "--expiry", minutes]).stdout.strip()
    else:
        value = _run([conf["bin"], "token", "create", "--ttl", minutes]).stdout.strip()
    if not value or len(value.splitlines()) != 1:
        raise CommandExecutionError(f"{conf['bin']} token create printed no one-line token")
    return maia_seal.seal(recipient, json.dumps({"token": value}).encode())


def _take_token(bundle, key_dir):
    """The token in ``bundle``, opened with the kept private key, which is deleted first."""
    import maia_seal_box

    path = os.path.join(key_dir, KEY_FILE)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        raise CommandExecutionError(f"no join key at {path}: run maia_k8s_join.recipient first") from None
    os.unlink(path)
    try:
        private = maia_seal_box.private_from_bytes(raw)
    except maia_seal_box.BoxError as exc:
        raise CommandExecutionError(str(exc)) from None
    try:
        value = json.loads(maia_seal.open_bundle(private, bundle))["token"]
    except (ValueError, KeyError, TypeError):
        raise CommandExecutionError("the sealed join token holds no token") from None
    if not isinstance(value, str) or not value or "\n" in value:
        raise CommandExecutionError("the sealed join token holds no one-line token")
    return value


def join(distribution, server, epk, nonce, sealed, node_name=None, paths=None, key_dir=KEY_DIR):
    """Join this host to the cluster of the control plane at ``server`` (its address) with the token
    sealed to this host's :func:`recipient` key (``epk``, ``nonce``, ``sealed``): MicroK8s
    ``microk8s join <server>:25000/<token> --worker``; k3s, rke2: the token file (0600) that the
    agent's settings name (``maia.k8s.worker``), then the agent enabled and started; k0s: the token
    file, ``k0s install worker --token-file`` when its unit is missing, then ``k0sworker`` started."""
    conf = _conf(distribution, paths)
    value = _take_token({"epk": epk, "nonce": nonce, "sealed": sealed}, key_dir)
    systemctl = conf.get("systemctl_cmd", SYSTEMCTL)
    if distribution == "microk8s":
        _run([conf["bin"], "join", f"{server}:{MICROK8S_AGENT_PORT}/{value}", "--worker"], secret=value, timeout=900)
    else:
        path = token_file(distribution, paths)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        _write_private(path, (value + "\n").encode())
        if distribution == "k0s" and not os.path.exists(os.path.join(conf["unit_dir"], f"{conf['unit']}.service")):
            _run([conf["bin"], "install", "worker", "--token-file", path])
        _run([systemctl, "daemon-reload"])
        _run([systemctl, "enable", "--now", conf["unit"]], timeout=900)
    return {"joined": node_name or socket.gethostname(), "distribution": distribution}


# ---- the control plane's view ---------------------------------------------------------------------


def nodes(distribution, paths=None):
    """``{node name: Ready (bool)}`` as the control plane's kubectl lists them."""
    conf = _conf(distribution, paths)
    res = _run([*_kubectl(distribution, conf), "get", "nodes", "-o", "json"], timeout=60)
    try:
        items = json.loads(res.stdout).get("items") or []
    except (ValueError, AttributeError):
        raise CommandExecutionError("kubectl get nodes -o json printed no node list") from None
    out = {}
    for item in items:
        conditions = (item.get("status") or {}).get("conditions") or []
        out[item["metadata"]["name"]] = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return out


def remove_node(distribution, name, paths=None):
    """Delete the node ``name`` on the control plane (MicroK8s ``remove-node --force``, else
    ``kubectl delete node``); ``{"removed": name}``, or ``{"removed": None}`` when it is no node."""
    conf = _conf(distribution, paths)
    if name not in nodes(distribution, paths):
        return {"removed": None}
    if distribution == "microk8s":
        _run([conf["bin"], "remove-node", name, "--force"])
    else:
        _run([*_kubectl(distribution, conf), "delete", "node", name], timeout=120)
    return {"removed": name}


def leave(distribution, paths=None):
    """This worker leaves the cluster: MicroK8s ``microk8s leave``; k3s, rke2, k0s: the agent stopped
    and disabled, its token file and the agent's state removed (k0s: its unit and data folder, what
    ``k0s reset`` clears). ``{"left": [what was done]}``; nothing to do on a host that never joined."""
    conf = _conf(distribution, paths)
    done = []
    if distribution == "microk8s":
        if os.path.exists(conf["bin"]):
            _run([conf["bin"], "leave"], timeout=600)
            done.append("microk8s leave")
        return {"left": done}
    systemctl = conf.get("systemctl_cmd", SYSTEMCTL)
    if _run([systemctl, "is-enabled", conf["unit"]], check=False).returncode == 0 or \
            _run([systemctl, "is-active", conf["unit"]], check=False).returncode == 0:
        _run([systemctl, "disable", "--now", conf["unit"]], timeout=600)
        done.append(f"{conf['unit']} stopped and disabled")
    state = [token_file(distribution, paths)]
    if distribution == "k0s":
        state += [os.path.join(conf["unit_dir"], f"{conf['unit']}.service"), conf["data_dir"]]
    else:
        state.append(os.path.join(conf["data_dir"], "agent"))
    for path in state:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
            done.append(f"{path} removed")
        elif os.path.lexists(path):
            os.unlink(path)
            done.append(f"{path} removed")
    return {"left": done}
