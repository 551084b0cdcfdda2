"""Where runs are stored: resolve the tracking URI, probe servers, create the store once."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from nnexp.errors import TrackingUnavailable, UnsafeName  # noqa: F401 - re-exported
from nnexp.tracking.links import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG
from nnexp.tracking.masking import has_secret, mask_secrets

#: The tracking home inside the launch directory, and the store/artifact names inside it.
HOME_DIR = "mlruns"
DB_NAME = "mlflow.db"
ARTIFACTS_DIR = "artifacts"


class _NoFullDiskTracebacks(logging.Filter):
    """MLflow's SQL store logs every database error with its traceback, then raises it. A full
    disk is said once, by the command (:func:`nnexp.filesystem.disk_full`): drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        from nnexp.filesystem import FULL_TEXTS

        text = record.getMessage().lower()
        return not any(full in text for full in FULL_TEXTS)


#: MLflow's logger that writes the traceback of each SQL error (set once, in every process that
#: imports this module: the sweeper, its workers, a single run).
logging.getLogger("mlflow.store.db.utils").addFilter(_NoFullDiskTracebacks())


def default_tracking_uri(base_dir: str | os.PathLike[str]) -> str:
    """``sqlite:///<base_dir>/mlruns/mlflow.db`` (absolute)."""
    return f"sqlite:///{Path(base_dir).resolve() / HOME_DIR / DB_NAME}"


#: MLflow's variable for the tracking URI, read when ``tracking.uri`` is null.
TRACKING_ENV = "MLFLOW_TRACKING_URI"

#: MLflow prints ``View run <name> at: <tracking URI>/...`` when a run on an http(s) server ends.
SUPPRESS_URL_ENV = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"


def silence_run_links(uri: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Switch off MLflow's own ``View run/experiment at: <url>`` lines when ``uri`` holds a
    password or token: they print the URL as given. Every command resolves its tracking URI
    with :func:`resolve_tracking_uri`, which calls this; nnexp prints masked links itself.
    ``environ``: ``os.environ`` (child processes inherit it)."""
    if has_secret(uri):
        (os.environ if environ is None else environ)[SUPPRESS_URL_ENV] = "true"


def resolve_tracking_uri(uri: str | None, base_dir: str | os.PathLike[str]) -> str:
    """``tracking.uri``, else ``$MLFLOW_TRACKING_URI``, else the default SQLite home.

    Relative SQLite paths (``sqlite:///runs.db``) are made absolute against ``base_dir`` so that
    runs launched from Hydra's output directory or a sweep worker land in the same store. A URI
    with credentials silences MLflow's URL lines (:func:`silence_run_links`).
    """
    chosen = uri or os.environ.get(TRACKING_ENV) or default_tracking_uri(base_dir)
    silence_run_links(chosen)
    db = sqlite_path(chosen)
    if db is not None and not db.is_absolute() and str(db) != ":memory:":
        chosen = f"sqlite:///{(Path(base_dir) / db).resolve()}"
    return chosen


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative or absolute), else ``None``."""
    if not uri.startswith("sqlite://"):
        return None
    rest = uri[len("sqlite://") :]
    if rest.startswith("/"):
        rest = rest[1:]  # sqlite:///relative  ->  "relative";  sqlite:////abs -> "/abs"
    return Path(rest.split("?", 1)[0])


def is_http(uri: str) -> bool:
    """True for ``http://`` and ``https://`` tracking servers."""
    return uri.startswith(("http://", "https://"))


def resolve_artifact_location(value: str | None, base: str | os.PathLike[str]) -> str | None:
    """``tracking.artifact_location``: a URI as is; a local path made absolute (against the
    launch dir ``base``) as a ``file://`` URI; None (the store's default) as None."""
    from nnexp.data.paths import resolve_under

    if value is None or "://" in value:
        return value
    return resolve_under(value, base).resolve().as_uri()  # type: ignore[union-attr]


def default_artifact_location(uri: str) -> str | None:
    """``<db dir>/artifacts`` (as a ``file://`` URI) for SQLite stores; otherwise MLflow decides."""
    db = sqlite_path(uri)
    if db is None or str(db) == ":memory:":
        return None
    return (db.resolve().parent / ARTIFACTS_DIR).as_uri()


def local_places(uri: str, artifact_location: str | None = None) -> list[tuple[str, Path | None, str]]:
    """``(what, path, fix)`` for each local file and directory the store behind ``uri`` writes
    (the SQLite file, its directory with the lock and journal files, the artifact root), for
    :func:`nnexp.filesystem.check_writable`; none for a server."""
    fix = "point tracking.uri (or MLFLOW_TRACKING_URI) at a writable place, or tracking.enabled=false"
    places: list[tuple[str, Path | None, str]] = []
    db = sqlite_path(uri)
    if db is not None and str(db) != ":memory:":
        places += [("the MLflow tracking store", db, fix), ("the MLflow tracking home", db.parent, fix)]
    location = artifact_location or default_artifact_location(uri)
    if location and location.startswith("file:"):
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(location).path))
        places.append(
            ("the MLflow artifacts", path, fix.replace("tracking.uri", "tracking.artifact_location"))
        )
    return places


def configure_http_client(timeout: float) -> None:
    """Low MLflow HTTP retries/timeouts (unless the user set them) so a dead server fails fast."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(10, int(4 * timeout))))


def probe_server(uri: str, timeout: float = 5.0) -> None:
    """Raise :class:`TrackingUnavailable` unless the ``http(s)://`` server answers within ``timeout``.

    Any HTTP answer (even 401/404) counts as reachable; refused connections, DNS failures and
    timeouts do not. Non-HTTP URIs are not probed.
    """
    if not is_http(uri):
        return
    parts = urllib.parse.urlsplit(uri)
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    probe = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/health", "", ""))
    try:
        with urllib.request.urlopen(probe, timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # the server answered
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailable(
            f"cannot reach the MLflow tracking server at {mask_secrets(uri)} "
            f"({reason}; waited at most {timeout:g}s). Start it (mlflow server --host ... --port ...), "
            "point tracking.uri / MLFLOW_TRACKING_URI at a reachable store, "
            "or run without tracking: tracking.enabled=false"
        ) from None


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """An exclusive file lock beside a SQLite database (no-op for other stores)."""
    db = sqlite_path(uri)
    if db is None or str(db) == ":memory:":
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{db}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_ahead_log(uri: str) -> None:
    """Put a SQLite store in write-ahead-log mode (kept in the file; a no-op once set).

    In SQLite's default rollback mode a reader blocks a writer and the other way round; with
    two sweep workers, a trainer's metric writer and ``nnexp ui`` on one file, a write then
    waited out MLflow's 20 s busy timeout and failed with "database is locked". In WAL mode
    readers never wait and writers only queue behind each other for milliseconds."""
    db = sqlite_path(uri)
    if db is None or str(db) == ":memory:":
        return
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=WAL")


def _open_store(uri: str, experiment: str) -> tuple[Any, Any]:
    """(client, experiment or None) on the store behind ``uri``, created or migrated by the
    first call; a new SQLite store starts as a copy of the empty one's template
    (:mod:`nnexp.tracking.store_template`), or becomes the template. Under the store's lock."""
    from mlflow.tracking import MlflowClient

    from nnexp.tracking import store_template

    db = sqlite_path(uri)
    new = db is not None and str(db) != ":memory:" and not db.exists()
    seeded = new and store_template.seed_store(db)  # type: ignore[arg-type]
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)  # creates or migrates the schema
    _write_ahead_log(uri)
    if new and not seeded and exp is None:
        store_template.save_template(db)  # type: ignore[arg-type]
    return client, exp


def ensure_tracking_store(
    uri: str,
    experiment: str,
    artifact_location: str | None = None,
    *,
    timeout: float = 5.0,
) -> str:
    """Create (once) the store behind ``uri`` and the experiment; return the experiment id.

    Safe to call from many processes: SQLite schema creation/migration and experiment creation
    run under a file lock beside the database. A deleted experiment of that name is restored.
    ``artifact_location`` defaults to ``<db dir>/artifacts`` for SQLite stores. A new experiment
    is tagged ``mlflow.experimentKind=custom_model_development`` (MLflow 3's kind for model training).
    """
    from mlflow.exceptions import MlflowException

    if is_http(uri):
        configure_http_client(timeout)
        probe_server(uri, timeout)
    location = artifact_location or default_artifact_location(uri)
    with _store_lock(uri):
        try:
            client, exp = _open_store(uri, experiment)
            if exp is None:
                try:
                    return client.create_experiment(
                        experiment, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
                    )
                except MlflowException as exc:  # created meanwhile by another client
                    exp = client.get_experiment_by_name(experiment)
                    if exp is None:
                        raise exc
            if exp.lifecycle_stage == "deleted":
                client.restore_experiment(exp.experiment_id)
            return exp.experiment_id
        except Exception as exc:  # noqa: BLE001 - any backend error becomes one clear message
            message = exc.message if isinstance(exc, MlflowException) else f"{type(exc).__name__}: {exc}"
            raise TrackingUnavailable(
                f"cannot use the MLflow tracking store {mask_secrets(uri)}: {mask_secrets(str(message))}"
            ) from None


def open_experiment(tracking: Any, base: str | os.PathLike[str]) -> tuple[str, str]:
    """``(tracking URI, experiment id)`` for a config's ``tracking`` section, launched from
    ``base``: the store and the experiment are created once (see :func:`ensure_tracking_store`)."""
    uri = resolve_tracking_uri(tracking.uri, base)
    experiment_id = ensure_tracking_store(
        uri,
        str(tracking.experiment),
        resolve_artifact_location(tracking.artifact_location, base),
        timeout=float(tracking.timeout),
    )
    return uri, experiment_id


def wait_reachable(
    probe: Callable[[float], None],
    limit: float,
    *,
    first: float = 1.0,
    cap: float = 15.0,
    probe_timeout: float = 5.0,
    on_retry: Callable[[BaseException, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Call ``probe(timeout)`` until it returns, with exponential backoff (``first``, 2x, ...,
    at most ``cap`` seconds apart) for at most ``limit`` seconds in all; then re-raise its last
    error. ``on_retry(error, delay)`` is told before each wait. Never waits past ``limit``."""
    deadline = clock() + max(0.0, float(limit))
    delay = max(0.01, float(first))
    while True:
        left = deadline - clock()
        try:
            probe(max(0.5, min(probe_timeout, left)))
            return
        except Exception as exc:  # the caller's probe decides what is fatal
            left = deadline - clock()
            if left <= 0:
                raise
            wait = min(delay, cap, left)
            if on_retry is not None:
                on_retry(exc, wait)
            sleep(wait)
            delay *= 2
