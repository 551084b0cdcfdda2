"""Runs of dead processes: a run killed outright (SIGKILL, OOM killer) never reaches its
``finally`` and would stay RUNNING for ever. Every run records which process wrote it; the
next nnexp command on the same tracking store marks the RUNNING runs whose process is gone
KILLED.

Tags (set when the run is created, see :func:`process_tags`):

* ``nnexp.host``: the host name; runs of other hosts are never touched;
* ``nnexp.pid``: the process id;
* ``nnexp.pid_start``: the process's start time (field 22 of ``/proc/<pid>/stat``, clock ticks
  since boot), so a reused pid is not mistaken for the run's process;
* ``nnexp.pid_ns``: the pid namespace (``/proc/self/ns/pid``); runs from another namespace on
  the same host name (containers) are never touched, their pids mean nothing here.

A run is dead when its host is this host, its namespace is ours, and its pid is gone (or a
zombie) or now belongs to a process started at another time. Runs without these tags (older
runs) are left alone.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from nnexp.contract import HOST_TAG, KILLED_REASON_TAG, PID_NS_TAG, PID_START_TAG, PID_TAG
from nnexp.tracking.masking import mask_secrets

log = logging.getLogger(__name__)


def process_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (``/proc``), else ``None``."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()  # field 22; fields[0] is field 3 (state)
    except (OSError, IndexError, ValueError):
        return None


def _state(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def pid_namespace() -> str:
    """This process's pid namespace (``pid:[4026531836]``), or ``""`` where unknown."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def process_tags() -> dict[str, str]:
    """The tags naming this process (set on every run when it is created)."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    start = process_start(os.getpid())
    if start is not None:
        tags[PID_START_TAG] = start
    ns = pid_namespace()
    if ns:
        tags[PID_NS_TAG] = ns
    return tags


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether ``pid`` runs on this host (not a zombie) and, when ``start`` is given, was
    started at that time (not a later process that reused the pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if _state(pid) in (b"Z", b"X"):
        return False
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False
    return True


def process_dead(
    host: Any,
    pid: Any,
    start: Any = None,
    pid_ns: Any = None,
    *,
    here: str | None = None,
    ns: str | None = None,
) -> bool:
    """The liveness rule, for runs and trials alike: the process ``pid`` (started at ``start``,
    in namespace ``pid_ns``) on ``host`` is known dead -- it ran on this host and in this pid
    namespace, and its pid is gone, a zombie, or a later process's. False when alive or unknown
    (another host or namespace, no pid): such a process is judged by its heartbeat instead."""
    here = socket.gethostname() if here is None else here
    ns = pid_namespace() if ns is None else ns
    if host != here or pid is None or (pid_ns or ns) != ns:
        return False
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    return not process_alive(pid, None if start is None else str(start))


def dead_reason(tags: Mapping[str, str], host: str | None = None, ns: str | None = None) -> str | None:
    """Why the process that wrote a run with ``tags`` is dead, or ``None`` (alive, another host
    or namespace, or unknown)."""
    host = socket.gethostname() if host is None else host
    pid = tags.get(PID_TAG)
    if not process_dead(
        tags.get(HOST_TAG), pid, tags.get(PID_START_TAG), tags.get(PID_NS_TAG), here=host, ns=ns
    ):
        return None
    return f"its process {pid} on {host} died while the run was RUNNING"


def mark_dead_runs(uri: str) -> list[str]:
    """Mark KILLED every RUNNING run of this host (any experiment) whose process is dead.

    Returns the ids of the runs marked. Raises the tracking backend's errors.
    """
    from mlflow.entities import RunTag, ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    host, ns = socket.gethostname(), pid_namespace()
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not ids:
        return []
    marked: list[str] = []
    host_q = host.replace("'", "\\'")
    page = None
    while True:
        runs = client.search_runs(
            ids,
            filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host_q}'",
            max_results=1000,
            page_token=page,
        )
        for run in runs:
            reason = dead_reason(run.data.tags, host, ns)
            if reason is None:
                continue
            client.log_batch(run.info.run_id, tags=[RunTag(KILLED_REASON_TAG, reason)])
            client.set_terminated(run.info.run_id, status="KILLED")
            marked.append(run.info.run_id)
        page = runs.token
        if not page:
            return marked


def _store_exists(uri: str) -> bool:
    from nnexp.tracking.store import sqlite_path

    db = sqlite_path(uri)
    return db is None or (str(db) != ":memory:" and Path(db).exists())


def mark_dead_runs_quietly(
    uri: str | None,
    *,
    timeout: float = 5.0,
    prog: str = "nnexp",
    out: TextIO = sys.stderr,
) -> int:
    """What commands call first: :func:`mark_dead_runs` on ``uri`` (``None``: nothing to do),
    one line per run marked. Never fails the command and never creates a store: a missing
    SQLite file or an unreachable server is skipped (the command reports it if it needs it)."""
    if not uri or not _store_exists(uri):
        return 0
    try:
        from nnexp.tracking.store import configure_http_client, is_http, probe_server

        if is_http(uri):
            configure_http_client(timeout)
            probe_server(uri, timeout)
        marked = mark_dead_runs(uri)
    except Exception as exc:  # noqa: BLE001 - housekeeping must never stop the command
        log.debug("could not check %s for runs of dead processes: %s", mask_secrets(uri), exc)
        return 0
    for run_id in marked:
        print(f"{prog}: marked run {run_id} KILLED: its process on this host is gone", file=out, flush=True)
    return len(marked)
