"""``maia backup`` and ``maia restore``: one encrypted archive of a site.

What the archive holds: the cluster's datastore snapshot and CA (certificate and key), taken on the
control plane by ``maia_datastore.snapshot`` (MicroK8s ``dbctl backup``; k3s: its SQLite datastore or etcd
snapshot, token and CAs) and handed over sealed to
this process's one-time key (:mod:`maia_salt.sealed`), under ``cluster/``; and every file of CONFIG_FOLDER (env.json with its secrets, the cluster YAML,
the registry credentials, the realm, the CIFS key pair, inventory.yaml, ...) with its mode, and
the exported kubeconfig and cluster CA (``<CLUSTER_NAME>-kubeconfig.yaml``, ``ca.crt``) as
regular files: CONFIG_FOLDER keeps them as links into ``.maia-kube/current``
(_runners/maia_kubeconfig.py), whose versions are not copied; the next kubeconfig fetch links
them again without changing their content. The runner's records of what each host exported at the
last fetch (``.maia-kube/exported-<host>.sha256``, digests) are kept, so that ``maia install`` after
a restore finds the restored pair current and fetches only when the host exports something else.

How it is sealed: a tar (gzip) of those files and a manifest, encrypted with AES-256-GCM under a
key derived from the admin's passphrase with scrypt (a fresh salt and nonce per archive; the
header is authenticated with it). The passphrase is never written anywhere. A wrong passphrase,
or an archive changed by one byte, fails the GCM tag: :func:`open_archive` raises
:class:`BackupError` before anything is written.

Restoring writes into an empty (or new) CONFIG_FOLDER only: the files go to a staging folder
beside it, which takes the folder's place in one rename once every file is written. The cluster
files are written only where the admin asks (``cluster_to``), for a rebuilt control plane.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import stat
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAGIC = b"MAIA-SALT-BACKUP-1\n"
SALT_BYTES, NONCE_BYTES = 16, 12
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1  # 128 MiB of memory per derivation
MIN_PASSPHRASE = 12
CONFIG = "config"
CLUSTER = "cluster"
CLUSTER_FILES = ("datastore.tar.gz", "ca.crt", "ca.key")  # what maia_datastore.snapshot hands over
SNAPSHOT_TIMEOUT = 900
MANIFEST = "manifest.json"
# the kubeconfig runner's folder (_runners/maia_kubeconfig.py) and its records of the last fetch
PAIR_DIR = ".maia-kube"
_FETCH_RECORD = re.compile(r"exported-[A-Za-z0-9][A-Za-z0-9._-]*\.sha256")


class BackupError(ValueError):
    """The archive cannot be written, read or restored; the message says why and what to do."""


@dataclass
class Contents:
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # relative path -> (content, mode)
    cluster: dict[str, bytes] = field(default_factory=dict)  # CLUSTER_FILES of the control plane
    manifest: dict = field(default_factory=dict)


def _key(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode("utf-8"))


def check_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase has {len(passphrase)} characters: give at least {MIN_PASSPHRASE}")
    return passphrase


def seal(payload: bytes, passphrase: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = secrets.token_bytes(SALT_BYTES), secrets.token_bytes(NONCE_BYTES)
    header = MAGIC + salt + nonce
    return header + AESGCM(_key(passphrase, salt)).encrypt(nonce, payload, header)


def unseal(data: bytes, passphrase: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + SALT_BYTES + NONCE_BYTES + 16:
        raise BackupError("not a maia backup archive (its first bytes are not maia backup's): give the file "
                          "`maia backup` wrote")
    salt = data[len(MAGIC):len(MAGIC) + SALT_BYTES]
    nonce = data[len(MAGIC) + SALT_BYTES:len(MAGIC) + SALT_BYTES + NONCE_BYTES]
    header = data[:len(MAGIC) + SALT_BYTES + NONCE_BYTES]
    try:
        return AESGCM(_key(passphrase, salt)).decrypt(nonce, data[len(header):], header)
    except InvalidTag:
        raise BackupError("wrong passphrase, or the archive was changed or damaged: nothing was written") from None


# ------------------------------------------------------------------ reading CONFIG_FOLDER


def _inside(folder: Path, path: Path) -> bool:
    real = os.path.realpath(path)
    return real == str(folder) or real.startswith(str(folder) + os.sep)


def collect(folder: Path) -> Contents:
    """Every file of ``folder`` (links followed when they stay inside it), with its mode."""
    folder = Path(os.path.realpath(folder))
    contents = Contents()
    for root, dirs, names in os.walk(folder):
        base = Path(root)
        if base == folder / PAIR_DIR:
            # of the fetched pair's folder, the records of the last fetch only (the pair is the one
            # the links show, stored as plain files): with them a restored pair counts as fetched
            dirs[:], names = [], [n for n in names if _FETCH_RECORD.fullmatch(n)]
        # hidden folders: .maia-kube (the fetched pair's versions; the current pair is stored through
        # its links, as plain files) and the staging copies of an interrupted write
        dirs[:] = sorted(d for d in dirs if (not d.startswith(".") or (base == folder and d == PAIR_DIR))
                         and not (base / d).is_symlink())
        for name in sorted(names):
            path = base / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink() and not _inside(folder, path):
                raise BackupError(f"{path} links outside CONFIG_FOLDER ({os.readlink(path)}): copy the file in "
                                  "or move the link away")
            if name.startswith(".") or not path.is_file():
                continue  # staging and backup leftovers of an interrupted write; sockets and the like
            st = os.stat(path)
            contents.files[relative] = (path.read_bytes(), stat.S_IMODE(st.st_mode))
    if "env.json" not in contents.files:
        raise BackupError(f"{folder} holds no env.json: give the CONFIG_FOLDER maia-configure wrote")
    try:
        cluster = json.loads(contents.files["env.json"][0]).get("cluster_name")
    except (ValueError, AttributeError):
        cluster = None
    contents.manifest = {
        "format": 1,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cluster_name": cluster,
        "files": _digests(contents.files),
    }
    return contents


def _digests(files: dict) -> dict[str, str]:
    return {name: hashlib.sha256(value[0] if isinstance(value, tuple) else value).hexdigest()
            for name, value in sorted(files.items())}


def control_plane(folder: Path) -> str:
    """The inventory's control-plane host, where the datastore is."""
    from .inventory import INVENTORY_FILE, InventoryError, load_inventory

    try:
        hosts = load_inventory(Path(folder) / INVENTORY_FILE).in_group("control-plane")
    except InventoryError as exc:
        raise BackupError(f"{exc}: fix inventory.yaml, or run maia backup --config-only") from None
    if len(hosts) != 1:
        raise BackupError(f"inventory.yaml names {len(hosts)} control-plane hosts, not one: fix it, or run "
                          "maia backup --config-only")
    return hosts[0].name


def fetch_cluster(contents: Contents, opts: dict, host: str, ssh: bool = False) -> None:
    """The datastore snapshot and CA of ``host``, sealed there to a key made here, into ``contents``."""
    from . import sealed

    private, public = sealed.keypair()
    distribution = _cluster_distribution(contents)
    try:
        bundles = sealed.ask(opts, host, "maia_datastore.snapshot",
                             {"recipient": public, "distribution": distribution}, ssh,
                             opts.get("roster_file"), SNAPSHOT_TIMEOUT)
        if list(bundles) != [host]:
            raise BackupError(f"{', '.join(bundles)} answered for {host}: nothing was written")
        data = json.loads(sealed.open_bundle(private, bundles[host]))
        files = {name: base64.b64decode(data["files"][name], validate=True) for name in CLUSTER_FILES}
    except sealed.SealError as exc:
        raise BackupError(f"the datastore snapshot of {host} failed: {exc}; nothing was written") from None
    except (KeyError, TypeError, ValueError):
        raise BackupError(f"{host} did not hand over {', '.join(CLUSTER_FILES)}: nothing was written") from None
    contents.cluster = files
    contents.manifest["cluster"] = {"host": host, "distribution": data.get("distribution"),
                                    "files": _digests(files)}


def _cluster_distribution(contents: Contents) -> str:
    import yaml

    name = contents.manifest.get("cluster_name")
    try:
        cluster = yaml.safe_load(contents.files[f"{name}.yaml"][0]) or {}
    except (KeyError, yaml.YAMLError):
        cluster = {}
    return str(cluster.get("k8s_distribution") or "microk8s")


def pack(contents: Contents) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        members = [(MANIFEST, json.dumps(contents.manifest, indent=1).encode(), 0o600)]
        members += [(f"{CONFIG}/{rel}", content, mode) for rel, (content, mode) in sorted(contents.files.items())]
        members += [(f"{CLUSTER}/{name}", content, 0o600) for name, content in sorted(contents.cluster.items())]
        for name, content, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _safe_relative(name: str) -> str | None:
    """``config/a/b`` -> ``a/b``; None for anything that is not a plain path below ``config/``."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or len(path.parts) < 2 or path.parts[0] != CONFIG:
        return None
    return PurePosixPath(*path.parts[1:]).as_posix()


def unpack(payload: bytes) -> Contents:
    contents = Contents()
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    raise BackupError(f"the archive holds {member.name!r}, which is not a file: refused")
                content = tar.extractfile(member).read()
                if member.name == MANIFEST:
                    contents.manifest = json.loads(content)
                    continue
                if member.name in {f"{CLUSTER}/{name}" for name in CLUSTER_FILES}:
                    contents.cluster[member.name.split("/", 1)[1]] = content
                    continue
                relative = _safe_relative(member.name)
                if relative is None:
                    raise BackupError(f"the archive holds {member.name!r}, outside config/: refused")
                contents.files[relative] = (content, member.mode & 0o755)  # never writable by others
    except (tarfile.TarError, OSError, ValueError) as exc:
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"the archive's content cannot be read ({exc}): nothing was written") from None
    manifest = contents.manifest or {}
    if manifest.get("files") != _digests(contents.files) or (manifest.get("cluster") or {}).get("files", {}) != \
            _digests(contents.cluster):
        raise BackupError("the archive's files do not match its manifest: nothing was written")
    return contents


# ------------------------------------------------------------------ writing


def write_archive(path: Path, data: bytes) -> None:
    """``data`` as ``path``, 0600, atomically: a temporary file beside it, fsynced, renamed over it."""
    from .files import PlannedFile, write_files_atomically

    write_files_atomically(path.parent, [PlannedFile(path.name, data, 0o600)])


def restore_into(folder: Path, contents: Contents) -> list[str]:
    """Write ``contents`` as ``folder``, which must be empty or absent; all files or none."""
    from .files import write_new  # new files only (O_EXCL, no link followed), fsynced
    folder = Path(os.path.abspath(folder))
    if folder.exists() and (not folder.is_dir() or folder.is_symlink() or any(folder.iterdir())):
        raise BackupError(f"{folder} is not an empty folder: restore into a new or empty CONFIG_FOLDER "
                          "(move the old one away first); nothing was written")
    if not folder.parent.is_dir():
        raise BackupError(f"{folder.parent} does not exist: create it first; nothing was written")
    staging = folder.parent / f".{folder.name}.maia-restore-{secrets.token_hex(4)}"
    os.mkdir(staging, 0o700)
    try:
        for relative, (content, mode) in sorted(contents.files.items()):
            target = staging / relative
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_new(target, content, mode)
        if folder.exists():
            folder.rmdir()
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(contents.files)


def check_cluster_target(folder: Path, contents: Contents) -> None:
    """Refuse, before anything is written, a ``--cluster-to`` folder the cluster files cannot go to."""
    if not contents.cluster:
        raise BackupError("the archive holds no datastore snapshot (made with --config-only): nothing was written")
    taken = [name for name in contents.cluster if os.path.lexists(folder / name)]
    if not folder.is_dir() or taken:
        raise BackupError(f"{folder} must be an existing folder without {', '.join(taken or CLUSTER_FILES)}: "
                          "nothing was written")


def write_cluster_files(folder: Path, contents: Contents) -> list[str]:
    """The cluster files as new 0600 files in the existing ``folder`` (none may be there yet)."""
    from .files import write_new

    check_cluster_target(folder, contents)
    for name, content in sorted(contents.cluster.items()):
        write_new(folder / name, content, 0o600)
    return sorted(contents.cluster)


def backup(folder: Path, output: Path, passphrase: str, fetch=None) -> Contents:
    """The archive of ``folder`` as ``output``; ``fetch(contents)`` adds the cluster's files first."""
    contents = collect(folder)
    if fetch is not None:
        fetch(contents)
    write_archive(output, seal(pack(contents), check_passphrase(passphrase)))
    return contents


def restore(archive: Path, folder: Path, passphrase: str, cluster_to: Path | None = None) -> list[str]:
    try:
        data = archive.read_bytes()
    except OSError as exc:
        raise BackupError(f"{archive} cannot be read ({exc.strerror}): nothing was written") from None
    contents = unpack(unseal(data, passphrase))
    if cluster_to is not None:
        check_cluster_target(Path(cluster_to), contents)
    names = restore_into(folder, contents)
    if cluster_to is not None:
        names += [f"{cluster_to}/{name}" for name in write_cluster_files(Path(cluster_to), contents)]
    return names
