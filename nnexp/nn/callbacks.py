"""Per-epoch callback protocol and the exception a callback raises to stop training.

A callback is any callable ``callback(model, record) -> None``. ``MLP.fit`` calls each one in
order after every epoch with ``record`` holding ``epoch`` (1-based), ``train_loss`` (mean data
loss over the epoch's mini-batches), ``l2_penalty`` (at the end of the epoch), ``lr``,
``epoch_seconds`` and, when a validation set was given, ``val_loss`` and (classification)
``val_accuracy``. This is where MLflow metric logging and Optuna pruning plug in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .mlp import MLP

Callback = Callable[["MLP", dict[str, float]], Any]

#: Record keys of every epoch; ``val_loss`` with a validation set, ``val_accuracy`` with one on
#: a classification task (see :func:`record_keys`).
EPOCH_KEYS = ("epoch", "train_loss", "l2_penalty", "lr", "epoch_seconds")


def record_keys(task: str, has_val: bool) -> frozenset[str]:
    """The keys of the per-epoch ``record`` a fit on ``task`` reports (what a sweep can
    optimise and prune on)."""
    keys = set(EPOCH_KEYS)
    if has_val:
        keys.add("val_loss")
        if task == "classification":
            keys.add("val_accuracy")
    return frozenset(keys)


class StopReason(str, enum.Enum):
    """Why training stopped (``MLP.stop_reason_``); a callback's own reason may be any string."""

    COMPLETED = "completed"  #: every epoch ran
    EARLY_STOPPED = "early_stopped"  #: early stopping ran out of patience
    DIVERGED = "diverged"  #: a non-finite loss or weights
    PRUNED = "pruned"  #: a sweep's pruner stopped it
    STOPPED = "stopped_by_callback"  #: a callback raised StopTraining without a reason

    def __str__(self) -> str:
        return self.value


class StopTraining(Exception):
    """Raised by a callback to end training cleanly after the current epoch.

    ``fit`` catches it, restores the best weights when early stopping with ``restore_best`` is
    configured, and sets ``model.stop_reason_`` to ``reason``.
    """

    def __init__(self, reason: str = StopReason.STOPPED) -> None:
        super().__init__(reason)
        self.reason = str(reason)
