"""Clear errors for an Optuna storage that cannot work, found before any trial or file exists.

:func:`check_storage` runs once, right after ``hydra.sweeper.storage`` is resolved, and raises
:class:`~nnexp.errors.SweepSettingError` (exit 2, "invalid sweep: ...") saying what is
wrong and how to fix it, instead of the raw traceback the first database call would give:

* an unknown URL scheme (``notascheme://x``): the schemes that work;
* a missing database driver (``psycopg`` for PostgreSQL): the ``pip install`` that adds it;
* a server host name that does not resolve: which host, and to fix the URL;
* a damaged journal file (a record that is not JSON before the last line; a torn *last* line
  is the remains of a writer killed mid-write and is dropped as before): the file, the line
  number and how to recover.

* a database server (PostgreSQL, MySQL) that refuses the login (a wrong password or user) or
  has no database of that name: what the server said, and how to fix it.

A database server that does not answer (nothing listens on the port, a timeout) is
:class:`~nnexp.errors.StorageUnavailable` (exit 3, "start the server ... run the same command
again"), as when it goes away mid-sweep. That one connection is the only one made here.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

from nnexp.errors import SweepSettingError
from nnexp.search.storage import local_file
from nnexp.tracking.masking import mask_secrets

#: ``pip`` commands that install the driver of a SQLAlchemy dialect.
DRIVER_INSTALL = {
    "postgresql": "pip install -e '.[postgres]'",
    "mysql": "pip install pymysql (and use mysql+pymysql://...)",
    "redis": "pip install redis",
}
#: What ``hydra.sweeper.storage`` accepts (for the unknown-scheme message).
ACCEPTED = (
    "null (mlruns/optuna/journal.log), journal:<path>, sqlite:///optuna.db, "
    "postgresql://user@host:5432/db, mysql+pymysql://user@host/db, redis://host:6379"
)


def check_storage(url: str) -> None:
    """Refuse a resolved storage ``url`` that cannot work (see the module doc)."""
    if url.startswith(("journal:", "journal-nfs:")):
        path = local_file(url)
        if path is not None:
            check_journal(path)
        return
    if url.startswith(("redis://", "rediss://", "unix://")):
        _check_import("redis", url, "redis")
        _check_host(url)
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = mask_secrets(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SweepSettingError(
            f"hydra.sweeper.storage: {shown!r} is not a storage URL; use {ACCEPTED}"
        ) from None
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise SweepSettingError(
            f"hydra.sweeper.storage: unknown scheme {parsed.drivername!r} in {shown!r}; use {ACCEPTED}"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        backend = parsed.get_backend_name()
        fix = DRIVER_INSTALL.get(backend, f"install the Python driver for {parsed.drivername}")
        raise SweepSettingError(
            f"hydra.sweeper.storage {shown!r} needs the {backend} driver "
            f"({getattr(exc, 'name', None) or exc}), which is not installed: {fix}"
        ) from None
    if parsed.host and backend_is_server(parsed.get_backend_name()):
        _check_host(url, parsed.host, parsed.port)
    if backend_is_server(parsed.get_backend_name()):
        check_login(url)


def backend_is_server(backend: str) -> bool:
    """Whether a SQLAlchemy backend talks to a server by host name (not a local file)."""
    return backend not in ("sqlite",)


#: What a database server says when it refuses a connection for a reason the URL can fix
#: (PostgreSQL, MySQL), and the fix.
LOGIN_REFUSALS = (
    (
        re.compile(
            r"password authentication failed|no password supplied|access denied for user|"
            r'role "[^"]*" does not exist',
            re.IGNORECASE,
        ),
        "the user or password is wrong: fix them in the URL (or NNEXP_OPTUNA_STORAGE, PGPASSWORD, ~/.pgpass)",
    ),
    (
        re.compile(r'database "[^"]*" does not exist|unknown database', re.IGNORECASE),
        "create the database (createdb, CREATE DATABASE) or fix its name in the URL (or "
        "NNEXP_OPTUNA_STORAGE)",
    ),
)


def check_login(url: str, timeout: float = 10.0) -> None:
    """Connect once to the database server behind ``url``: a refused login or an unknown
    database is a :class:`SweepSettingError` (exit 2) quoting the server, password masked; a
    server that does not answer is :class:`~nnexp.errors.StorageUnavailable` (exit 3)."""
    from nnexp.errors import StorageUnavailable
    from nnexp.search.health import probe_storage

    try:
        probe_storage(url, timeout)
    except StorageUnavailable as exc:
        # probe_storage raises "from None": the driver's error is still its __context__
        said = str(exc.__context__ or "")
        for pattern, fix in LOGIN_REFUSALS:
            found = pattern.search(said)
            if found:
                line = said[found.start() :].splitlines()[0].strip()
                raise SweepSettingError(
                    f"hydra.sweeper.storage {mask_secrets(url)!r}: the server refused the "
                    f"connection ({mask_secrets(line)}); {fix}"
                ) from None
        raise


def _check_import(module: str, url: str, backend: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise SweepSettingError(
            f"hydra.sweeper.storage {mask_secrets(url)!r} needs the {module} package, which is "
            f"not installed: {DRIVER_INSTALL[backend]}"
        ) from None


def _check_host(url: str, host: str | None = None, port: int | None = None) -> None:
    """Refuse a host name that does not resolve (no connection is made)."""
    if host is None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    if not host:
        return
    try:
        socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SweepSettingError(
            f"hydra.sweeper.storage {mask_secrets(url)!r}: the host {host!r} does not resolve "
            f"({exc.strerror or exc}); fix the host name in the URL (or NNEXP_OPTUNA_STORAGE)"
        ) from None


def check_journal(path: Path) -> None:
    """Refuse a journal with a line that is not a JSON record before its last line."""
    if not path.is_file():
        return
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                return  # a torn last record: dropped by the next append
            try:
                json.loads(line)
            except ValueError as exc:
                msg = getattr(exc, "msg", None) or str(exc)
                raise SweepSettingError(journal_damage(path, number, msg)) from None


def journal_damage(path: Path, number: int, why: str) -> str:
    """The message for a damaged record at line ``number`` of the journal ``path``."""
    keep = number - 1
    return (
        f"the Optuna journal {path} is damaged at line {number} ({why}): that record is not "
        f"JSON, so the study cannot be read. To recover, keep a copy and cut the journal "
        f"before that line (the trials recorded from it on are lost; the rest resume): "
        f"cp {path} {path}.bak && head -n {keep} {path}.bak > {path}"
    )
