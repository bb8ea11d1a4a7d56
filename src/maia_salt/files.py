"""Small file helpers shared by the configuration and inventory writers."""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import secrets
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml


# libyaml's parser where PyYAML was built with it: about 5 times faster than the pure-Python one,
# and the pillar of every host parses the CONFIG_FOLDER's YAML on each compile
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_yaml_unique(text: str):
    """Parse YAML, failing on a key given twice in one mapping."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def load_yaml_mapping(path: Path, error: type, expected: str) -> dict:
    """A YAML file that holds a mapping ({} when empty); a file that cannot be read, is not YAML
    or holds something else raises ``error`` naming the file (``expected`` says what it should hold)."""
    try:
        data = load_yaml_unique(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot be read as YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise error(f"{path}: {expected}")
    return data


def dump_yaml(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


@dataclass
class PlannedFile:
    name: str
    content: bytes
    mode: int


def write_files_atomically(folder: Path, files: list[PlannedFile]) -> list[str]:
    """Write every file or none.

    All contents go to temporary files in ``folder`` first; then each one is
    renamed over its target. If a rename fails, the targets already replaced are
    restored from hard-link backups, so the folder ends as it was. Returns the
    names whose content changed.
    """
    folder = Path(folder)
    staged: list[tuple[PlannedFile, str]] = []
    backups: dict[str, str | None] = {}
    replaced: list[str] = []
    try:
        for planned in files:
            fd, tmp = tempfile.mkstemp(prefix=f".{planned.name}.", suffix=".tmp", dir=folder)
            staged.append((planned, tmp))
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), planned.mode)
                handle.write(planned.content)
                handle.flush()
                os.fsync(handle.fileno())
        changed = [p.name for p, _ in staged if _read(folder / p.name) != p.content]
        for planned, tmp in staged:
            target = folder / planned.name
            backup = None
            if target.is_file():
                backup = str(folder / f".{planned.name}.backup")
                if os.path.lexists(backup):
                    os.unlink(backup)
                os.link(target, backup)
            backups[planned.name] = backup
            os.replace(tmp, target)
            replaced.append(planned.name)
        _fsync_dir(folder)
        return changed
    except BaseException:
        for name in reversed(replaced):
            backup = backups.get(name)
            if backup:
                os.replace(backup, folder / name)
            else:
                os.unlink(folder / name)
        raise
    finally:
        for _, tmp in staged:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        for backup in backups.values():
            if backup and os.path.lexists(backup):
                os.unlink(backup)


class FolderError(ValueError):
    """CONFIG_FOLDER cannot be used or written; the message names it and the fix."""


@dataclass
class CommitReport:
    """What a commit changed: file contents, file modes and the folder's mode."""

    changed: list[str] = field(default_factory=list)
    modes: list[tuple[str, int, int]] = field(default_factory=list)  # (name, old mode, new mode)
    atomic: bool = True  # False when the per-file fallback was used


STAGING_MARK = ".maia-staging-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def check_folder(folder: Path) -> None:
    """Refuse a folder we must not take over: not a folder, shared (world-writable or
    sticky, such as /tmp) or owned by someone else. Nothing is changed here."""
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FolderError(f"CONFIG_FOLDER={str(folder)!r} cannot be read ({exc.strerror}): choose another folder")
    if not stat.S_ISDIR(st.st_mode):
        raise FolderError(f"CONFIG_FOLDER={str(folder)!r} exists and is not a folder: choose another path")
    if st.st_mode & (stat.S_IWOTH | stat.S_ISVTX):
        raise FolderError(
            f"CONFIG_FOLDER={str(folder)!r} is world-writable or sticky ({stat.S_IMODE(st.st_mode):04o}), a shared "
            f"folder such as /tmp: choose a folder of its own, e.g. /opt/maia/config"
        )
    if st.st_uid != os.geteuid():
        raise FolderError(
            f"CONFIG_FOLDER={str(folder)!r} is owned by uid {st.st_uid}, not by uid {os.geteuid()} that runs "
            f"maia-configure: run it as the folder's owner, or chown the folder"
        )


def _renameat2_exchange(a: Path, b: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(a))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` to a new file ``path`` (O_EXCL: never over an existing one, no link followed), ``mode``, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _link_tree(src: Path, dst: Path, skip: set[str]) -> None:
    """Mirror ``src`` into ``dst`` with hard links (directories recreated), leaving out ``skip``.

    A mount point inside raises EXDEV, so that the caller falls back to per-file writes
    instead of swapping (and later removing) a tree that reaches into another filesystem.
    """
    device = os.stat(src).st_dev
    for entry in os.scandir(src):
        if entry.name in skip:
            continue
        target = dst / entry.name
        st = entry.stat(follow_symlinks=False)
        if st.st_dev != device:
            raise OSError(errno.EXDEV, "a mount point inside CONFIG_FOLDER", entry.path)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir(follow_symlinks=False):
            os.mkdir(target, 0o700)
            _link_tree(Path(entry.path), target, set())
            os.chmod(target, stat.S_IMODE(st.st_mode))
            if os.geteuid() == 0:
                os.chown(target, st.st_uid, st.st_gid)
            _fsync_dir(target)
        elif entry.is_file(follow_symlinks=False):
            try:
                os.link(entry.path, target, follow_symlinks=False)
            except PermissionError:  # protected_hardlinks: someone else's file, copy it
                shutil.copy2(entry.path, target, follow_symlinks=False)
        else:
            raise FolderError(f"{entry.path} is a special file (socket, fifo or device): move it out of CONFIG_FOLDER")


def _mounts_at_or_below(folder: Path) -> list[str]:
    """Mount points at or inside ``folder`` (bind mounts of the same filesystem included)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    prefix = str(folder).rstrip("/") + "/"
    points = []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].encode().decode("unicode_escape")  # \040 for spaces
            if point == str(folder) or point.startswith(prefix):
                points.append(point)
    return points


def _remove_stale_staging(parent: Path, name: str) -> None:
    prefix = f".{name}{STAGING_MARK}"
    for entry in os.scandir(parent):
        if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def commit_folder(folder, files: list[PlannedFile], folder_mode: int = 0o700) -> CommitReport:
    """Write ``files`` into ``folder`` all together or not at all, durably.

    The new folder is built beside the old one (every other entry of the old
    folder hard-linked in, our files written and fsynced), then swapped in with
    one atomic ``renameat2(RENAME_EXCHANGE)``, the parent fsynced and the old copy
    removed. A run killed at any point leaves the old folder or the new one;
    what it may leave is the staging copy beside the folder
    (``.<name>.maia-staging-*``), which the next run removes. Where the exchange
    is not possible (parent not writable, folder is a mount point, a filesystem
    without renameat2), each file is replaced on its own (durable, but not all
    together); the report says so.
    """
    folder = Path(os.path.realpath(folder))
    check_folder(folder)
    for planned in files:
        target = folder / planned.name
        if os.path.lexists(target) and not target.is_file() or target.is_symlink():
            raise FolderError(f"{target} is not a regular file: move it away, maia-configure writes a file there")
    exists = folder.is_dir()
    report = CommitReport()
    report.changed = [p.name for p in files if _read(folder / p.name) != p.content]
    for planned in files:
        old = _mode(folder / planned.name)
        if old is not None and old != planned.mode:
            report.modes.append((planned.name, old, planned.mode))
    if exists and _mode(folder) != folder_mode:
        report.modes.append((".", _mode(folder), folder_mode))
    if exists and not report.changed and not report.modes:
        return report
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise FolderError(f"CONFIG_FOLDER={str(folder)!r} cannot be created ({exc.strerror}): choose a writable path")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _commit_by_exchange(folder, files, folder_mode, exists)
        except PermissionError:
            if not exists:
                raise
            report.atomic = False
            _commit_per_file(folder, files, folder_mode)
        except OSError as exc:
            if not exists or exc.errno not in (errno.EXDEV, errno.EBUSY, errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                raise
            report.atomic = False
            _commit_per_file(folder, files, folder_mode)
    except OSError as exc:
        raise FolderError(
            f"CONFIG_FOLDER={str(folder)!r} cannot be written ({exc.strerror}"
            f"{': ' + exc.filename if exc.filename else ''}): fix its permissions or choose another folder"
        ) from None
    finally:
        os.close(lock)
    return report


def _commit_by_exchange(folder: Path, files: list[PlannedFile], folder_mode: int, exists: bool) -> None:
    parent = folder.parent
    if exists and _mounts_at_or_below(folder):
        raise OSError(errno.EBUSY, "a mount point at or inside CONFIG_FOLDER", str(folder))
    _remove_stale_staging(parent, folder.name)
    staging = parent / f".{folder.name}{STAGING_MARK}{secrets.token_hex(4)}"
    os.mkdir(staging, 0o700)
    try:
        if exists:
            _link_tree(folder, staging, {p.name for p in files})
        for planned in files:
            write_new(staging / planned.name, planned.content, planned.mode)
        os.chmod(staging, folder_mode)
        _fsync_dir(staging)
        if exists:
            _renameat2_exchange(staging, folder)
        else:
            os.rename(staging, folder)
        _fsync_dir(parent)
    finally:
        # the old folder after the swap, or the unfinished new one; a leftover goes with the next run
        shutil.rmtree(staging, ignore_errors=True)


def _commit_per_file(folder: Path, files: list[PlannedFile], folder_mode: int) -> None:
    os.chmod(folder, folder_mode)
    write_files_atomically(folder, files)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
