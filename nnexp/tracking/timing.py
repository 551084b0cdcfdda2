"""Wall-clock accounting of named phases (where tracking time goes)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class PhaseTimer:
    """Accumulate seconds per phase name: ``with timer("params"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - start

    @property
    def total(self) -> float:
        """Sum over all phases."""
        return sum(self.seconds.values())

    def summary(self) -> str:
        """``total 0.42s (setup 0.20, params 0.02, ...)``."""
        parts = ", ".join(f"{k} {v:.2f}" for k, v in self.seconds.items())
        return f"{self.total:.2f}s ({parts})"
