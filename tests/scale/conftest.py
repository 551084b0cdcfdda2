"""Fixtures of the scale tests: one PostgreSQL cluster per session, one MLflow server per module.

Both bind to 127.0.0.1 and are stopped in the fixture's teardown (also when a test fails).
Without PostgreSQL binaries (``apt-get install postgresql``; ``.ci/run`` installs them) the
tests that need them are skipped with that reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from scale_servers import MlflowServer, PostgresCluster, postgres_bin

_names = itertools.count()


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install -y postgresql)")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def mlflow_server(pg: PostgresCluster, tmp_path_factory) -> Iterator[MlflowServer]:
    db = pg.create_database(f"mlflow_{next(_names)}")
    server = MlflowServer(db, tmp_path_factory.mktemp("artifacts") / "root", pg.env()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def optuna_db(pg: PostgresCluster) -> str:
    """A fresh database for one test's Optuna storage; its URL *with* the password."""
    name = f"optuna_{next(_names)}"
    pg.create_database(name)
    return pg.url(name, password=True)
