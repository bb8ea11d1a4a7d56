"""``maia_datastore.snapshot`` for k3s (and the distributions it refuses), as plain Python with its
Salt dunders: what a k3s server keeps in its data dir (token, the CAs of server/tls, the SQLite
datastore in kine's layout) laid out in a temporary folder, the snapshot opened with the caller's
private key as ``maia backup`` opens it. The k3s stand-in's own data (made by its start) is read
by tests/k8s/test_k8s_k3s.py through salt-call."""
import base64
import io
import json
import sqlite3
import tarfile

import pytest
import yaml
from salt.exceptions import CommandExecutionError

from maia_salt import sealed
from support.modules import load_salt_module

KINE = ("CREATE TABLE kine (id INTEGER PRIMARY KEY AUTOINCREMENT, name INTEGER, created INTEGER, "
        "deleted INTEGER, create_revision INTEGER, prev_revision INTEGER, lease INTEGER, value BLOB, old_value BLOB)")
TOKEN = b"K10" + b"0" * 64 + b"::server:b0c1d2e3f4a5b6c7\n"
TLS = {  # kept: CAs and the service-account key; left: the leaf certificates k3s makes again
    "server-ca.crt": True, "server-ca.key": True, "client-ca.crt": True, "client-ca.key": True,
    "request-header-ca.crt": True, "service.key": True, "etcd/peer-ca.crt": True, "etcd/server-ca.key": True,
    "serving-kube-apiserver.crt": False, "client-admin.key": False, "etcd/client.crt": False,
}


def insert(db, key):
    db.execute("INSERT INTO kine (name, created, deleted, create_revision, prev_revision, lease, value) "
               "VALUES (?, 1, 0, 0, 0, 0, ?)", (key, b'{"kind": "Secret"}'))


@pytest.fixture
def k3s_host(tmp_path):
    """A k3s server's files under tmp_path; its datastore held open by a writer, as kine holds it."""
    data_dir, config_dir = tmp_path / "var/lib/rancher/k3s", tmp_path / "etc/rancher/k3s"
    server = data_dir / "server"
    for name in TLS:
        (server / "tls" / name).parent.mkdir(parents=True, exist_ok=True)
        (server / "tls" / name).write_bytes(f"content of {name}".encode())
    (server / "token").write_bytes(TOKEN)
    (server / "db").mkdir()
    config_dir.mkdir(parents=True)
    writer = sqlite3.connect(server / "db" / "state.db", isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # what is written stays in the write-ahead log
    writer.execute(KINE)
    insert(writer, "/registry/secrets/argocd/argocd-secret")
    yield {"data_dir": data_dir, "config_dir": config_dir, "server": server, "writer": writer, "calls": []}
    writer.close()


def module(host, distribution="k3s", run=None):
    pillar = {"maia:cluster:k8s_distribution": distribution,
              "maia:k8s:k3s:paths:data_dir": str(host["data_dir"]),
              "maia:k8s:k3s:paths:config_dir": str(host["config_dir"]),
              "maia:k8s:k3s:paths:bin": "/usr/local/bin/k3s"}

    def run_all(argv, **_kw):
        host["calls"].append(argv)
        return run(argv) if run else {"retcode": 1, "stderr": "not expected here"}

    salt = {"pillar.get": lambda key, default=None, **_kw: pillar.get(key, default),
            "cmd.run_all": run_all}
    return load_salt_module("_modules/maia_datastore.py", "maia_datastore_under_test", salt=salt)


def take(mod):
    """The snapshot as maia backup opens it: {name: bytes} and the tar's {member: bytes}."""
    private, public = sealed.keypair()
    data = json.loads(sealed.open_bundle(private, mod.snapshot(public)))
    files = {name: base64.b64decode(value) for name, value in data["files"].items()}
    with tarfile.open(fileobj=io.BytesIO(files["datastore.tar.gz"]), mode="r:gz") as tar:
        members = {m.name: (tar.extractfile(m).read(), m.mode) for m in tar.getmembers()}
    return data["distribution"], files, members


def test_sqlite_copy_holds_what_is_still_in_the_write_ahead_log(k3s_host, tmp_path):
    insert(k3s_host["writer"], "/registry/configmaps/istio-system/internal-ca")  # not checkpointed
    distribution, files, members = take(module(k3s_host))
    assert distribution == "k3s"
    copy = tmp_path / "copy.db"
    copy.write_bytes(members["server/db/state.db"][0])
    keys = [row[0] for row in sqlite3.connect(copy).execute("SELECT name FROM kine ORDER BY id")]
    # a copy of state.db alone has the table but not these rows: they are in state.db-wal
    assert keys == ["/registry/secrets/argocd/argocd-secret", "/registry/configmaps/istio-system/internal-ca"]


def test_k3s_snapshot_holds_the_token_and_the_cas_to_unpack_in_the_data_dir(k3s_host):
    _distribution, files, members = take(module(k3s_host))
    assert members["server/token"][0] == TOKEN
    tls = {name[len("server/tls/"):] for name in members if name.startswith("server/tls/")}
    assert tls == {name for name, kept in TLS.items() if kept}
    assert set(members) == {"server/token", "server/db/state.db"} | {f"server/tls/{n}" for n in tls}
    assert all(mode == 0o600 for _content, mode in members.values())
    assert files["ca.crt"] == b"content of server-ca.crt" and files["ca.key"] == b"content of server-ca.key"
    assert k3s_host["calls"] == []  # SQLite: no command run


def test_embedded_etcd_is_saved_with_k3s_etcd_snapshot(k3s_host):
    (k3s_host["config_dir"] / "config.yaml").write_text(yaml.safe_dump({"cluster-init": True}))

    def etcd_snapshot_save(argv):  # what `k3s etcd-snapshot save --name N --dir D` leaves in D
        folder = argv[argv.index("--dir") + 1]
        with open(f"{folder}/{argv[argv.index('--name') + 1]}-maia-node-0-1767225600", "wb") as fh:
            fh.write(b"etcd snapshot bytes")
        return {"retcode": 0, "stdout": "Snapshot saved"}

    _distribution, _files, members = take(module(k3s_host, run=etcd_snapshot_save))
    [argv] = k3s_host["calls"]
    assert argv[:3] == ["/usr/local/bin/k3s", "etcd-snapshot", "save"]
    assert argv[argv.index("--data-dir") + 1] == str(k3s_host["data_dir"])
    assert members["server/db/snapshots/maia-datastore-maia-node-0-1767225600"][0] == b"etcd snapshot bytes"
    assert "server/db/state.db" not in members and members["server/token"][0] == TOKEN


def test_a_failed_etcd_snapshot_says_why(k3s_host):
    (k3s_host["data_dir"] / "server" / "db" / "etcd").mkdir()  # an etcd k3s keeps using
    failing = module(k3s_host, run=lambda argv: {"retcode": 1, "stderr": "etcd datastore disabled"})
    with pytest.raises(CommandExecutionError, match="etcd-snapshot save' failed.*etcd datastore disabled"):
        take(failing)


def test_an_external_datastore_is_refused_before_anything_runs(k3s_host):
    (k3s_host["config_dir"] / "config.yaml").write_text(
        yaml.safe_dump({"datastore-endpoint": "postgres://k3s:secret@db.example.test/k3s"}))
    with pytest.raises(CommandExecutionError, match="external database") as err:
        take(module(k3s_host))
    assert "secret" not in str(err.value) and k3s_host["calls"] == []


def test_no_token_means_k3s_never_started_here(k3s_host):
    (k3s_host["server"] / "token").unlink()
    with pytest.raises(CommandExecutionError, match="server/token.*apply maia.k8s"):
        take(module(k3s_host))


@pytest.mark.parametrize("distribution", ["rke2"])
def test_other_distributions_are_refused_by_name(k3s_host, distribution):
    with pytest.raises(CommandExecutionError, match=f"snapshot of {distribution} is not supported yet"):
        take(module(k3s_host, distribution))
    assert k3s_host["calls"] == []
