"""Where the Optuna study lives: ``hydra.sweeper.storage`` -> an Optuna storage, created once.

``storage`` accepts

* ``null`` (default): a journal file at ``<launch dir>/mlruns/optuna/journal.log``
  (Optuna's ``JournalStorage`` with a file backend: many processes on one machine append to it
  safely; no database, no schema migration);
* a journal file: ``journal:<path>``, ``file:<path>`` or any path ending in ``.log``/``.journal``
  (local file systems: appends under ``flock``, no ``fsync``); ``journal-nfs:<path>`` for a
  journal on NFS (Optuna's own backend: link-based lock, ``fsync`` per write);
* ``redis://...`` (journal on Redis; needs the ``redis`` package);
* any SQLAlchemy URL Optuna's RDB storage takes: ``sqlite:///optuna.db``,
  ``postgresql://user@host:5432/db``, ``mysql+pymysql://...``.

``null`` takes ``$NNEXP_OPTUNA_STORAGE`` first when it is set (keep passwords there, or in
``PGPASSWORD`` / ``~/.pgpass``, never on the command line: Hydra writes overrides to disk).

Relative paths are taken from the launch directory. The main (sweeper) process creates the
storage (directories, journal file, database tables) before any worker starts; workers open it
with table creation skipped, so no two processes race on a schema migration.

The journal file format lives in :mod:`nnexp.search.journal`; probing a storage server in
:mod:`nnexp.search.health`.

A storage that cannot work is said before any trial or file exists (:func:`check_storage`, at
the end of this module): Clear errors for an Optuna storage that cannot work, found before any trial or file exists.

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

import contextlib
import fcntl
import json
import logging
import os
import re
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from nnexp.errors import SweepSettingError
from nnexp.search.journal import LocalJournalFileBackend
from nnexp.tracking.masking import mask_secrets

log = logging.getLogger(__name__)

#: Default journal, relative to the launch directory.
DEFAULT_JOURNAL = Path("mlruns") / "optuna" / "journal.log"
#: Suffix of the sweep's count lock (Optuna's own journal lock is ``<file>.lock``).
COUNT_LOCK_SUFFIX = ".sweep.lock"
#: Environment variable read when ``hydra.sweeper.storage`` is null.
STORAGE_ENV = "NNEXP_OPTUNA_STORAGE"


def resolve_storage_url(url: str | None, base_dir: str | os.PathLike[str]) -> str:
    """Normalise ``url``: journal files become ``journal:<absolute path>``, SQLite paths absolute."""
    base = Path(base_dir).resolve()
    if url is None or str(url).strip() in ("", "null", "None"):
        url = os.environ.get(STORAGE_ENV, "").strip() or None
    if url is None:
        return f"journal:{base / DEFAULT_JOURNAL}"
    url = str(url).strip()
    for prefix in ("journal-nfs:", "journal:", "file:"):
        if url.startswith(prefix):
            path = url[len(prefix) :]
            path = path.removeprefix("//")
            scheme = "journal-nfs:" if prefix == "journal-nfs:" else "journal:"
            return f"{scheme}{(base / Path(path).expanduser()).resolve()}"
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///") :]
        path, _, query = rest.partition("?")
        if path and path != ":memory:" and not Path(path).is_absolute():
            path = str((base / path).resolve())
            return f"sqlite:///{path}" + (f"?{query}" if query else "")
        return url
    if "://" not in url:
        if url.endswith((".log", ".journal", ".jsonl")):
            return f"journal:{(base / Path(url).expanduser()).resolve()}"
        raise SweepSettingError(
            f"hydra.sweeper.storage: {url!r} is neither a URL nor a journal file; use e.g. "
            "null (mlruns/optuna/journal.log), journal:<path>, sqlite:///optuna.db, "
            "postgresql://user:pass@host/db, redis://host:6379"
        )
    return url


def storage_for_context(setting: str | None, url: str) -> str:
    """What the sweep context file (on disk, read by workers) records for the storage.

    A URL with a password that came from ``$NNEXP_OPTUNA_STORAGE`` is recorded as
    ``env:NNEXP_OPTUNA_STORAGE`` (workers read the variable), so no password is written.
    """
    from nnexp.tracking.masking import mask_secrets

    from_env = setting is None or str(setting).strip() in ("", "null", "None")
    if from_env and os.environ.get(STORAGE_ENV) and mask_secrets(url) != url:
        return f"env:{STORAGE_ENV}"
    return url


def context_storage_url(recorded: str, base_dir: str | os.PathLike[str]) -> str:
    """The storage URL behind a context's record (see :func:`storage_for_context`)."""
    if recorded.startswith("env:"):
        name = recorded[len("env:") :]
        value = os.environ.get(name)
        if not value:
            raise SweepSettingError(f"the sweep's Optuna storage comes from ${name}, which this worker lacks")
        return resolve_storage_url(value, base_dir)
    return recorded


def local_file(url: str) -> Path | None:
    """The file behind a journal or SQLite URL (None for servers)."""
    for scheme in ("journal:", "journal-nfs:"):
        if url.startswith(scheme):
            return Path(url[len(scheme) :])
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].partition("?")[0]
        return Path(path) if path and path != ":memory:" else None
    return None


def open_storage(url: str, *, create: bool = False) -> BaseStorage:
    """Open the storage behind a resolved ``url``; ``create`` makes files/tables (main process)."""
    for scheme, backend in (
        ("journal:", LocalJournalFileBackend),
        ("journal-nfs:", JournalFileBackend),
    ):
        if url.startswith(scheme):
            path = Path(url[len(scheme) :])
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.exists():
                raise FileNotFoundError(f"Optuna journal {path} does not exist (the sweeper creates it)")
            return JournalStorage(backend(str(path)))
    if url.startswith("redis"):
        from optuna.storages.journal import JournalRedisBackend

        return JournalStorage(JournalRedisBackend(url))
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        db = local_file(url)
        if db is not None and create:
            db.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}
    else:
        # a database server that restarted leaves dead pooled connections: check before use
        engine_kwargs = {"pool_pre_ping": True, **_connect_timeout(url)}
    return RDBStorage(
        url,
        engine_kwargs=engine_kwargs,
        skip_table_creation=not create,
        skip_compatibility_check=not create,
    )


def create_or_load_study(
    url: str,
    study_name: str,
    direction: str | Sequence[str],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Main process: create the storage and the study (or load it: resume). Checks the
    direction (a list of them: a multi-objective study).

    Runs under :func:`count_lock` with a storage-wide key, so sweepers started at the same
    moment on several machines do not race on PostgreSQL's table creation.
    """
    with count_lock(url, "create"):
        storage = open_storage(url, create=True)
        wanted = [direction] if isinstance(direction, str) else [str(d) for d in direction]
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            directions=wanted,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )
    existing = [d.name.lower() for d in study.directions]
    if existing != wanted:
        raise SweepSettingError(
            f"study {study_name!r} in {url} was created to {' and '.join(existing)} its "
            f"objective(s), this sweep asks to {' and '.join(wanted)}; use another "
            "hydra.sweeper.study_name"
        )
    return study


def load_study(
    url: str,
    study_name: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Worker process: open the existing study."""
    return optuna.load_study(study_name=study_name, storage=open_storage(url), sampler=sampler, pruner=pruner)


_ENGINES: dict[str, Any] = {}


def _lock_engine(url: str) -> Any:
    """One small SQLAlchemy engine per server URL for advisory locks (per process)."""
    if url not in _ENGINES:
        from sqlalchemy import create_engine

        _ENGINES[url] = create_engine(
            url, pool_size=1, max_overflow=1, pool_pre_ping=True, **_connect_timeout(url)
        )
    return _ENGINES[url]


@contextlib.contextmanager
def count_lock(url: str, study_name: str = "") -> Iterator[bool]:
    """Exclusive lock for "reap, count trials, then ask"; yields whether it locked.

    Journal files and SQLite databases get an ``fcntl`` lock file beside them (one machine).
    PostgreSQL gets a session-level advisory lock keyed on the study name, held on its own
    connection (the server drops it when a killed worker's connection closes), so workers on
    any number of machines never overshoot ``n_trials``. MySQL and Redis storages are not
    locked: there the study may end up to ``n_jobs - 1`` trials over ``n_trials``.
    """
    path = local_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}{COUNT_LOCK_SUFFIX}", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    if not url.startswith("postgresql"):
        yield False
        return
    from sqlalchemy import text

    key = f"nnexp:{study_name}"
    with _lock_engine(url).connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": key})
        conn.commit()
        try:
            yield True
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
            conn.commit()


def _connect_timeout(url: str, seconds: float = 10.0) -> dict[str, Any]:
    """``connect_args`` that bound a connection attempt (PostgreSQL/MySQL drivers)."""
    if url.startswith("postgresql"):
        return {"connect_args": {"connect_timeout": max(1, int(seconds))}}
    if url.startswith("mysql"):
        return {"connect_args": {"connect_timeout": max(1, int(seconds))}}
    return {}


# -- a storage that cannot work, said before any trial ------------------------------------


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
