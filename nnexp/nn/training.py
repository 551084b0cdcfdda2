"""The training loop behind ``MLP.fit``: epochs of shuffled mini-batches, validation, history,
early stopping, callbacks and divergence handling.

The loop works on data ``MLP`` has already checked, scaled and encoded, and on the model's
:class:`~nnexp.nn.network.Network`. It reads the model's public hyperparameters and writes its
public fitted attributes (``history_``, ``n_epochs_run_``, ``best_epoch_``, ``best_score_``,
``stop_reason_``) as it goes, so callbacks see them live; what else it needs (the random
streams, the validation set, the monitored metric) is passed in.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .callbacks import Callback, StopReason, StopTraining
from .early_stopping import EarlyStopping
from .hyperparameters import HYPERPARAMETERS
from .inference import logits_chunks
from .network import Network, keep_mask
from .optimizers import Optimizer, clip_by_global_norm, make_optimizer
from .schedules import Schedule, make_schedule

if TYPE_CHECKING:  # pragma: no cover
    from .mlp import MLP


def evaluate(
    net: Network, x: np.ndarray, targets: np.ndarray, step: int, target_scale: np.ndarray | None
) -> tuple[float, float | None]:
    """Mean data loss (regression: MSE in the target's units, via ``target_scale``) and
    (classification) accuracy on transformed ``x``, ``step`` rows at a time."""
    total, correct = 0.0, 0
    for sl, logits in logits_chunks(net, x, step):
        t = targets[sl]
        if net.head == "identity":
            d = logits - t
            total += float(np.einsum("ij,ij,j->", d, d, target_scale**2)) / d.shape[1]
            continue
        if net.head == "softmax":
            correct += int(np.count_nonzero(logits.argmax(axis=1) == t))
        else:
            correct += int(np.count_nonzero((logits[:, 0] >= 0) == (t[:, 0] >= 0.5)))
        total += net.loss_on_batch(logits, t, grad=False) * logits.shape[0]
    n = x.shape[0]
    return total / n, (correct / n if net.head != "identity" else None)


def resolve_monitor(monitor: str, early_stopping: bool, has_val: bool, task: str) -> str:
    """The metric early stopping (and the best epoch) follows; a clear error when early stopping
    is on and ``monitor`` needs data this fit does not have."""
    available = {"train_loss"}
    if has_val:
        available.add("val_loss")
        if task == "classification":
            available.add("val_accuracy")
    if monitor in available:
        return monitor
    if early_stopping:
        why = "a validation set (X_val, y_val)" if not has_val else "a classification task"
        raise ValueError(
            f"early_stopping monitors {monitor!r}, which needs {why}; available here: {sorted(available)}"
        )
    return "val_loss" if has_val else "train_loss"


def format_record(record: dict[str, float], epochs: int, l2: float) -> str:
    """The one line ``verbose`` prints per epoch."""
    parts = [f"epoch {int(record['epoch'])}/{epochs}"]
    for key in ("train_loss", "val_loss", "val_accuracy", "l2_penalty"):
        if key in record and (key != "l2_penalty" or l2):
            parts.append(f"{key}={record[key]:.4f}")
    parts.append(f"lr={record['lr']:.3g}")
    parts.append(f"{record['epoch_seconds']:.2f}s")
    return "  ".join(parts)


def arguments_of(model: MLP, switch: str) -> dict[str, object]:
    """The hyperparameters of ``model`` that only apply under ``switch`` (``optimizer`` or
    ``schedule``, as their declaration's ``when`` says), by name."""
    return {
        h.name: getattr(model, h.name) for h in HYPERPARAMETERS.values() if h.when and h.when[0] == switch
    }


def optimizer_for(model: MLP, net: Network) -> Optimizer:
    """The optimizer ``model``'s hyperparameters name, over ``net``'s flat parameter buffer."""
    return make_optimizer(model.optimizer, net.flat, net.n_weights, **arguments_of(model, "optimizer"))


def schedule_for(model: MLP) -> Schedule:
    """The per-epoch learning-rate schedule ``model``'s hyperparameters name."""
    return make_schedule(model.schedule, model.lr, epochs=model.epochs, **arguments_of(model, "schedule"))


class TrainingLoop:
    """One ``fit``'s epochs on transformed training rows ``(x_train, y_train)``.

    ``val`` is the transformed validation set ``(x, targets)`` or None; ``monitor`` the metric
    early stopping follows (:func:`resolve_monitor`); ``rng_shuffle``/``rng_dropout`` the
    model's random streams for the row order and the dropout masks.
    """

    def __init__(
        self,
        model: MLP,
        net: Network,
        x_train: np.ndarray,
        y_train: np.ndarray,
        val: tuple[np.ndarray, np.ndarray] | None,
        monitor: str,
        rng_shuffle: np.random.Generator,
        rng_dropout: np.random.Generator,
    ) -> None:
        self.model, self.net = model, net
        self.x_train, self.y_train, self.val = x_train, y_train, val
        self.rng_shuffle, self.rng_dropout = rng_shuffle, rng_dropout
        self.tracker = EarlyStopping(monitor, model.mode, int(model.patience), float(model.min_delta))
        self.keep_best = bool(model.early_stopping and model.restore_best)
        self.batch = min(int(model.batch_size), x_train.shape[0])
        self.opt = optimizer_for(model, net)
        self.sched = schedule_for(model)
        net.allocate(self.batch)
        self.xbuf = np.empty((self.batch, x_train.shape[1]), dtype=net.dtype)
        self.l2 = float(model.l2)
        self.l2_tmp = np.empty(net.n_weights, dtype=net.dtype) if self.l2 else None
        self.clip = None if model.clip_norm is None else float(model.clip_norm)
        self.dropout = float(model.dropout)
        self.input_dropout = float(model.input_dropout)
        self.xmask = np.empty_like(self.xbuf) if self.input_dropout else None
        # regression: the loss in the target's units, sum_j (scale_j * (z - t)_j)^2 / size, read off
        # the MSE gradient 2 (z - t) / size that loss_on_batch leaves in the logits
        scale = model.target_scale_
        self.s2 = None if scale is None else (scale**2).astype(net.dtype)

    def run(self, callbacks: Sequence[Callback]) -> str:
        """Train until done; return the stop reason (``completed``, ``early_stopped``,
        ``diverged`` or a callback's :class:`StopTraining` reason). The best weights are
        restored when configured, the last finite ones on divergence."""
        model, net = self.model, self.net
        last_good = self._snapshot()
        best: tuple[np.ndarray, np.ndarray] | None = None
        history: dict[str, list[float]] = {}
        model.history_ = history
        stop_reason: str = StopReason.COMPLETED
        for epoch in range(int(model.epochs)):
            t0 = time.perf_counter()
            lr = self.sched(epoch)
            train_loss = self._train_epoch(lr)
            if train_loss is None or not net.all_finite():
                self._restore(last_good)
                if model.verbose:
                    print(
                        f"epoch {epoch + 1}/{model.epochs}: non-finite loss or weights, stopping (diverged)",
                        file=sys.stdout,
                    )
                return StopReason.DIVERGED
            record = self._record(epoch, lr, train_loss, t0)
            for key, value in record.items():
                history.setdefault(key, []).append(value)
            model.n_epochs_run_ = epoch + 1
            np.copyto(last_good[0], net.flat)
            np.copyto(last_good[1], net.stats)
            if self.tracker.update(float(record[self.tracker.monitor]), epoch + 1):
                model.best_epoch_, model.best_score_ = self.tracker.best_epoch, self.tracker.best
                if self.keep_best:
                    best = self._snapshot()
            if model.verbose:
                print(format_record(record, model.epochs, self.l2), file=sys.stdout, flush=True)
            stop_reason = self._stop_reason(callbacks, record)
            if stop_reason is not None:
                break
        if self.keep_best and best is not None:
            self._restore(best)
        return stop_reason or StopReason.COMPLETED

    def _train_epoch(self, lr: float) -> float | None:
        """One pass over the training rows in a fresh random order; the mean data loss, or
        None as soon as a batch loss is not finite."""
        net, flat, grad = self.net, self.net.flat, self.net.grad
        wslice = slice(0, net.n_weights)
        n = self.x_train.shape[0]
        perm = self.rng_shuffle.permutation(n)
        loss_sum = 0.0
        for start in range(0, n, self.batch):
            idx = perm[start : start + self.batch]
            m = idx.shape[0]
            xb = self.xbuf[:m]
            np.take(self.x_train, idx, axis=0, out=xb)
            if self.xmask is not None:  # xb is this batch's own copy: drop inputs in place
                np.multiply(xb, keep_mask(self.xmask[:m], self.input_dropout, self.rng_dropout), out=xb)
            logits = net.forward_train(xb, dropout=self.dropout, rng=self.rng_dropout)
            loss = net.loss_on_batch(logits, self.y_train[idx], grad=True)
            if not math.isfinite(loss):
                return None
            if self.s2 is not None:
                loss = float(np.einsum("ij,ij,j->", logits, logits, self.s2)) * logits.size / 4.0
            loss_sum += loss * m
            net.backward(logits)
            if self.l2_tmp is not None:
                np.multiply(flat[wslice], self.l2, out=self.l2_tmp)
                np.add(grad[wslice], self.l2_tmp, out=grad[wslice])
            if self.clip is not None:
                clip_by_global_norm(grad, self.clip)
            self.opt.step(grad, lr)
        return loss_sum / n

    def _record(self, epoch: int, lr: float, train_loss: float, t0: float) -> dict[str, float]:
        """The epoch's record (see :mod:`nnexp.nn.callbacks`), validation included."""
        record: dict[str, float] = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "l2_penalty": self.net.l2_penalty(self.l2),
            "lr": lr,
        }
        if self.val is not None:
            val_loss, val_acc = evaluate(
                self.net, *self.val, int(self.model.eval_batch_size), self.model.target_scale_
            )
            record["val_loss"] = val_loss
            if val_acc is not None:
                record["val_accuracy"] = val_acc
        record["epoch_seconds"] = time.perf_counter() - t0
        return record

    def _stop_reason(self, callbacks: Iterable[Callback], record: dict[str, float]) -> str | None:
        """Run the callbacks; why training stops after this epoch, or None to go on."""
        try:
            for callback in callbacks:
                callback(self.model, record)
        except StopTraining as stop:
            return stop.reason
        if self.model.early_stopping and self.tracker.should_stop:
            return StopReason.EARLY_STOPPED
        return None

    def _snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        return self.net.flat.copy(), self.net.stats.copy()

    def _restore(self, snapshot: tuple[np.ndarray, np.ndarray]) -> None:
        np.copyto(self.net.flat, snapshot[0])
        np.copyto(self.net.stats, snapshot[1])
