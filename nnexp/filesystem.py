"""The local disks nnexp writes to: writable before anything runs, and a full disk said once.

:func:`check_writable` is called before a run or a sweep starts, with the places it will
write (the tracking home, the Optuna journal, the output dir): a read-only one is refused with
:class:`~nnexp.errors.NotWritable` (exit 2) naming it, instead of a ``PermissionError`` once
training is over. :func:`disk_full` is the one place that recognises a full disk in any error
(``ENOSPC``, ``EDQUOT``, SQLite's "database or disk is full", also wrapped by MLflow or
SQLAlchemy) and turns it into :class:`~nnexp.errors.DiskFull` (exit 3).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from nnexp.errors import DiskFull, NotWritable

#: ``errno`` values of a full disk or an exhausted quota.
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
#: How a full disk reads when only the text of an error survives (SQLite, MLflow, SQLAlchemy).
FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded")


def _blocker(path: Path) -> Path | None:
    """The file or directory that keeps ``path`` from being written (``path`` itself when it
    exists, its directory, or the nearest existing directory above it); None when writable."""
    path = Path(os.path.abspath(path))
    if path.exists():
        if not os.access(path, os.W_OK):
            return path
        if path.is_dir():
            return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return None if os.access(parent, os.W_OK | os.X_OK) else parent


def check_writable(places: Iterable[tuple[str, Path | None, str]]) -> None:
    """Raise :class:`NotWritable` for the first ``(what, path, fix)`` that cannot be written:
    ``path`` is a file or directory nnexp will write (it may not exist yet); ``fix`` says how to
    point it elsewhere. A read-only file system counts, also for root (``os.access``)."""
    for what, path, fix in places:
        if path is None:
            continue
        blocker = _blocker(path)
        if blocker is not None:
            why = "read-only file system" if _read_only_fs(blocker) else "no write permission"
            raise NotWritable(
                f"cannot write {what} at {path}: {blocker} is not writable ({why}); "
                f"make it writable, or {fix}"
            )


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def disk_full(exc: BaseException, where: str | os.PathLike[str] | None = None) -> DiskFull | None:
    """A :class:`DiskFull` when ``exc`` (or an error in its cause chain) says the disk is full,
    else None. Its message names the file that could not be written (``where`` when the error
    does not say, e.g. SQLite's) and what to do."""
    if isinstance(exc, DiskFull):
        return exc
    seen: set[int] = set()
    cur: BaseException | None = exc
    full = None
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in FULL_ERRNOS:
            full = cur
            break
        if any(text in str(cur).lower() for text in FULL_TEXTS):
            full = cur
        cur = cur.__cause__ or cur.__context__
    if full is None:
        return None
    path = getattr(full, "filename", None) or where
    target = f"cannot write {path}" if path else "cannot write"
    spot = Path(path).parent if path else Path.cwd()
    return DiskFull(
        f"the disk is full: {target} (No space left on device). Free space on it "
        f"(df -h {spot}), then run the same command again: what was recorded is kept"
    )
