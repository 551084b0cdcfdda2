"""``MLP``: a scikit-learn-style estimator around :class:`~nnexp.nn.network.Network`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .callbacks import Callback
from .columns import ColumnTransform, is_table
from .hyperparameters import DEFAULTS as D
from .inference import class_indices, head_outputs, r2_score
from .network import Network
from .params import Hyperparameters
from .preprocessing import (
    as_labels,
    encode_labels,
    fit_head,
    fit_scaling,
    holdout,
    resolve_task,
    scale_inputs,
    standardize_targets,
)
from .serialization import Persistent
from .training import TrainingLoop, resolve_monitor
from .validation import (
    check_dropout_masks,
    check_input_mask,
    check_targets,
    check_X,
    hidden_sizes,
)


class MLP(Hyperparameters, Persistent):
    """Multi-layer perceptron for classification and regression, trained with mini-batch SGD-family optimizers.

    Hyperparameters are constructor keywords (stored unchanged, validated by ``fit`` /
    ``initialize`` or on demand by :meth:`validate_params`); input and output sizes are
    inferred from the data.

    Architecture
        depth (1..10 hidden layers), width (int, or one int per hidden layer),
        activation (``relu``, ``leaky_relu`` with ``leaky_slope``, ``tanh``, ``sigmoid``,
        ``identity``), batch_norm (per hidden layer, before the activation; ``bn_momentum`` is
        the running-statistics decay, ``bn_eps`` the variance epsilon), dropout (inverted, on
        hidden activations, in [0, 1)), input_dropout (inverted, on the input features, in
        [0, 1); training only, like dropout), init (``auto``: He for the ReLU family, Xavier
        otherwise and for the output layer; ``he``; ``xavier``).
    Task and head
        task ``auto`` means classification for integer, bool or text targets and regression
        for float targets. Class labels can be anything scikit-learn accepts (``0..K-1``,
        other integers, ``"M"``/``"B"``, ``"yes"``/``"no"``): ``classes_`` holds them sorted
        (``np.unique``; ``n_classes`` forces ``0..n_classes-1`` for integer labels) and
        ``predict`` returns them. K == 2 uses one sigmoid output with binary cross-entropy,
        K > 2 softmax cross-entropy, regression an identity head with mean squared error on
        the target standardized inside ``fit`` (training rows); losses, metrics and
        predictions are in the target's original units.
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
        scaling, fitted on the training X inside ``fit``, saved with the model and applied
        by ``predict``: ``standard`` (per-feature mean/std, for tables), ``minmax`` (one
        minimum and range over the whole array mapped to [0, 1], so all features share one
        scale: pixel images 0..255 become pixels/255), ``none``; dtype ``float32`` (default)
        or ``float64``; eval_batch_size: rows per chunk for validation and prediction.
    Early stopping (on by default)
        early_stopping, monitor (``val_loss``, ``val_accuracy``, ``train_loss``), mode
        (``min``/``max``/``auto``), patience, min_delta, restore_best (restore the best
        epoch's weights when training stops; only with early_stopping). Without
        ``X_val``/``y_val``, ``fit`` holds out ``validation_fraction`` of the training rows
        (per class for classification) as the validation set.

    The defaults are declared once, in ``nnexp.nn.hyperparameters`` (``conf/`` holds the same):
    ``MLP(seed=0)`` reaches about 98% test accuracy on scikit-learn's digits.
    Reproducibility
        seed: every random draw (initial weights, shuffling, dropout) comes from
        ``np.random.Generator`` streams spawned from this seed, so the same seed gives
        bit-identical weights and metrics on the same machine and BLAS.
    verbose
        print one line per epoch to stdout.

    Fitted attributes: ``task_``, ``classes_`` (classification), ``n_classes_`` (0 for
    regression), ``n_features_in_``, ``n_outputs_``, ``history_``, ``stop_reason_``,
    ``best_epoch_``, ``best_score_``, ``n_epochs_run_``, ``scaler_offset_`` and
    ``scaler_scale_`` (inputs: ``(X - offset) / scale``), ``target_mean_`` and
    ``target_scale_`` (regression), ``network_``.
    """

    def __init__(
        self,
        depth: int = D["depth"],
        width: int | Sequence[int] = D["width"],
        activation: str = D["activation"],
        dropout: float = D["dropout"],
        l2: float = D["l2"],
        batch_norm: bool = D["batch_norm"],
        optimizer: str = D["optimizer"],
        lr: float = D["lr"],
        batch_size: int = D["batch_size"],
        epochs: int = D["epochs"],
        seed: int = D["seed"],
        dtype: str = D["dtype"],
        *,
        momentum: float = D["momentum"],
        rho: float = D["rho"],
        beta1: float = D["beta1"],
        beta2: float = D["beta2"],
        eps: float = D["eps"],
        weight_decay: float = D["weight_decay"],
        clip_norm: float | None = D["clip_norm"],
        schedule: str = D["schedule"],
        step_size: int = D["step_size"],
        gamma: float = D["gamma"],
        decay_rate: float = D["decay_rate"],
        min_lr: float = D["min_lr"],
        t_max: int | None = D["t_max"],
        init: str = D["init"],
        leaky_slope: float = D["leaky_slope"],
        input_dropout: float = D["input_dropout"],
        task: str = D["task"],
        n_classes: int | None = D["n_classes"],
        scaling: str = D["scaling"],
        early_stopping: bool = D["early_stopping"],
        validation_fraction: float = D["validation_fraction"],
        monitor: str = D["monitor"],
        mode: str = D["mode"],
        patience: int = D["patience"],
        min_delta: float = D["min_delta"],
        restore_best: bool = D["restore_best"],
        bn_momentum: float = D["bn_momentum"],
        bn_eps: float = D["bn_eps"],
        eval_batch_size: int = D["eval_batch_size"],
        verbose: bool | int = D["verbose"],
    ) -> None:
        # scikit-learn style: store every keyword unchanged; ``fit`` validates them.
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)
        self.network_: Network | None = None
        #: the raw-table transform fitted on the training rows (``nnexp.nn.columns``), or None
        self.columns_: ColumnTransform | None = None

    # ------------------------------------------------------------------ setup
    @property
    def _np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def _rngs(self) -> tuple[np.random.Generator, ...]:
        """Independent streams for initial weights, shuffling, dropout and the early-stopping
        holdout, all from ``seed`` (adding a stream leaves the earlier ones unchanged)."""
        children = np.random.SeedSequence(int(self.seed)).spawn(4)
        return tuple(np.random.Generator(np.random.PCG64(c)) for c in children)

    def initialize(self, X: Any, y: Any) -> MLP:
        """Validate, infer input/output sizes, the task and the classes, fit the input and
        target scaling and draw initial weights. No training happens; ``fit`` does this first."""
        self.validate_params()
        X = check_X(X)
        self._setup(X, check_targets(y, X.shape[0]))
        return self

    def _setup(self, X: np.ndarray, y: np.ndarray) -> None:
        """``initialize`` on checked arrays (the training rows)."""
        h = fit_head(y, self.task, self.n_classes)
        self.task_, self.classes_, self.n_classes_, self.n_outputs_ = (
            h.task,
            h.classes,
            h.n_classes,
            h.n_outputs,
        )
        self.target_mean_, self.target_scale_, self._y_ndim = h.target_mean, h.target_scale, h.y_ndim
        self.n_features_in_ = X.shape[1]
        self.scaler_offset_, self.scaler_scale_ = fit_scaling(X, self.scaling)
        self.network_ = self._build_network(h.head, h.n_outputs)
        self.network_.initialize(self._rngs()[0], self.init)
        self.history_: dict[str, list[float]] = {}
        self.stop_reason_: str | None = None
        self.best_epoch_: int | None = None
        self.best_score_: float | None = None
        self.n_epochs_run_ = 0

    def _build_network(self, head: str, n_out: int) -> Network:
        return Network(
            self.n_features_in_,
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

    def _check_initialized(self) -> Network:
        if self.network_ is None:
            raise ValueError("this MLP is not fitted yet; call fit(X, y) (or initialize / MLP.load) first")
        return self.network_

    def _transform(self, X: np.ndarray) -> np.ndarray:
        """X in the model dtype, C-contiguous, scaled as fitted (a new array unless ``none``)."""
        return scale_inputs(X, self.scaling, self.scaler_offset_, self.scaler_scale_, self._np_dtype)

    def _inputs(self, X: Any) -> np.ndarray:
        """X checked against the fitted width; a table (DataFrame, mapping of columns) goes
        through :attr:`columns_` first (raw rows by column name)."""
        if is_table(X):
            if self.columns_ is None:
                raise ValueError("this model takes a numeric matrix, not a table of named columns")
            X = self.columns_.transform(X, self._np_dtype)
        return check_X(X, n_features=self.n_features_in_)

    def _targets(self, y: np.ndarray, name: str = "y") -> np.ndarray:
        """Targets as the head's loss expects them: class indices (int64, or (n,1) 0/1 floats for
        the sigmoid head), or the standardized regression target (n, k)."""
        net = self._check_initialized()
        if self.task_ == "classification":
            codes = encode_labels(y, self.classes_, name=name)
            return codes if net.head == "softmax" else codes.astype(self._np_dtype).reshape(-1, 1)
        return standardize_targets(y, self.target_mean_, self.target_scale_, self._np_dtype, name)

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

    def loss_and_grads(
        self,
        X: Any,
        y: Any,
        dropout_masks: list[np.ndarray] | None = None,
        input_mask: np.ndarray | None = None,
    ) -> tuple[float, list[np.ndarray]]:
        """Data loss + L2 penalty on (X, y) and its gradient, one array per :attr:`params` entry.

        Deterministic: no dropout unless ``dropout_masks`` (one 0/1 keep-mask of shape
        ``(n_samples, width_l)`` per hidden layer, scaled by ``1 / (1 - dropout)`` here) is given;
        likewise no input dropout unless ``input_mask`` (0/1, ``(n_samples, n_features)``,
        scaled by ``1 / (1 - input_dropout)``) is given;
        batch norm uses the batch statistics (training mode) without touching the running ones.
        X goes through the fitted input scaling like everywhere else; a regression loss is on
        the standardized target (the objective training minimises).
        """
        net = self._check_initialized()
        X = check_X(X, n_features=self.n_features_in_)
        y = check_targets(y, X.shape[0])
        targets = self._targets(y)
        x = self._transform(X)
        if input_mask is not None:  # as training draws it
            x = x * check_input_mask(input_mask, x.shape, net.dtype, float(self.input_dropout))
        if dropout_masks is not None:
            dropout_masks = check_dropout_masks(dropout_masks, X.shape[0], net.sizes, net.dtype)
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

    def _prepare(self, X: Any, y: Any, X_val: Any, y_val: Any) -> tuple[Any, ...]:
        """Check the data, hold out validation rows if needed, set the model up; return the
        transformed training and validation data and the metric early stopping watches."""
        self.validate_params()
        X = check_X(X)
        y = check_targets(y, X.shape[0])
        has_val = X_val is not None or y_val is not None
        if has_val:
            if X_val is None or y_val is None:
                raise ValueError("pass both X_val and y_val (or neither)")
            Xv = check_X(X_val, name="X_val", n_features=X.shape[1])
            yv = check_targets(y_val, Xv.shape[0], name="y_val", X_name="X_val")
        elif self.early_stopping:
            X, y, Xv, yv = self._holdout(X, y)
            has_val = True
        self._setup(X, y)
        val = (self._transform(Xv), self._targets(yv, name="y_val")) if has_val else None
        monitor = resolve_monitor(self.monitor, bool(self.early_stopping), has_val, self.task_)
        return self._transform(X), self._targets(y), val, monitor

    def _fit(self, X: Any, y: Any, X_val: Any, y_val: Any, callbacks: Iterable[Callback] | None) -> MLP:
        callbacks = list(callbacks or [])
        x_train, y_train, val, monitor = self._prepare(X, y, X_val, y_val)
        _, rng_shuffle, rng_dropout, _ = self._rngs()
        loop = TrainingLoop(
            self, self._check_initialized(), x_train, y_train, val, monitor, rng_shuffle, rng_dropout
        )
        self.stop_reason_ = loop.run(callbacks)
        return self

    def _holdout(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Split ``validation_fraction`` of the rows off (per class for classification)."""
        groups = None
        if resolve_task(self.task, y) == "classification":
            groups = np.unique(as_labels(y), return_inverse=True)[1].reshape(-1)
        train, val = holdout(X.shape[0], float(self.validation_fraction), self._rngs()[3], groups)
        return X[train], y[train], X[val], y[val]

    # ------------------------------------------------------------------ inference
    def _outputs(self, X: Any) -> np.ndarray:
        """Head outputs for raw X, shape (n, n_outputs): probabilities, or regression values in
        the target's units."""
        net = self._check_initialized()
        x = self._transform(self._inputs(X))
        return head_outputs(net, x, int(self.eval_batch_size), self.target_mean_, self.target_scale_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        self._check_initialized()
        if self.task_ != "classification":
            raise ValueError("predict_proba is only defined for classification; this model does regression")
        p = self._outputs(X)
        if self.n_classes_ == 2:
            return np.hstack([1.0 - p, p])
        return p

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (from ``classes_``) for classification, values in the target's units for regression."""
        net = self._check_initialized()
        if self.task_ == "classification":
            x = self._transform(self._inputs(X))
            return self.classes_[class_indices(net, x, int(self.eval_batch_size))]
        out = self._outputs(X)
        return out[:, 0] if self._y_ndim == 1 else out

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classification; coefficient of determination R^2 (averaged over outputs) for regression."""
        self._check_initialized()
        X = self._inputs(X)
        y = check_targets(y, X.shape[0])
        pred = self.predict(X)
        if self.task_ == "classification":
            return float(np.mean(pred == as_labels(y)))
        return r2_score(y, pred)
