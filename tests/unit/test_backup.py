"""`maia backup` / `maia restore` of a CONFIG_FOLDER made by the real maia-configure (CIFS key
pair included), with the exported kubeconfig and CA laid out as the kubeconfig runner leaves them
(links into .maia-kube/current, and the runner's record of its last fetch): encrypted (no secret
in clear), 0600, restored identically into an empty folder (the record kept, the pair's versions
not), and a wrong passphrase, a changed byte or a folder in use refused with nothing written."""
import gzip
import os
import stat

import pytest
import yaml
from click.testing import CliRunner

from maia_salt import backup, cli
from maia_salt.configure import configure
from support.secrets import find_secrets, stored_secrets
from support.site import SITE_ENV, SITE_INVENTORY

PASSPHRASE = "correct horse battery staple"
KUBECONFIG = {"apiVersion": "v1", "kind": "Config",
              "clusters": [{"name": "func", "cluster": {"server": "https://198.18.0.11:16443",
                                                        "certificate-authority-data": "Q0EgZGF0YQ=="}}],
              "users": [{"name": "admin", "user": {"token": "kubeconfig-token-value-0123456789"}}],
              "contexts": [{"name": "func", "context": {"cluster": "func", "user": "admin"}}],
              "current-context": "func"}


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site" / "config"
    folder.parent.mkdir()
    configure(None, {**SITE_ENV, "CONFIG_FOLDER": str(folder)}, None, cifs_key=True)
    (folder / "inventory.yaml").write_text(yaml.safe_dump(SITE_INVENTORY))
    version = folder / ".maia-kube" / "v-1"
    version.mkdir(parents=True, mode=0o700)
    (version / "func-kubeconfig.yaml").write_text(yaml.safe_dump(KUBECONFIG))
    (version / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nQ0EgZGF0YQ==\n-----END CERTIFICATE-----\n")
    for name in ("func-kubeconfig.yaml", "ca.crt"):
        os.chmod(version / name, 0o600)
        os.symlink(f".maia-kube/current/{name}", folder / name)
    os.symlink("v-1", folder / ".maia-kube" / "current")
    # the runner's record of its last fetch (a digest), and a temporary file of an interrupted one
    (folder / ".maia-kube" / "exported-maia-node-0.sha256").write_text("ab" * 32 + "\n")
    (folder / ".maia-kube" / "exported-maia-node-0.sha256.0a1b2c3d4e5f").write_text("cd" * 32 + "\n")
    for record in (folder / ".maia-kube").glob("exported-*"):
        os.chmod(record, 0o600)
    return folder


@pytest.fixture
def key_file(tmp_path):
    (tmp_path / "keys").mkdir()
    path = tmp_path / "keys" / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    return path


def _maia(*args, **kw):
    return CliRunner().invoke(cli.main, [str(a) for a in args], **kw)


def _tree(folder):
    """{relative path: (content, mode)} of the files as read through links."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), stat.S_IMODE(os.stat(p).st_mode))
            for p in sorted(folder.rglob("*")) if p.is_file() and ".maia-kube" not in p.parts}


def test_the_archive_is_encrypted_0600_and_restores_the_same_folder(tmp_path, site, key_file):
    archive = tmp_path / "out" / "site.maiabackup"
    archive.parent.mkdir()
    made = _maia("backup", "--config-only", "--config-folder", site, "-o", archive, "--passphrase-file", key_file)
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    assert [p.name for p in archive.parent.iterdir()] == ["site.maiabackup"]  # no temporary file left

    secrets = stored_secrets(site)  # what the folder's files hold
    assert {"env.json:ARGOCD_PASSWORD", "cifs_key:line0", "func-kubeconfig.yaml:admin:token"} <= set(secrets)
    # the same search finds every secret in the archive's unencrypted payload: it can fail
    plain = tmp_path / "plain.tar"
    plain.write_bytes(gzip.decompress(backup.pack(backup.collect(site))))
    assert len(find_secrets(secrets, [plain])) >= len(secrets)
    assert find_secrets(secrets, [archive]) == []
    assert PASSPHRASE.encode() not in archive.read_bytes()

    target = tmp_path / "restored" / "config"
    target.parent.mkdir()
    back = _maia("restore", archive, "--config-folder", target, "--passphrase-file", key_file)
    assert back.exit_code == 0, back.output
    assert _tree(target) == _tree(site)
    assert not (target / "func-kubeconfig.yaml").is_symlink()
    # of .maia-kube, the record of the last fetch only: the restored pair counts as fetched
    record = target / ".maia-kube" / "exported-maia-node-0.sha256"
    assert os.listdir(target / ".maia-kube") == [record.name]
    assert record.read_text() == "ab" * 32 + "\n" and stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(target / "env.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    assert os.listdir(target.parent) == ["config"]


def test_a_wrong_passphrase_or_a_changed_byte_writes_nothing(tmp_path, site, key_file):
    archive = tmp_path / "site.maiabackup"
    assert _maia("backup", "--config-only", "--config-folder", site, "-o", archive, "--passphrase-file", key_file).exit_code == 0
    target = tmp_path / "restored"
    target.mkdir()
    wrong = _maia("restore", archive, "--config-folder", target, "--passphrase-file", "-",
                  input="not the passphrase at all\n")
    assert wrong.exit_code == 2 and "wrong passphrase" in wrong.output and "nothing was written" in wrong.output
    assert list(target.iterdir()) == [] and sorted(os.listdir(tmp_path)) == ["keys", "restored", "site",
                                                                             "site.maiabackup"]
    data = bytearray(archive.read_bytes())
    data[-40] ^= 1
    changed = tmp_path / "changed.maiabackup"
    changed.write_bytes(bytes(data))
    broken = _maia("restore", changed, "--config-folder", target, "--passphrase-file", key_file)
    assert broken.exit_code == 2 and "changed or damaged" in broken.output and list(target.iterdir()) == []


def test_restore_refuses_a_folder_in_use(tmp_path, site, key_file):
    archive = tmp_path / "site.maiabackup"
    assert _maia("backup", "--config-only", "--config-folder", site, "-o", archive, "--passphrase-file", key_file).exit_code == 0
    before = _tree(site)
    refused = _maia("restore", archive, "--config-folder", site, "--passphrase-file", key_file)
    assert refused.exit_code == 2 and "not an empty folder" in refused.output
    assert _tree(site) == before


def test_the_passphrase_stays_away_from_the_archive(tmp_path, site):
    beside = tmp_path / "passphrase"
    beside.write_text(PASSPHRASE)
    refused = _maia("backup", "--config-only", "--config-folder", site, "-o", tmp_path / "site.maiabackup", "--passphrase-file", beside)
    assert refused.exit_code == 2 and "archive's folder" in refused.output
    short = _maia("backup", "--config-only", "--config-folder", site, "-o", tmp_path / "site.maiabackup", "--passphrase-file", "-",
                  input="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output
    inside = _maia("backup", "--config-only", "--config-folder", site, "-o", site / "site.maiabackup", "--passphrase-file", "-",
                   input=PASSPHRASE + "\n")
    assert inside.exit_code == 2 and "inside CONFIG_FOLDER" in inside.output
    assert not list(tmp_path.glob("*.maiabackup")) and not (site / "site.maiabackup").exists()


def test_an_archive_that_reaches_outside_the_folder_is_refused(tmp_path):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("config/../../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(backup.BackupError, match="outside config/"):
        backup.unpack(buffer.getvalue())
    assert not (tmp_path.parent / "escaped").exists()


def test_the_cluster_files_go_only_where_asked(tmp_path, site, key_file):
    """The control plane's files (here given by a fake fetch; the lab test takes them from the
    MicroK8s stand-in through a minion) are sealed with the folder and written only by --cluster-to,
    into an existing folder that holds none of them; a refusal comes before CONFIG_FOLDER is written."""
    cluster = {"datastore.tar.gz": b"snapshot bytes", "ca.crt": b"cert",
               "ca.key": b"-----BEGIN KEY-----\nCLUSTER-CA-KEY-LINE-0123456789abcdef\n"}

    def fetch(contents):
        contents.cluster = dict(cluster)
        contents.manifest["cluster"] = {"host": "maia-node-0", "distribution": "microk8s",
                                        "files": backup._digests(cluster)}

    archive = tmp_path / "site.maiabackup"
    backup.backup(site, archive, PASSPHRASE, fetch)
    assert b"CLUSTER-CA-KEY-LINE" not in archive.read_bytes()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "ca.key").write_text("an older key")
    refused = _maia("restore", archive, "--config-folder", tmp_path / "new", "--cluster-to", taken,
                    "--passphrase-file", key_file)
    assert refused.exit_code == 2 and "without ca.key" in refused.output, refused.output
    assert not (tmp_path / "new").exists() and (taken / "ca.key").read_text() == "an older key"

    out = tmp_path / "cluster"
    out.mkdir()
    done = _maia("restore", archive, "--config-folder", tmp_path / "new", "--cluster-to", out,
                 "--passphrase-file", key_file)
    assert done.exit_code == 0, done.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == cluster
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in out.iterdir()} == {0o600}
    assert _tree(tmp_path / "new") == _tree(site)

    config_only = tmp_path / "config-only.maiabackup"
    backup.backup(site, config_only, PASSPHRASE)
    empty = tmp_path / "empty"
    empty.mkdir()
    none = _maia("restore", config_only, "--config-folder", tmp_path / "other", "--cluster-to", empty,
                 "--passphrase-file", key_file)
    assert none.exit_code == 2 and "--config-only" in none.output and not (tmp_path / "other").exists()
