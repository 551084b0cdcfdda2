"""A new SQLite tracking store copied from an empty, migrated one instead of migrated again.

MLflow builds a new SQLite store by running its whole Alembic migration chain (about 1 s of CPU,
on every sweep and run launched from a fresh directory). The first store this MLflow version
builds is saved, its experiments removed, as ``<cache>/mlflow-store-<version>.db``
(:func:`nnexp.filesystem.cache_dir`); later new stores start as a copy of it. MLflow still
checks the copy's schema revision when it opens it and adds its ``Default`` experiment with
this store's own artifact root, so the copy is the store a migration would have made. The
template is a cache: a missing, unreadable or unwritable one only costs the migration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from nnexp.filesystem import cache_dir

log = logging.getLogger(__name__)


def template_path() -> Path:
    """The empty store's template for the installed MLflow version."""
    from mlflow.version import VERSION

    return cache_dir() / f"mlflow-store-{VERSION}.db"


def seed_store(db: Path) -> bool:
    """Copy the template to ``db`` (which must not exist yet); False when there is none or it
    is damaged (then it is deleted, and the store is migrated as without a template)."""
    template = template_path()
    if not template.is_file():
        return False
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, db)
        with contextlib.closing(sqlite3.connect(db)) as conn:  # a store MLflow will open
            conn.execute("SELECT version_num FROM alembic_version").fetchone()
            conn.execute("SELECT count(*) FROM experiments").fetchone()
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            db.unlink()
        if isinstance(exc, sqlite3.Error):  # the template is damaged
            log.warning("the empty MLflow store's template %s is not used: %s", template, exc)
            with contextlib.suppress(OSError):
                template.unlink()
        else:  # the new store's place (a full or read-only disk): the store's creation says so
            log.debug("store template not copied to %s: %s", db, exc)
        return False
    return True


def save_template(db: Path) -> None:
    """Save the just-migrated store ``db`` (no run yet) as the template, its experiments removed
    (MLflow adds ``Default`` again on open). Written beside the template and renamed into place,
    so a concurrent reader sees a whole file or none; never raises."""
    target = template_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".mlflow-store-", suffix=".db", dir=target.parent)
        os.close(fd)
        try:
            with (
                contextlib.closing(sqlite3.connect(db, timeout=30)) as src,
                contextlib.closing(sqlite3.connect(tmp)) as dst,
            ):
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                dst.execute("DELETE FROM experiment_tags")
                dst.execute("DELETE FROM experiments")
                dst.commit()
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except (OSError, sqlite3.Error) as exc:
        log.debug("store template not saved: %s", exc)
