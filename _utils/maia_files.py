"""Writing a host file safely: one writer for the states that write files with credentials.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"):
plain functions, no Salt dunders.
"""
import contextlib
import os
import tempfile


def write_private(path, text, mode, uid=-1, gid=-1, dir_mode=0o700):
    """Write ``text`` to ``path`` through a private temporary file beside it: a fresh name
    (``mkstemp``: ``O_CREAT|O_EXCL``, 0600, never a symlink someone planted), mode and owner set
    on the open file (``fchmod``/``fchown``; -1 keeps the owner), fsynced, then renamed over
    ``path``. A missing folder is made with ``dir_mode``."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".maia-tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), int(str(mode), 8))
            if uid != -1 or gid != -1:
                os.fchown(fh.fileno(), uid, gid)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
