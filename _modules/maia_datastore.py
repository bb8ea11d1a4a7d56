"""The cluster's datastore snapshot and CA, for ``maia backup``, sealed to the caller's one-time key.

The snapshot is taken with the distribution's own tool: MicroK8s ``microk8s dbctl backup -o NAME``
(it writes ``NAME.tar.gz``) in a private temporary folder that is removed afterwards. With it go
the cluster CA's certificate and key (the files of ``maia_microk8s.paths``). All three are
secrets (the datastore holds the cluster's Secrets), so the return is
``maia_seal.seal``'s ciphertext for the caller's X25519 public key: the job return, the
master's job cache and the logs hold nothing else. k3s and rke2 (``etcd-snapshot``) and k0s
(``backup``) are refused, by name, until stage 2 installs them.

CLI example (the caller holds the private key; ``maia backup`` does this)::

    salt-call maia_datastore.snapshot <base64 X25519 public key>
"""
import base64
import json
import os
import tempfile

from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader
import maia_microk8s_paths
import maia_seal

__virtualname__ = "maia_datastore"

SNAPSHOT_TIMEOUT = 600


def __virtual__():
    return __virtualname__


def _distribution(given=None):
    pillar = __salt__["pillar.get"]
    return given or pillar("maia:cluster:k8s_distribution", unmask=True) or "microk8s"


def _microk8s_snapshot(folder):
    cmd = maia_microk8s_paths.command(__salt__["pillar.get"]("maia:k8s:microk8s_cmd", unmask=True))
    name = os.path.join(folder, "datastore")
    res = __salt__["cmd.run_all"]([cmd, "dbctl", "backup", "-o", name], python_shell=False, ignore_retcode=True,
                                  timeout=SNAPSHOT_TIMEOUT, cwd=folder)
    if res["retcode"] != 0:
        raise CommandExecutionError(f"'{cmd} dbctl backup' failed (exit {res['retcode']}): "
                                    f"{(res.get('stderr') or res.get('stdout') or '').strip()[-500:]}")
    path = f"{name}.tar.gz"
    if not os.path.isfile(path):
        raise CommandExecutionError(f"'{cmd} dbctl backup' wrote no {os.path.basename(path)}")
    with open(path, "rb") as fh:
        return fh.read()


def snapshot(recipient, distribution=None):
    """
    The datastore snapshot and the cluster CA (certificate and key) of this control plane, sealed
    to ``recipient`` (base64 X25519 public key). Returns ``{"epk", "nonce", "sealed"}`` only.
    ``distribution``: the site's K8S_DISTRIBUTION (default: pillar ``maia:cluster:k8s_distribution``;
    salt-ssh calls get no pillar, ``maia backup --ssh`` passes it).

    CLI Example:

    .. code-block:: bash

        salt-call maia_datastore.snapshot <recipient>
    """
    distribution = _distribution(distribution)
    if distribution != "microk8s":
        raise CommandExecutionError(
            f"a datastore snapshot of {distribution} is not supported yet (MicroK8s only): take it with the "
            "distribution's tool (k3s/rke2 etcd-snapshot save, k0s backup), or run maia backup --config-only")
    where = maia_microk8s_paths.paths(__salt__["pillar.get"]("maia:k8s:paths:snap_root", unmask=True))
    missing = [where[k] for k in ("ca_cert", "ca_key") if not os.path.isfile(where[k])]
    if missing:
        raise CommandExecutionError(f"no cluster CA at {', '.join(missing)}: apply maia.k8s on this host first")
    with tempfile.TemporaryDirectory(prefix="maia-datastore-") as folder:
        os.chmod(folder, 0o700)
        datastore = _microk8s_snapshot(folder)
    files = {"datastore.tar.gz": datastore}
    for key, name in (("ca_cert", "ca.crt"), ("ca_key", "ca.key")):
        with open(where[key], "rb") as fh:
            files[name] = fh.read()
    payload = json.dumps({"distribution": distribution,
                          "files": {n: base64.b64encode(c).decode() for n, c in files.items()}}).encode()
    return maia_seal.seal(recipient, payload)
