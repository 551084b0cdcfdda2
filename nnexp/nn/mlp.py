"""``MLP``: a scikit-learn-style estimator around :class:`~nnexp.nn.network.Network`."""

from __future__ import annotations

import hashlib
import inspect
import math
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .callbacks import Callback, StopTraining
from .early_stopping import EarlyStopping, resolve_mode
from .network import Network
from .optimizers import clip_by_global_norm, make_optimizer
from .schedules import make_schedule
from .validation import (
    check_labels,
    check_targets,
    check_X,
    hidden_sizes,
    validate_hyperparameters,
)


def _column_mean_std(X: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and (population) std in float64, two-pass, without a full float64 copy of X."""
    n = X.shape[0]
    total = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        total += X[start : start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / n
    sq = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        d = X[start : start + chunk] - mean
        sq += np.einsum("ij,ij->j", d, d)
    return mean, np.sqrt(sq / n)


class MLP:
    """Multi-layer perceptron for classification and regression, trained with mini-batch SGD-family optimizers.

    Hyperparameters are constructor keywords (stored unchanged, validated by ``fit`` /
    ``initialize`` or on demand by :meth:`validate_params`); input and output sizes are
    inferred from the data.

    Architecture
        depth (1..10 hidden layers), width (int, or one int per hidden layer),
        activation (``relu``, ``leaky_relu`` with ``leaky_slope``, ``tanh``, ``sigmoid``,
        ``identity``), batch_norm (per hidden layer, before the activation; ``bn_momentum`` is
        the running-statistics decay, ``bn_eps`` the variance epsilon), dropout (inverted, on
        hidden activations, in [0, 1)), init (``auto``: He for the ReLU family, Xavier
        otherwise and for the output layer; ``he``; ``xavier``).
    Task and head
        task ``auto`` means classification for integer/bool targets and regression for
        float targets. Labels are ``0..K-1`` (``n_classes`` forces K, else max label + 1).
        K == 2 uses one sigmoid output with binary cross-entropy, K > 2 softmax
        cross-entropy, regression an identity head with mean squared error.
    Regularisation
        l2: adds ``0.5 * l2 * sum(W**2)`` over dense weights (not biases / BN) to the loss;
        weight_decay: decoupled decay used by ``optimizer="adamw"`` only.
    Optimisation
        optimizer (``sgd``, ``momentum``, ``nesterov``, ``rmsprop``, ``adagrad``, ``adam``,
        ``adamw``) with lr, momentum (momentum/nesterov), rho (rmsprop), beta1, beta2, eps;
        clip_norm (global gradient-norm cap, None = off); schedule (``constant``, ``step``
        with ``step_size``/``gamma``, ``exponential`` with ``decay_rate``, ``cosine`` with
        ``min_lr``/``t_max`` defaulting to epochs), applied per epoch; batch_size; epochs.
    Data handling
        standardize: fit mean/std on the training X inside ``fit`` and apply it everywhere
        (saved with the model); dtype ``float32`` (default) or ``float64``;
        eval_batch_size: rows per chunk for validation and prediction.
    Early stopping
        early_stopping, monitor (``val_loss``, ``val_accuracy``, ``train_loss``), mode
        (``min``/``max``/``auto``), patience, min_delta, restore_best (restore the best
        epoch's weights when training stops; only with early_stopping).
    Reproducibility
        seed: every random draw (initial weights, shuffling, dropout) comes from
        ``np.random.Generator`` streams spawned from this seed, so the same seed gives
        bit-identical weights and metrics on the same machine and BLAS.
    verbose
        print one line per epoch to stdout.

    Fitted attributes: ``task_``, ``n_classes_`` (0 for regression), ``n_features_in_``,
    ``n_outputs_``, ``history_``, ``stop_reason_``, ``best_epoch_``, ``best_score_``,
    ``n_epochs_run_``, ``scaler_mean_``, ``scaler_scale_``, ``network_``.
    """

    def __init__(
        self,
        depth: int = 2,
        width: int | Sequence[int] = 64,
        activation: str = "relu",
        dropout: float = 0.0,
        l2: float = 0.0,
        batch_norm: bool = False,
        optimizer: str = "adam",
        lr: float = 1e-3,
        batch_size: int = 128,
        epochs: int = 20,
        seed: int = 0,
        dtype: str = "float32",
        *,
        momentum: float = 0.9,
        rho: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        clip_norm: float | None = None,
        schedule: str = "constant",
        step_size: int = 10,
        gamma: float = 0.1,
        decay_rate: float = 0.95,
        min_lr: float = 0.0,
        t_max: int | None = None,
        init: str = "auto",
        leaky_slope: float = 0.01,
        task: str = "auto",
        n_classes: int | None = None,
        standardize: bool = True,
        early_stopping: bool = False,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        bn_momentum: float = 0.9,
        bn_eps: float = 1e-5,
        eval_batch_size: int = 4096,
        verbose: bool | int = False,
    ) -> None:
        self.depth = depth
        self.width = width
        self.activation = activation
        self.dropout = dropout
        self.l2 = l2
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.seed = seed
        self.dtype = dtype
        self.momentum = momentum
        self.rho = rho
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.schedule = schedule
        self.step_size = step_size
        self.gamma = gamma
        self.decay_rate = decay_rate
        self.min_lr = min_lr
        self.t_max = t_max
        self.init = init
        self.leaky_slope = leaky_slope
        self.task = task
        self.n_classes = n_classes
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best
        self.bn_momentum = bn_momentum
        self.bn_eps = bn_eps
        self.eval_batch_size = eval_batch_size
        self.verbose = verbose
        self.network_: Network | None = None

    # ------------------------------------------------------------------ sklearn-style params
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [n for n, p in sig.parameters.items() if n != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as a dict of constructor keyword -> value."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> MLP:
        """Set hyperparameters by keyword (takes effect at the next ``fit`` / ``initialize``)."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"unknown hyperparameter {name!r} for MLP; valid names: {sorted(valid)}")
            setattr(self, name, value)
        return self

    def validate_params(self) -> None:
        """Raise ``ValueError`` naming the first invalid hyperparameter and its valid range/choices."""
        validate_hyperparameters(self.get_params())

    def __repr__(self) -> str:
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name)
            same = type(value) is type(default) and isinstance(value, (bool, int, float, str, type(None))) and value == default
            if not same:
                changed.append(f"{name}={value!r}")
        return f"MLP({', '.join(changed)})"

    # ------------------------------------------------------------------ setup
    @property
    def _np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def _rngs(self) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
        """Independent streams for initial weights, shuffling and dropout, all from ``seed``."""
        children = np.random.SeedSequence(int(self.seed)).spawn(3)
        init, shuffle, dropout = (np.random.Generator(np.random.PCG64(c)) for c in children)
        return init, shuffle, dropout

    def _resolve_task(self, y: np.ndarray) -> str:
        if self.task != "auto":
            return self.task
        return "classification" if y.dtype.kind in "biu" else "regression"

    def initialize(self, X: Any, y: Any) -> MLP:
        """Validate, infer input/output sizes and the task, fit the scaler and draw initial weights.

        No training happens; ``fit`` calls this first. Returns ``self``.
        """
        self._initialize(X, y)
        return self

    def _initialize(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """``initialize``, returning the checked X and y so ``fit`` does not check them twice."""
        self.validate_params()
        X = check_X(X)
        y = check_targets(y, X.shape[0])
        task = self._resolve_task(y)
        if task == "classification":
            labels = check_labels(y, self.n_classes)
            n_classes = int(self.n_classes) if self.n_classes is not None else int(labels.max()) + 1
            if n_classes < 2:
                raise ValueError(
                    f"classification needs at least 2 classes (labels 0..K-1), but y only contains label {labels.max()}; "
                    "pass n_classes=K if some classes are absent from this training set"
                )
            head = "softmax" if n_classes > 2 else "sigmoid"
            n_out = n_classes if n_classes > 2 else 1
            self._y_ndim = 1
        else:
            n_classes = 0
            head = "identity"
            n_out = 1 if y.ndim == 1 else y.shape[1]
            self._y_ndim = y.ndim
        self.task_ = task
        self.n_classes_ = n_classes
        self.n_features_in_ = X.shape[1]
        self.n_outputs_ = n_out
        if self.standardize:
            mean, std = _column_mean_std(X)
            std[std < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)] = 1.0  # constant features
            self.scaler_mean_, self.scaler_scale_ = mean, std
        else:
            self.scaler_mean_ = np.zeros(X.shape[1])
            self.scaler_scale_ = np.ones(X.shape[1])
        self.network_ = Network(
            X.shape[1],
            hidden_sizes(self.depth, self.width),
            n_out,
            activation=self.activation,
            head=head,
            batch_norm=bool(self.batch_norm),
            dtype=self._np_dtype,
            leaky_slope=float(self.leaky_slope),
            bn_momentum=float(self.bn_momentum),
            bn_eps=float(self.bn_eps),
        )
        rng_init, _, _ = self._rngs()
        self.network_.initialize(rng_init, self.init)
        self.history_: dict[str, list[float]] = {}
        self.stop_reason_: str | None = None
        self.best_epoch_: int | None = None
        self.best_score_: float | None = None
        self.n_epochs_run_ = 0
        return X, y

    def _check_initialized(self) -> Network:
        if self.network_ is None:
            raise ValueError("this MLP is not fitted yet; call fit(X, y) (or initialize / MLP.load) first")
        return self.network_

    def _transform(self, X: np.ndarray, *, copy: bool = True) -> np.ndarray:
        """X in the model dtype, C-contiguous, standardized when configured."""
        dt = self._np_dtype
        if not self.standardize:
            return np.ascontiguousarray(X, dtype=dt)
        out = np.array(X, dtype=dt, order="C", copy=True) if copy else np.ascontiguousarray(X, dtype=dt)
        np.subtract(out, self.scaler_mean_.astype(dt), out=out)
        np.multiply(out, (1.0 / self.scaler_scale_).astype(dt), out=out)
        return out

    def _targets(self, y: np.ndarray, name: str = "y") -> np.ndarray:
        """Targets in the form the head's loss expects (int64 labels, (n,1) 0/1 floats, (n,k) floats)."""
        net = self._check_initialized()
        if self.task_ == "classification":
            labels = check_labels(y, self.n_classes_, name=name)
            if net.head == "softmax":
                return labels
            return labels.astype(self._np_dtype).reshape(-1, 1)
        if y.ndim == 2 and y.shape[1] != self.n_outputs_:
            raise ValueError(f"{name} has {y.shape[1]} outputs but the model was fitted with {self.n_outputs_}")
        return np.ascontiguousarray(y, dtype=self._np_dtype).reshape(-1, self.n_outputs_)

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> list[np.ndarray]:
        """Live parameter arrays: W1, b1, W2, b2, ..., W_out, b_out, then (batch_norm) gamma1, beta1, ...

        ``W_l`` has shape (fan_in, fan_out). Batch-norm scale/shift pairs, one per hidden layer,
        follow all dense pairs, so ``params[:2 * (depth + 1)]`` is always the dense layers.
        The arrays are views into the model: writing to them changes the model.
        """
        return self._check_initialized().params

    def weights_checksum(self) -> str:
        """SHA-256 hex digest of all parameter bytes, in :attr:`params` order."""
        h = hashlib.sha256()
        for p in self.params:
            h.update(np.ascontiguousarray(p).tobytes())
        return h.hexdigest()

    def loss_and_grads(self, X: Any, y: Any, dropout_masks: list[np.ndarray] | None = None) -> tuple[float, list[np.ndarray]]:
        """Data loss + L2 penalty on (X, y) and its gradient, one array per :attr:`params` entry.

        Deterministic: no dropout unless ``dropout_masks`` (one 0/1 keep-mask of shape
        ``(n_samples, width_l)`` per hidden layer, scaled by ``1 / (1 - dropout)`` here) is given;
        batch norm uses the batch statistics (training mode) without touching the running ones.
        X goes through the fitted standardization like everywhere else.
        """
        net = self._check_initialized()
        X = check_X(X, n_features=self.n_features_in_)
        y = check_targets(y, X.shape[0])
        targets = self._targets(y)
        x = self._transform(X)
        if dropout_masks is not None:
            if len(dropout_masks) != net.n_hidden:
                raise ValueError(f"dropout_masks needs one mask per hidden layer ({net.n_hidden}), got {len(dropout_masks)}")
            for l, mask in enumerate(dropout_masks):
                if np.shape(mask) != (X.shape[0], net.sizes[l + 1]):
                    raise ValueError(f"dropout_masks[{l}] must have shape {(X.shape[0], net.sizes[l + 1])}, got {np.shape(mask)}")
            dropout_masks = [np.asarray(mk, dtype=net.dtype) for mk in dropout_masks]
        dropout = float(self.dropout) if dropout_masks is not None else 0.0
        logits = net.forward_train(x, dropout=dropout, masks=dropout_masks, update_stats=False)
        loss = net.loss_on_batch(logits, targets, grad=True)
        net.backward(logits)
        if self.l2:
            w = net.flat[: net.n_weights]
            net.grad[: net.n_weights] += self.l2 * w
        loss += net.l2_penalty(float(self.l2))
        return float(loss), [g.copy() for g in net.grads]

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: Any,
        y: Any,
        X_val: Any = None,
        y_val: Any = None,
        callbacks: Iterable[Callback] | None = None,
    ) -> MLP:
        """Train on (X, y) from freshly drawn initial weights; returns ``self``.

        Each epoch visits the training rows in a new random order in mini-batches of
        ``batch_size``, then evaluates the validation set (if given), records the epoch in
        ``history_``, and calls each callback with ``(model, record)``. Training ends after
        ``epochs`` epochs (``stop_reason_ = "completed"``), when early stopping runs out of
        patience (``"early_stopped"``), when a callback raises :class:`StopTraining` (its
        reason), or on a non-finite loss or weights (``"diverged"``: the weights and
        batch-norm statistics go back to the end of the last finite epoch, or to the initial
        weights in the first epoch, and the diverged epoch is not recorded).
        """
        # Overflow on the way to a non-finite loss is expected; it is detected and handled as
        # divergence, so numpy's warnings about it would only be noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._fit(X, y, X_val, y_val, callbacks)

    def _fit(self, X: Any, y: Any, X_val: Any, y_val: Any, callbacks: Iterable[Callback] | None) -> MLP:
        callbacks = list(callbacks or [])
        X, y = self._initialize(X, y)
        net = self._check_initialized()
        y_train = self._targets(y)
        has_val = X_val is not None or y_val is not None
        if has_val:
            if X_val is None or y_val is None:
                raise ValueError("pass both X_val and y_val (or neither)")
            Xv = check_X(X_val, name="X_val", n_features=self.n_features_in_)
            yv = check_targets(y_val, Xv.shape[0], name="y_val", X_name="X_val")
            y_val_t = self._targets(yv, name="y_val")
            x_val = self._transform(Xv)

        monitor = self.monitor
        available = {"train_loss"}
        if has_val:
            available.add("val_loss")
            if self.task_ == "classification":
                available.add("val_accuracy")
        if monitor not in available:
            if self.early_stopping:
                why = "a validation set (X_val, y_val)" if not has_val else "a classification task"
                raise ValueError(f"early_stopping monitors {monitor!r}, which needs {why}; available here: {sorted(available)}")
            monitor = "val_loss" if has_val else "train_loss"
        tracker = EarlyStopping(monitor, resolve_mode(monitor, self.mode), int(self.patience), float(self.min_delta))
        keep_best = bool(self.early_stopping and self.restore_best)

        x_train = self._transform(X)
        n = x_train.shape[0]
        B = min(int(self.batch_size), n)
        _, rng_shuffle, rng_dropout = self._rngs()
        opt = make_optimizer(
            self.optimizer, net.flat, net.n_weights, momentum=self.momentum, rho=self.rho, beta1=self.beta1,
            beta2=self.beta2, eps=self.eps, weight_decay=self.weight_decay,
        )
        sched = make_schedule(
            self.schedule, self.lr, epochs=self.epochs, step_size=self.step_size, gamma=self.gamma,
            decay_rate=self.decay_rate, min_lr=self.min_lr, t_max=self.t_max,
        )
        net.allocate(B)
        xbuf = np.empty((B, self.n_features_in_), dtype=net.dtype)
        l2 = float(self.l2)
        l2_tmp = np.empty(net.n_weights, dtype=net.dtype) if l2 else None
        clip = None if self.clip_norm is None else float(self.clip_norm)
        dropout = float(self.dropout)
        flat, grad, wslice = net.flat, net.grad, slice(0, net.n_weights)

        last_good = (flat.copy(), net.stats.copy())
        best: tuple[np.ndarray, np.ndarray] | None = None
        history: dict[str, list[float]] = {}
        stop_reason = "completed"
        self.history_ = history

        for epoch in range(int(self.epochs)):
            t0 = time.perf_counter()
            lr = sched(epoch)
            perm = rng_shuffle.permutation(n)
            loss_sum = 0.0
            diverged = False
            for start in range(0, n, B):
                idx = perm[start : start + B]
                m = idx.shape[0]
                xb = xbuf[:m]
                np.take(x_train, idx, axis=0, out=xb)
                logits = net.forward_train(xb, dropout=dropout, rng=rng_dropout)
                loss = net.loss_on_batch(logits, y_train[idx], grad=True)
                if not math.isfinite(loss):
                    diverged = True
                    break
                loss_sum += loss * m
                net.backward(logits)
                if l2_tmp is not None:
                    np.multiply(flat[wslice], l2, out=l2_tmp)
                    np.add(grad[wslice], l2_tmp, out=grad[wslice])
                if clip is not None:
                    clip_by_global_norm(grad, clip)
                opt.step(grad, lr)
            if diverged or not net.all_finite():
                np.copyto(flat, last_good[0])
                np.copyto(net.stats, last_good[1])
                stop_reason = "diverged"
                if self.verbose:
                    print(f"epoch {epoch + 1}/{self.epochs}: non-finite loss or weights, stopping (diverged)", file=sys.stdout)
                break

            record: dict[str, float] = {"epoch": epoch + 1, "train_loss": loss_sum / n, "l2_penalty": net.l2_penalty(l2), "lr": lr}
            if has_val:
                val_loss, val_acc = self._evaluate(x_val, y_val_t)
                record["val_loss"] = val_loss
                if val_acc is not None:
                    record["val_accuracy"] = val_acc
            record["epoch_seconds"] = time.perf_counter() - t0
            for key, value in record.items():
                history.setdefault(key, []).append(value)
            self.n_epochs_run_ = epoch + 1
            np.copyto(last_good[0], flat)
            np.copyto(last_good[1], net.stats)
            if tracker.update(float(record[monitor]), epoch + 1):
                self.best_epoch_, self.best_score_ = tracker.best_epoch, tracker.best
                if keep_best:
                    best = (flat.copy(), net.stats.copy())
            if self.verbose:
                print(self._format_record(record), file=sys.stdout, flush=True)
            try:
                for callback in callbacks:
                    callback(self, record)
            except StopTraining as stop:
                stop_reason = stop.reason
                break
            if self.early_stopping and tracker.should_stop:
                stop_reason = "early_stopped"
                break

        if stop_reason != "diverged" and keep_best and best is not None:
            np.copyto(flat, best[0])
            np.copyto(net.stats, best[1])
        self.stop_reason_ = stop_reason
        return self

    def _format_record(self, record: dict[str, float]) -> str:
        parts = [f"epoch {int(record['epoch'])}/{self.epochs}"]
        for key in ("train_loss", "val_loss", "val_accuracy", "l2_penalty"):
            if key in record and (key != "l2_penalty" or self.l2):
                parts.append(f"{key}={record[key]:.4f}")
        parts.append(f"lr={record['lr']:.3g}")
        parts.append(f"{record['epoch_seconds']:.2f}s")
        return "  ".join(parts)

    def _logits_chunks(self, x: np.ndarray) -> Iterable[tuple[slice, np.ndarray]]:
        """Inference logits of already-transformed ``x`` in chunks of ``eval_batch_size`` rows."""
        net = self._check_initialized()
        step = int(self.eval_batch_size)
        for start in range(0, x.shape[0], step):
            sl = slice(start, min(start + step, x.shape[0]))
            yield sl, net.forward_eval(x[sl])

    def _evaluate(self, x: np.ndarray, targets: np.ndarray) -> tuple[float, float | None]:
        """Mean data loss and (classification) accuracy on transformed ``x``."""
        net = self._check_initialized()
        total, correct = 0.0, 0
        for sl, logits in self._logits_chunks(x):
            t = targets[sl]
            if net.head == "softmax":
                correct += int(np.count_nonzero(logits.argmax(axis=1) == t))
            elif net.head == "sigmoid":
                correct += int(np.count_nonzero((logits[:, 0] >= 0) == (t[:, 0] >= 0.5)))
            total += net.loss_on_batch(logits, t, grad=False) * logits.shape[0]
        n = x.shape[0]
        return total / n, (correct / n if net.head != "identity" else None)

    # ------------------------------------------------------------------ inference
    def _outputs(self, X: Any) -> np.ndarray:
        """Head outputs (probabilities / regression values) for raw X, shape (n, n_outputs)."""
        net = self._check_initialized()
        X = check_X(X, n_features=self.n_features_in_)
        out = np.empty((X.shape[0], self.n_outputs_), dtype=net.dtype)
        step = int(self.eval_batch_size)
        from .losses import OUTPUTS

        to_output = OUTPUTS[net.head]
        for start in range(0, X.shape[0], step):
            sl = slice(start, min(start + step, X.shape[0]))
            logits = net.forward_eval(self._transform(X[sl]))
            out[sl] = to_output(logits)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes); classification only."""
        self._check_initialized()
        if self.task_ != "classification":
            raise ValueError("predict_proba is only defined for classification; this model does regression")
        p = self._outputs(X)
        if self.n_classes_ == 2:
            return np.hstack([1.0 - p, p])
        return p

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (int64) for classification, predicted values for regression."""
        self._check_initialized()
        if self.task_ == "classification":
            net = self._check_initialized()
            X = check_X(X, n_features=self.n_features_in_)
            labels = np.empty(X.shape[0], dtype=np.int64)
            step = int(self.eval_batch_size)
            for start in range(0, X.shape[0], step):
                sl = slice(start, min(start + step, X.shape[0]))
                logits = net.forward_eval(self._transform(X[sl]))
                labels[sl] = logits.argmax(axis=1) if net.head == "softmax" else (logits[:, 0] >= 0)
            return labels
        out = self._outputs(X)
        return out[:, 0] if self._y_ndim == 1 else out

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classification; coefficient of determination R^2 (averaged over outputs) for regression."""
        self._check_initialized()
        X = check_X(X, n_features=self.n_features_in_)
        y = check_targets(y, X.shape[0])
        pred = self.predict(X)
        if self.task_ == "classification":
            labels = check_labels(y, self.n_classes_)
            return float(np.mean(pred == labels))
        yt = np.asarray(y, dtype=np.float64).reshape(pred.shape[0], -1)
        yp = np.asarray(pred, dtype=np.float64).reshape(pred.shape[0], -1)
        ss_res = ((yt - yp) ** 2).sum(axis=0)
        ss_tot = ((yt - yt.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
        return float(r2.mean())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model (hyperparameters, weights, batch-norm statistics, scaler) to one ``.npz``.

        Refuses (``ValueError``) a model with non-finite weights. Returns the path written.
        """
        from .serialization import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> MLP:
        """Load a model written by :meth:`save` (``np.load(..., allow_pickle=False)``)."""
        from .serialization import load_model

        return load_model(path, cls)
