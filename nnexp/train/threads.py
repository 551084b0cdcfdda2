"""BLAS thread control for a run (``trainer.threads``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Limit BLAS threads to ``threads`` inside the block; ``None`` leaves them as they are."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(threads), user_api="blas"):
        yield


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
