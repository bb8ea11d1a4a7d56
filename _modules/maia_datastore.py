"""The cluster's datastore snapshot and CA, for ``maia backup``, sealed to the caller's one-time key.

What is handed over, as ``datastore.tar.gz``, ``ca.crt`` and ``ca.key``:

- MicroK8s: the snapshot of its own tool, ``microk8s dbctl backup -o NAME`` (it writes
  ``NAME.tar.gz``), and the cluster CA's certificate and key (``maia_microk8s_paths.paths``).
- k3s: what k3s needs to start again on the same data, as a tar of paths under its data dir
  (``maia:k8s:k3s:paths:data_dir``), to be unpacked there before k3s first starts:
  ``server/token`` (k3s encrypts its bootstrap data in the datastore with it: without the same
  token a restored datastore is unusable), the CAs and the service-account key of
  ``server/tls`` (``*-ca.crt``, ``*-ca.key``, ``service.key``, also under ``tls/etcd``), and the
  datastore itself. Which datastore: the settings file (``/etc/rancher/k3s/config.yaml``) and
  the data dir decide. The default of a single server, and what stage 2 sets up, is SQLite
  (``server/db/state.db``): a consistent copy through SQLite's online backup API (a copy of the
  file alone would miss what is still in its write-ahead log, or catch a page half-written),
  checked with ``PRAGMA quick_check``. Embedded etcd (``cluster-init``, or an existing
  ``server/db/etcd``): ``k3s etcd-snapshot save`` into the temporary folder, stored as
  ``server/db/snapshots/<name>``. An external datastore (``datastore-endpoint``) is refused:
  its database has its own backup tools. ``ca.crt``/``ca.key`` are the server CA.

Everything is taken in a private temporary folder that is removed afterwards. All of it is
secret (the datastore holds the cluster's Secrets), so the return is ``maia_seal.seal``'s
ciphertext for the caller's X25519 public key: the job return, the master's job cache and the
logs hold nothing else.

- k0s: its own ``k0s backup --save-path DIR --data-dir DATA_DIR`` (one
  ``k0s_backup_<timestamp>.tar.gz``: the datastore, the PKI and the node config, which ``k0s
  restore`` takes back before k0s first starts), and the cluster CA of ``<data dir>/pki``.

rke2 is refused, by name: stage 2 installs it, but its snapshot (`rke2 etcd-snapshot save`) is not taken here yet.

CLI example (the caller holds the private key; ``maia backup`` does this)::

    salt-call maia_datastore.snapshot <base64 X25519 public key>
"""
import base64
import fnmatch
import io
import json
import os
import sqlite3
import tarfile
import tempfile

from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader
import maia_microk8s_paths
import maia_seal
import maia_settings_merge

__virtualname__ = "maia_datastore"

SNAPSHOT_TIMEOUT = 600
K3S_DEFAULTS = {"bin": "/usr/local/bin/k3s", "config_dir": "/etc/rancher/k3s", "data_dir": "/var/lib/rancher/k3s"}
# what k3s needs from server/tls to come back with the same identity: its CAs and the key that
# signs the service-account tokens (the leaf certificates it makes again from them)
K3S_TLS_KEPT = ("*-ca.crt", "*-ca.key", "service.key")
K3S_SNAPSHOT_NAME = "maia-datastore"
K0S_DEFAULTS = {"bin": "/usr/local/bin/k0s", "data_dir": "/var/lib/k0s"}


def __virtual__():
    return __virtualname__


def _pillar(key):
    return __salt__["pillar.get"](key, unmask=True)


def _distribution(given=None):
    return given or _pillar("maia:cluster:k8s_distribution") or "microk8s"


def _read(path):
    with open(path, "rb") as fh:
        return fh.read()


def _run(argv, folder):
    """``argv`` in ``folder``; CommandExecutionError with the end of its output when it fails."""
    res = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True, timeout=SNAPSHOT_TIMEOUT, cwd=folder)
    if res["retcode"] != 0:
        raise CommandExecutionError(f"'{' '.join(argv[:3])}' failed (exit {res['retcode']}): "
                                    f"{(res.get('stderr') or res.get('stdout') or '').strip()[-500:]}")


def _required(paths, fix):
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        raise CommandExecutionError(f"no {', '.join(missing)} on this host: {fix}")


def _tar(members):
    """A gzip tar of ``{relative path: content}``, every member 0600."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o600, 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# ------------------------------------------------------------------ MicroK8s


def _microk8s_snapshot(folder):
    where = maia_microk8s_paths.paths(_pillar("maia:k8s:paths:snap_root"))
    _required([where["ca_cert"], where["ca_key"]], "the cluster CA is missing; apply maia.k8s on this host first")
    cmd = maia_microk8s_paths.command(_pillar("maia:k8s:microk8s_cmd"))
    name = os.path.join(folder, "datastore")
    _run([cmd, "dbctl", "backup", "-o", name], folder)
    path = f"{name}.tar.gz"
    if not os.path.isfile(path):
        raise CommandExecutionError(f"'{cmd} dbctl backup' wrote no {os.path.basename(path)}")
    return {"datastore.tar.gz": _read(path), "ca.crt": _read(where["ca_cert"]), "ca.key": _read(where["ca_key"])}


# ------------------------------------------------------------------ k3s


def _paths(distribution, defaults):
    return {key: _pillar(f"maia:k8s:{distribution}:paths:{key}") or default for key, default in defaults.items()}


def _k3s_paths():
    return _paths("k3s", K3S_DEFAULTS)


def _k3s_datastore(settings, data_dir):
    """Which datastore a k3s server with these ``settings`` (its config.yaml) runs: ``sqlite``
    (a single server's default), ``etcd`` (``cluster-init``, joining a ``server``, or an etcd
    data folder already there, which k3s keeps using) or ``external`` (``datastore-endpoint``)."""
    if settings.get("datastore-endpoint"):
        return "external"
    if settings.get("cluster-init") or settings.get("server") or os.path.isdir(
            os.path.join(data_dir, "server", "db", "etcd")):
        return "etcd"
    return "sqlite"


def _sqlite_copy(database, target):
    """A consistent copy of the live SQLite ``database`` as ``target``, through SQLite's online
    backup API (committed transactions only, the write-ahead log's included), checked."""
    source = sqlite3.connect(database, timeout=60)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if check != "ok":
        raise CommandExecutionError(f"the copy of {database} fails SQLite's check ({check}): nothing was handed over")
    return _read(target)


def _k3s_tls(server):
    """``{path under the data dir: content}`` of the CA files and service-account key of server/tls."""
    kept = {}
    tls = os.path.join(server, "tls")
    for root, dirs, names in os.walk(tls):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            if any(fnmatch.fnmatch(name, pattern) for pattern in K3S_TLS_KEPT) and os.path.isfile(path):
                kept[os.path.relpath(path, os.path.dirname(server))] = _read(path)
    return kept


def _k3s_etcd_snapshot(k3s_bin, data_dir, folder):
    """``k3s etcd-snapshot save`` into ``folder``: ``(file name, content)``."""
    target = os.path.join(folder, "etcd")
    os.mkdir(target, 0o700)
    _run([k3s_bin, "etcd-snapshot", "save", "--name", K3S_SNAPSHOT_NAME, "--dir", target, "--data-dir", data_dir],
         folder)
    written = sorted(name for name in os.listdir(target) if name.startswith(K3S_SNAPSHOT_NAME))
    if len(written) != 1:
        raise CommandExecutionError(f"'{k3s_bin} etcd-snapshot save' wrote {len(written)} snapshots in {target}, "
                                    "not one")
    return written[0], _read(os.path.join(target, written[0]))


def _k3s_snapshot(folder):
    paths = _k3s_paths()
    data_dir = paths["data_dir"]
    server = os.path.join(data_dir, "server")
    ca_cert, ca_key = (os.path.join(server, "tls", f"server-ca.{ext}") for ext in ("crt", "key"))
    _required([os.path.join(server, "token"), ca_cert, ca_key],
              "k3s has not started here yet; apply maia.k8s on this host first")
    try:
        settings = maia_settings_merge.read(os.path.join(paths["config_dir"], "config.yaml"))
    except ValueError as exc:
        raise CommandExecutionError(str(exc)) from None
    kind = _k3s_datastore(settings, data_dir)
    if kind == "external":
        raise CommandExecutionError("k3s keeps its datastore in an external database (datastore-endpoint): back that "
                                    "database up with its own tools, then run maia backup --config-only")
    members = {"server/token": _read(os.path.join(server, "token")), **_k3s_tls(server)}
    if kind == "sqlite":
        database = os.path.join(server, "db", "state.db")
        _required([database], "k3s runs no SQLite datastore at the expected place")
        members["server/db/state.db"] = _sqlite_copy(database, os.path.join(folder, "state.db"))
    else:
        name, content = _k3s_etcd_snapshot(paths["bin"], data_dir, folder)
        members[f"server/db/snapshots/{name}"] = content
    return {"datastore.tar.gz": _tar(members), "ca.crt": _read(ca_cert), "ca.key": _read(ca_key)}


# ------------------------------------------------------------------ k0s


def _k0s_snapshot(folder):
    paths = _paths("k0s", K0S_DEFAULTS)
    ca_cert, ca_key = (os.path.join(paths["data_dir"], "pki", f"ca.{ext}") for ext in ("crt", "key"))
    _required([ca_cert, ca_key], "k0s has not started here yet; apply maia.k8s on this host first")
    target = os.path.join(folder, "k0s-backup")
    os.mkdir(target, 0o700)
    _run([paths["bin"], "backup", f"--save-path={target}", f"--data-dir={paths['data_dir']}"], folder)
    written = [n for n in os.listdir(target) if n.startswith("k0s_backup_") and n.endswith(".tar.gz")]
    if len(written) != 1:
        raise CommandExecutionError(f"'{paths['bin']} backup' wrote {len(written)} archives in {target}, not one")
    return {"datastore.tar.gz": _read(os.path.join(target, written[0])), "ca.crt": _read(ca_cert),
            "ca.key": _read(ca_key)}


SNAPSHOTS = {"microk8s": _microk8s_snapshot, "k3s": _k3s_snapshot, "k0s": _k0s_snapshot}


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
    take = SNAPSHOTS.get(distribution)
    if take is None:
        raise CommandExecutionError(
            f"a datastore snapshot of {distribution} is not supported yet (MicroK8s, k3s and k0s only): take it with "
            "the distribution's tool (rke2 etcd-snapshot save), or run maia backup --config-only")
    with tempfile.TemporaryDirectory(prefix="maia-datastore-") as folder:
        os.chmod(folder, 0o700)
        files = take(folder)
    payload = json.dumps({"distribution": distribution,
                          "files": {n: base64.b64encode(c).decode() for n, c in files.items()}}).encode()
    return maia_seal.seal(recipient, payload)
