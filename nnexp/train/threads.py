"""BLAS thread control for a run (``trainer.threads``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Limit BLAS threads to ``threads`` inside the block; ``None`` leaves them as they are."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(threads), user_api="blas"):
        yield


#: Hidden layers at most this wide train with one BLAS thread unless ``trainer.threads`` says
#: otherwise: their products are too small to gain from more, and OpenBLAS threads spin-wait
#: for each other, so any other busy thread (the run's MLflow writer, MLflow's telemetry, another
#: program) that takes a core from one makes every product wait (a digits fit measured 5x slower
#: on 2 busy cores).
SMALL_WIDTH = 256


def run_threads(threads: int | None, width: int | Sequence[int]) -> int | None:
    """A run's BLAS threads: ``trainer.threads`` when set, else 1 for a small network (no hidden
    layer wider than :data:`SMALL_WIDTH`), else ``None`` (as BLAS chooses)."""
    if threads is not None:
        return int(threads)
    widest = max([int(w) for w in width], default=0) if isinstance(width, Sequence) else int(width)
    return 1 if widest <= SMALL_WIDTH else None


def worker_threads(n_jobs: int, cores: int | None = None) -> int:
    """BLAS threads per worker: ``cores // n_jobs``, at least 1."""
    if cores is None:
        cores = available_cores()
    return max(1, int(cores) // max(1, int(n_jobs)))


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
