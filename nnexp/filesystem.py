"""The local disks nnexp writes to: safe names, writable before anything runs, a full disk said once.

:func:`check_safe_name` refuses a name that becomes a path (an experiment, a run, a study name)
when it could walk out of its directory: :class:`~nnexp.errors.UnsafeName` (exit 2).
:func:`check_writable` is called before a run or a sweep starts, with the places it will
write (the tracking home, the Optuna journal, the output dir): a read-only one is refused with
:class:`~nnexp.errors.NotWritable` (exit 2) naming it, instead of a ``PermissionError`` once
training is over. :func:`disk_full` is the one place that recognises a full disk in any error
(``ENOSPC``, ``EDQUOT``, SQLite's "database or disk is full", also wrapped by MLflow or
SQLAlchemy) and turns it into :class:`~nnexp.errors.DiskFull` (exit 3). :func:`cache_dir` is
where nnexp keeps what it can rebuild (baseline scores, the empty MLflow store's template).
"""

from __future__ import annotations

import errno
import os
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from nnexp.errors import DiskFull, NotWritable, UnsafeName

#: Environment variable naming the cache directory.
CACHE_DIR_ENV = "NNEXP_CACHE_DIR"
#: ``errno`` values of a full disk or an exhausted quota.
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
#: How a full disk reads when only the text of an error survives (SQLite, MLflow, SQLAlchemy).
FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded")


def cache_dir() -> Path:
    """``$NNEXP_CACHE_DIR``, else ``$XDG_CACHE_HOME/nnexp``, else ``~/.cache/nnexp``: what nnexp
    can rebuild (baseline scores, the empty MLflow store's template); safe to delete."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "nnexp"


#: A dot, a slash and a backslash percent-encoded: refused in a name as written.
_ENCODED_DOT = ("%2e", "%2f", "%5c")


def check_safe_name(value: str, what: str) -> str:
    """Return ``value`` unless it could walk out of a directory: ``..`` segments, absolute
    paths, backslashes, NUL, or their percent-encoded forms (``%2e%2e``); else raise
    :class:`UnsafeName` naming ``what``. Called before anything is written."""
    text = str(value)
    lowered = text.lower()
    decoded = urllib.parse.unquote(urllib.parse.unquote(text))
    problems = (
        not text.strip(),
        "\x00" in decoded,
        "\\" in decoded,
        decoded.startswith(("/", "~")),
        any(part == ".." for part in decoded.split("/")),
        any(code in lowered for code in _ENCODED_DOT),
    )
    if any(problems):
        raise UnsafeName(
            f"{what} {text!r} is not a safe name: no empty names, '..' segments, absolute "
            "paths, backslashes or percent-encoded dots/slashes"
        )
    return text


#: The places this process was told it writes (by :func:`check_writable`): where
#: :func:`disk_full` looks for the full disk when an error does not name its file.
_CHECKED: dict[Path, None] = {}


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
    if not parent.is_dir():  # not a permission problem: the write itself will say what is wrong
        return None
    return None if os.access(parent, os.W_OK | os.X_OK) else parent


def check_writable(places: Iterable[tuple[str, Path | None, str]]) -> None:
    """Raise :class:`NotWritable` for the first ``(what, path, fix)`` that cannot be written:
    ``path`` is a file or directory nnexp will write (it may not exist yet); ``fix`` says how to
    point it elsewhere. A read-only file system counts, also for root (``os.access``)."""
    for what, path, fix in places:
        if path is None:
            continue
        _CHECKED[Path(path)] = None
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


def disk_full(exc: BaseException, where: Iterable[str | os.PathLike[str] | None] = ()) -> DiskFull | None:
    """A :class:`DiskFull` when ``exc`` (or an error in its cause chain) says the disk is full,
    else None. Its message names the file that could not be written; when the error does not
    say (SQLite, a journal append), the fullest disk among ``where``, the places this process
    last checked (:func:`check_writable`) and the working directory."""
    if isinstance(exc, DiskFull):
        return exc
    full = _full_error(exc)
    if full is None:
        return None
    path = getattr(full, "filename", None)
    why = "No space left on device" if isinstance(full, OSError) else "database or disk is full"
    if not path:  # the fullest of the places it may have been
        candidates = [Path(p) for p in [*where, *_CHECKED] if p is not None] + [Path.cwd()]
        path = min(candidates, key=_free_bytes)
    mount = _mount_point(Path(path))
    what = f"cannot write {path}" if getattr(full, "filename", None) else f"writing under {path} failed"
    return DiskFull(
        f"the disk is full: {what} ({why}; {_free_bytes(mount) // 1024} KiB left on {mount}). Free "
        f"space on {mount} (df -h {mount}), then run the same command again: what was recorded is kept"
    )


def _full_error(exc: BaseException) -> BaseException | None:
    """The error in ``exc``'s cause chain that says the disk is full (an ``OSError`` first)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    found = None
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in FULL_ERRNOS:
            return cur
        if found is None and any(text in str(cur).lower() for text in FULL_TEXTS):
            found = cur
        cur = cur.__cause__ or cur.__context__
    return found


def _existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mount_point(path: Path) -> Path:
    """The mount point of the file system holding ``path`` (the disk that is full)."""
    path = _existing(path)
    try:
        dev = path.stat().st_dev
        while path != path.parent and path.parent.stat().st_dev == dev:
            path = path.parent
    except OSError:
        pass
    return path


def _free_bytes(path: Path) -> int:
    try:
        st = os.statvfs(_existing(path))
    except OSError:
        return 1 << 62
    return st.f_bavail * st.f_frsize
