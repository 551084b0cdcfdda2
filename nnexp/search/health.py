"""Lost services: probe the Optuna storage and the MLflow server, diagnose, wait with backoff.

A worker whose trial fails asks :meth:`ServiceHealth.diagnose` whether the failure came from a
service that is unreachable now (then the trial is a fault, not a result), and before its next
trial waits for it with :meth:`ServiceHealth.reconnect` (exponential backoff, at most
``hydra.sweeper.reconnect_timeout`` seconds) or stops with :class:`ServiceUnreachable`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from nnexp.errors import ServiceUnreachable, StorageUnavailable
from nnexp.search.settings import RECONNECT_TIMEOUT
from nnexp.search.storage import _connect_timeout, local_file

log = logging.getLogger(__name__)

#: Default of ``hydra.sweeper.reconnect_timeout`` (seconds a worker waits for a lost service).


def short_error(exc: BaseException) -> str:
    """``Type: first 500 characters of the message`` on one line."""
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def describe_storage(url: str) -> str:
    """``the Optuna storage postgresql://user:***@host/db`` (password masked)."""
    from nnexp.tracking.masking import mask_secrets

    return f"the Optuna storage {mask_secrets(url)}"


def is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause chain) is a database connection/driver error of the
    Optuna storage. An MLflow error is not, even when a database error caused it (MLflow's own
    SQL store): that one is MLflow's, an ordinary trial failure."""
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 8:
        mod = type(cur).__module__ or ""
        if mod.startswith("mlflow"):
            return False
        if mod.startswith(("sqlalchemy", "psycopg", "psycopg2", "pymysql", "redis")):
            return True
        if type(cur).__name__ == "StorageInternalError":
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False


def probe_storage(url: str, timeout: float = 5.0) -> None:
    """Raise :class:`StorageUnavailable` unless the storage behind ``url`` answers a trivial
    query within about ``timeout`` seconds. Local files (journal, SQLite) are not probed."""
    if local_file(url) is not None:
        return
    try:
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=timeout).ping()
            return
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(url, poolclass=NullPool, **_connect_timeout(url, timeout))
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable now"
        from nnexp.tracking.masking import mask_secrets

        first = mask_secrets(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        raise StorageUnavailable(
            f"cannot reach {describe_storage(url)} ({type(exc).__name__}: {first[:300]}; waited "
            f"at most {timeout:g}s). Start the database server (or fix its address), then run "
            "the same command again to resume the study"
        ) from None


class ServiceHealth:
    """Probe, diagnose and wait for one sweep's services (the storage, an HTTP tracking server)."""

    def __init__(
        self,
        storage_url: str,
        tracking_uri: str | None,
        *,
        study_name: str,
        reconnect_timeout: float = RECONNECT_TIMEOUT,
        say: Callable[[str], None] | None = None,
    ) -> None:
        from nnexp.tracking.store import is_http

        self.storage_url = storage_url
        self.tracking_uri = tracking_uri if tracking_uri and is_http(tracking_uri) else None
        self.study_name = study_name
        self.reconnect_timeout = float(reconnect_timeout)
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))

    def probe(self, timeout: float = 5.0) -> None:
        """Raise StorageUnavailable / TrackingUnavailable for the first service that does not
        answer (local files are not probed)."""
        from nnexp.tracking.store import probe_server

        probe_storage(self.storage_url, timeout)
        if self.tracking_uri is not None:
            probe_server(self.tracking_uri, timeout)

    def diagnose(self, exc: BaseException) -> tuple[str, str] | None:
        """(``tracking`` | ``storage``, fail reason) when ``exc`` came from a service that is
        unreachable now; None for an ordinary trial failure."""
        from nnexp.tracking.masking import mask_secrets
        from nnexp.tracking.store import TrackingUnavailable, probe_server

        what = mask_secrets(short_error(exc))
        try:
            probe_storage(self.storage_url, 5.0)
        except StorageUnavailable:
            where = describe_storage(self.storage_url)
            return "storage", f"{where} became unreachable during the trial ({what})"[:500]
        uri = self.tracking_uri
        if uri is not None:
            try:
                probe_server(uri, 5.0)
            except TrackingUnavailable as down:
                why = str(down).split(" (", 1)[-1].split(";", 1)[0]
                return "tracking", (
                    f"MLflow tracking server {mask_secrets(uri)} unreachable during the trial ({why}): {what}"
                )[:500]
        if is_storage_error(exc):
            where = describe_storage(self.storage_url)
            return "storage", f"{where} failed during the trial ({what})"[:500]
        return None

    def reconnect(self) -> None:
        """Wait (exponential backoff, at most ``reconnect_timeout`` s) until the storage and the
        tracking server answer; raise :class:`ServiceUnreachable` with what to do if not."""
        from nnexp.tracking.store import wait_reachable

        limit = self.reconnect_timeout
        first = [True]

        def told(exc: BaseException, wait: float) -> None:
            if first[0]:
                self.say(
                    f"{exc}\n  waiting for it to come back: retrying with backoff for up to "
                    f"{limit:g}s (hydra.sweeper.reconnect_timeout)"
                )
                first[0] = False
            log.info("still unreachable; next probe in %.1fs", wait)

        started = time.monotonic()
        try:
            wait_reachable(self.probe, limit, cap=8.0, on_retry=told)
        except Exception as exc:  # noqa: BLE001 - StorageUnavailable / TrackingUnavailable
            raise ServiceUnreachable(
                f"{exc}\n  It did not come back within {limit:g}s "
                "(hydra.sweeper.reconnect_timeout), so this worker stopped. Bring it back "
                "(or fix tracking.uri / hydra.sweeper.storage), then run the same command "
                f"again to resume study {self.study_name!r}: finished trials are kept."
            ) from None
        if not first[0]:
            self.say(f"reachable again after {time.monotonic() - started:.1f}s; continuing")
