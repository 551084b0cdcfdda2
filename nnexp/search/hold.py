"""A test hook: hold a trial at a reported step, so a test acts on a trial known to be running.

A kill test that reads the stores until a trial looks RUNNING and then signals acts on a snapshot
that may already be stale (fast trials, a loaded machine: the trial finished in between). With
``NNEXP_TEST_HOLD=<trial>:<step>:<dir>`` a trial numbered ``<trial>`` or higher, once it reported
step ``<step>`` (recorded in Optuna), writes its worker's pid to ``<dir>/trial_<n>`` (the event
the test waits on) and waits, keeping its heartbeat, until ``<dir>/release`` exists (or
:data:`HOLD_LIMIT` seconds pass). A signal ends the wait as it would end an epoch. Unset in
normal use: one environment lookup per reported step. The tests' side: ``tests/helpers/holding.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

HOLD_ENV = "NNEXP_TEST_HOLD"
#: seconds a held trial waits at most for its release (a test that forgot it fails, not hangs)
HOLD_LIMIT = 600.0
RELEASE_FILE = "release"


def hold_point() -> tuple[int, int, Path] | None:
    """``(first trial, step, directory)`` from :data:`HOLD_ENV`, None when it is unset."""
    spec = os.environ.get(HOLD_ENV)
    if not spec:
        return None
    first, step, directory = spec.split(":", 2)
    return int(first), int(step), Path(directory)


def hold_trial(number: int, step: int, beat: Callable[[], None], beat_every: float) -> None:
    """Announce trial ``number`` at ``step`` and wait for the release, when :data:`HOLD_ENV`
    asks for it (nothing otherwise); ``beat`` refreshes the trial's heartbeat meanwhile."""
    point = hold_point()
    if point is None or number < point[0] or step != point[1]:
        return
    directory = point[2]
    if (directory / RELEASE_FILE).exists():
        return
    announced = directory / f"trial_{number}"
    partial = announced.with_suffix(".part")
    partial.write_text(str(os.getpid()))
    os.replace(partial, announced)  # whole or absent: the test reads a complete pid
    start = last_beat = time.monotonic()
    while not (directory / RELEASE_FILE).exists() and time.monotonic() - start < HOLD_LIMIT:
        time.sleep(0.05)
        if time.monotonic() - last_beat >= beat_every:
            beat()
            last_beat = time.monotonic()
