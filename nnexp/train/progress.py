"""Terminal progress: one line per epoch."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

_COLUMNS = (("train_loss", "train_loss"), ("val_loss", "val_loss"), ("val_accuracy", "val_acc"))


def format_epoch(record: Mapping[str, float], epochs: int, monitor: str | None = None) -> str:
    """``epoch  3/50  train_loss 0.1234  val_loss 0.2345  val_acc 0.9650  lr 1.0e-03  0.05s``."""
    width = len(str(epochs))
    parts = [f"epoch {int(record['epoch']):>{width}}/{epochs}"]
    for key, label in _COLUMNS:
        if key in record:
            parts.append(f"{label} {record[key]:.4f}")
    if monitor and monitor in record and monitor not in dict(_COLUMNS):
        parts.append(f"{monitor} {record[monitor]:.4f}")
    if "lr" in record:
        parts.append(f"lr {record['lr']:.1e}")
    if "epoch_seconds" in record:
        parts.append(f"{record['epoch_seconds']:.2f}s")
    return "  ".join(parts)


class ProgressPrinter:
    """A training callback printing :func:`format_epoch` lines to ``stream`` (stdout)."""

    def __init__(self, epochs: int, monitor: str | None = None, stream: TextIO | None = None):
        self.epochs = int(epochs)
        self.monitor = monitor
        self.stream = stream

    def __call__(self, model: Any, record: Mapping[str, float]) -> None:
        print(format_epoch(record, self.epochs, self.monitor), file=self.stream or sys.stdout, flush=True)
