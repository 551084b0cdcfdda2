"""The local Optuna journal file: appends under ``flock`` without ``fsync``, torn tails dropped.

Used for ``journal:<path>`` storages (the default ``mlruns/optuna/journal.log``); see
:mod:`nnexp.search.storage` for how a storage URL is chosen.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from typing import Any

from optuna.storages.journal import JournalFileBackend

log = logging.getLogger(__name__)


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
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode("utf-8")
        with open(self._append_path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                drop_torn_tail(fh.fileno())
                fh.write(data)
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def drop_torn_tail(fd: int) -> int:
    """Truncate a last line without newline (a writer killed mid-``write``); returns bytes cut.

    Called under the exclusive append lock, where a line without its newline can only be the
    remains of a dead writer. Optuna's reader already skips such a tail; appending after it
    would glue the next record onto it and make the rest of the journal unreadable.
    """
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return 0
    keep, end = 0, size
    while end > 0:
        start = max(0, end - (1 << 16))
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            keep = start + cut + 1
            break
        end = start
    os.ftruncate(fd, keep)
    log.warning("Optuna journal: dropped a torn last record (%d bytes)", size - keep)
    return size - keep
