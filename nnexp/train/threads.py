"""BLAS thread control for a run (``trainer.threads``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any


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


class CoreShare:
    """One BLAS thread fewer than the cores while another process of this run is busy (the
    tracking process importing MLflow): OpenBLAS threads spin-wait for each other, so a thread
    without a core of its own makes every product wait (digits epochs measured 3x slower on 2
    cores). Only a BLAS that would use every core is limited; :meth:`__call__` (an epoch
    callback) lifts the limit once ``busy()`` is false, :meth:`close` at the latest."""

    def __init__(self, busy: Callable[[], bool], cores: int | None = None) -> None:
        from threadpoolctl import ThreadpoolController

        self._busy = busy
        self._limiter: Any = None
        cores = available_cores() if cores is None else int(cores)
        blas = ThreadpoolController().select(user_api="blas")
        in_use = max((lib.num_threads for lib in blas.lib_controllers), default=1)
        if cores > 1 and in_use >= cores and busy():
            self._limiter = blas.limit(limits=cores - 1)

    @property
    def limited(self) -> bool:
        """Whether the limit is still in effect."""
        return self._limiter is not None

    def __call__(self, model: Any = None, record: Any = None) -> None:
        if self._limiter is not None and not self._busy():
            self.close()

    def close(self) -> None:
        """Restore the BLAS threads as they were."""
        if self._limiter is not None:
            limiter, self._limiter = self._limiter, None
            limiter.restore_original_limits()
