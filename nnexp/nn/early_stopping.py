"""Tracking of the monitored metric: best value, best epoch and patience."""

from __future__ import annotations

import math

MODE_CHOICES = ("min", "max", "auto")


def resolve_mode(monitor: str, mode: str) -> str:
    """``auto`` means ``max`` for accuracy-like metrics and ``min`` for everything else."""
    if mode != "auto":
        return mode
    return "max" if ("accuracy" in monitor or monitor.endswith("score")) else "min"


class EarlyStopping:
    """Watches one metric across epochs.

    An epoch *improves* when its value beats the best so far by more than ``min_delta``
    (``value < best - min_delta`` for ``mode="min"``, ``value > best + min_delta`` for
    ``"max"``). ``should_stop`` becomes true once ``patience`` consecutive epochs have not
    improved. Non-finite values never improve.
    """

    def __init__(
        self, monitor: str = "val_loss", mode: str = "auto", patience: int = 10, min_delta: float = 0.0
    ) -> None:
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be one of {list(MODE_CHOICES)}, got {mode!r}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0

    def improved(self, value: float) -> bool:
        """Whether ``value`` would count as an improvement over the best so far."""
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float, epoch: int) -> bool:
        """Record ``value`` for 1-based ``epoch``; return True when it is the new best."""
        if self.improved(value):
            self.best, self.best_epoch, self.wait = float(value), int(epoch), 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs in a row have not improved."""
        return self.wait >= self.patience
