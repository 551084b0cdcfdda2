"""The quick exit of nnexp's processes (:mod:`nnexp.shutdown`) closes their databases."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
import sqlalchemy as sa
from nnexp.shutdown import end_quickly

engine = sa.create_engine(f"sqlite:///{sys.argv[1]}")
with engine.begin() as conn:
    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    conn.exec_driver_sql("INSERT INTO t VALUES (7)")
cycle = {"engine": engine}
cycle["self"] = cycle  # as MLflow's store holds it: only a collection would free it
del engine
end_quickly()
"""


def test_a_quick_exit_leaves_no_write_ahead_log(tmp_path: Path) -> None:
    """Frozen objects are never finalised: without closing the engines first, the SQLite
    write-ahead log stayed beside the store, and a store deleted later came back from it."""
    db = tmp_path / "store.db"
    subprocess.run([sys.executable, "-c", SCRIPT, str(db)], check=True, timeout=120)
    assert not Path(f"{db}-wal").exists(), "the write-ahead log was left behind"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(7,)]
