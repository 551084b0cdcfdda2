"""Sweep workers exit when their sweeper dies, so a ``kill -9`` of ``nnexp-train -m`` leaves no
orphans.

A worker of nnexp's launcher or of joblib's (a loky process) is a child of the sweeper process.
When the sweeper is killed outright it cannot stop its workers: they are re-parented (to pid 1)
and, idle in loky's task loop, would live on for ever (and, holding its pipe open, so would loky's resource tracker). Each
worker job therefore starts, once per process, a daemon thread that checks every
:data:`POLL_SECONDS` whether its parent is still the sweeper, and ends the process when not
(its running trial is then FAIL for the next sweep's reaper and its MLflow run KILLED for the
next command, see ``nnexp.search.stale`` and ``nnexp.tracking.liveness``). Workers whose
parent is not the sweeper (submitit, a cluster) and jobs run inside the sweeper are left alone.
"""

from __future__ import annotations

import os
import sys
import threading
import time

#: Seconds between two checks of the parent process.
POLL_SECONDS = 1.0
#: Exit status of a worker whose sweeper died.
ORPHAN_EXIT = 70

_started = False
_lock = threading.Lock()


def exit_with_sweeper(sweeper_pid: int) -> bool:
    """Start the watchdog when this process is a direct child of ``sweeper_pid``; returns
    whether one runs now (started by this call or an earlier one)."""
    global _started
    if os.getpid() == sweeper_pid or os.getppid() != sweeper_pid:
        return False
    with _lock:
        if not _started:
            threading.Thread(
                target=_watch, args=(sweeper_pid,), name="nnexp-orphan-watchdog", daemon=True
            ).start()
            _started = True
    return True


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    print(
        f"[worker {os.getpid()}] the sweeper (pid {parent}) is gone; exiting",
        file=sys.stderr,
        flush=True,
    )
    os._exit(ORPHAN_EXIT)
