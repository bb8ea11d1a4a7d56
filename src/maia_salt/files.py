"""Small file helpers shared by the configuration and inventory writers."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml


class _UniqueKeyLoader(yaml.SafeLoader):
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


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
