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
  ``postgresql://user:pass@host/db``, ``mysql+pymysql://...``.

Relative paths are taken from the launch directory. The main (sweeper) process creates the
storage (directories, journal file, database tables) before any worker starts; workers open it
with table creation skipped, so no two processes race on a schema migration.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from nnexp.search.samplers import SweepSettingError

#: Default journal, relative to the launch directory.
DEFAULT_JOURNAL = Path("mlruns") / "optuna" / "journal.log"
#: Suffix of the sweep's count lock (Optuna's own journal lock is ``<file>.lock``).
COUNT_LOCK_SUFFIX = ".sweep.lock"


def resolve_storage_url(url: str | None, base_dir: str | os.PathLike[str]) -> str:
    """Normalise ``url``: journal files become ``journal:<absolute path>``, SQLite paths absolute."""
    base = Path(base_dir).resolve()
    if url is None or str(url).strip() in ("", "null", "None"):
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


def local_file(url: str) -> Path | None:
    """The file behind a journal or SQLite URL (None for servers)."""
    for scheme in ("journal:", "journal-nfs:"):
        if url.startswith(scheme):
            return Path(url[len(scheme) :])
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].partition("?")[0]
        return Path(path) if path and path != ":memory:" else None
    return None


class LocalJournalFileBackend(JournalFileBackend):
    """Optuna's journal file, appended under an ``fcntl`` lock and without ``fsync``.

    Appends are single ``write`` calls on an ``O_APPEND`` file under an exclusive ``flock``, so
    concurrent workers never interleave lines, and a killed process never leaves a stale lock
    behind (Optuna's symlink lock then blocks everyone for its 30 s grace period). Skipping
    ``fsync`` (one per reported epoch) keeps pruning cheap; a process crash loses nothing, only
    a power loss can drop the last writes. For a journal on NFS use ``journal-nfs:<path>``
    (Optuna's own backend: NFS-safe lock, fsync).
    """

    def __init__(self, file_path: str) -> None:
        super().__init__(file_path)
        self._append_path = file_path

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = (
            "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
        ).encode("utf-8")
        with open(self._append_path, "ab") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.write(data)
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


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
                raise FileNotFoundError(
                    f"Optuna journal {path} does not exist (the sweeper creates it)"
                )
            return JournalStorage(backend(str(path)))
    if url.startswith("redis"):
        from optuna.storages.journal import JournalRedisBackend

        return JournalStorage(JournalRedisBackend(url))
    engine_kwargs = {}
    if url.startswith("sqlite"):
        db = local_file(url)
        if db is not None and create:
            db.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}
    return RDBStorage(
        url,
        engine_kwargs=engine_kwargs,
        skip_table_creation=not create,
        skip_compatibility_check=not create,
    )


def create_or_load_study(
    url: str,
    study_name: str,
    direction: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Main process: create the storage and the study (or load it: resume). Checks the direction."""
    storage = open_storage(url, create=True)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    existing = study.direction.name.lower()
    if existing != direction:
        raise SweepSettingError(
            f"study {study_name!r} in {url} was created to {existing} its objective, this sweep "
            f"asks to {direction}; use another hydra.sweeper.study_name"
        )
    return study


def load_study(
    url: str,
    study_name: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Worker process: open the existing study."""
    return optuna.load_study(
        study_name=study_name, storage=open_storage(url), sampler=sampler, pruner=pruner
    )


@contextlib.contextmanager
def count_lock(url: str) -> Iterator[bool]:
    """Exclusive lock for "count trials, then ask" on local storages; yields whether it locked.

    Journal files and SQLite databases get an ``fcntl`` lock file beside them, so workers on
    this machine never overshoot ``n_trials``. Server storages (PostgreSQL, MySQL, Redis) are
    not locked: with workers on several machines the study may end up to ``n_jobs - 1`` trials
    over ``n_trials`` when workers ask at the same instant.
    """
    path = local_file(url)
    if path is None:
        yield False
        return
    with open(f"{path}{COUNT_LOCK_SUFFIX}", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
