"""The MLP's hyperparameters, declared once: default, type, bound or choices, and config key.

In the spirit of scikit-learn's ``_parameter_constraints``: :class:`~nnexp.nn.MLP`'s
constructor defaults, :func:`~nnexp.nn.validation.validate_hyperparameters`, the structured
config (``nnexp.config.schema``), its range checks (``nnexp.config.validate``) and the
config -> MLP mapping (``nnexp.config.to_model``) all read :data:`HYPERPARAMETERS`.

Adding a hyperparameter: one :class:`Hyperparameter` entry here (with ``key`` when it is a
config key), the keyword in ``MLP.__init__`` (``= DEFAULTS["name"]``) where the network uses it,
its default in ``conf/`` and a test.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .activations import ACTIVATIONS
from .early_stopping import MODE_CHOICES
from .initializers import INIT_CHOICES
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULE_CHOICES

MAX_DEPTH = 10
MAX_WIDTH = 65536
MAX_SEED = 2**32 - 1
DTYPE_CHOICES = ("float32", "float64")
TASK_CHOICES = ("auto", "classification", "regression")
MONITOR_CHOICES = ("val_loss", "val_accuracy", "train_loss")
#: ``standard``: per-feature mean/std; ``minmax``: one min and max over the whole training
#: array mapped to [0, 1] (pixels 0..255 become pixels/255); ``none``: raw values.
SCALING_CHOICES = ("standard", "minmax", "none")


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


@dataclass(frozen=True)
class Hyperparameter:
    """One MLP keyword: its default and what values it accepts.

    ``kind``: ``int``, ``real``, ``bool``, ``choice``, ``width`` (an int or one per layer) or
    ``verbose`` (bool or int). ``low``/``high`` bound numbers (``*_open``: excluded);
    ``nullable``: ``None`` is valid too. ``key``: the dotted config key (``None``: Python only).
    ``when``: (other hyperparameter, values) under which the config key applies; elsewhere the
    config must leave it null, and null always means this default.
    """

    name: str
    default: Any
    kind: str
    key: str | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False
    when: tuple[str, tuple[str, ...]] | None = None
    doc: str = ""

    @property
    def python_type(self) -> type:
        """The config field's type (``width``: an int or a list of them, so left open)."""
        return {"int": int, "real": float, "bool": bool, "choice": str}.get(self.kind, Any)

    def expected(self) -> str:
        """What a valid value looks like, e.g. ``an integer in [1, 10]``, ``a number in (0.0, 10.0]``."""
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "verbose":
            return "a bool or an int"
        integer = self.kind in ("int", "width")
        what = "an integer" if integer else "a number"
        cast = int if integer else float
        lo = None if self.low is None else cast(self.low)
        hi = None if self.high is None else cast(self.high)
        if hi is None:
            return f"{what} {'>' if self.low_open else '>='} {lo}" if lo is not None else what
        return f"{what} in {'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is valid on its own (cross-parameter rules are in ``validation``)."""
        if value is None:
            return self.nullable
        if self.kind == "choice":
            return isinstance(value, str) and value in self.choices
        if self.kind == "bool":
            return isinstance(value, (bool, np.bool_))
        if self.kind == "verbose":
            return isinstance(value, (bool, numbers.Integral))
        if self.kind in ("int", "width"):
            ok = is_int(value)
        else:
            ok = is_real(value)
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        return bool(ok)


def _h(name: str, default: Any, kind: str, key: str | None = None, **kw: Any) -> Hyperparameter:
    return Hyperparameter(name, default, kind, key, **kw)


_UNIT = dict(low=0.0, high=1.0, high_open=True)  # [0, 1)
_POS = dict(low=0.0, low_open=True)  # (0, inf)
_NONNEG = dict(low=0.0)  # [0, inf)
_OPT = "optimizer"
_SCHED = "schedule"

#: Every MLP keyword in constructor order.
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h
    for h in (
        # architecture
        _h("depth", 2, "int", "model.depth", low=1, high=MAX_DEPTH, doc="hidden layers"),
        _h(
            "width",
            128,
            "width",
            "model.width",
            low=1,
            high=MAX_WIDTH,
            doc="units per hidden layer (or one int per layer)",
        ),
        _h("activation", "relu", "choice", "model.activation", choices=tuple(ACTIVATIONS)),
        _h("dropout", 0.0, "real", "model.dropout", **_UNIT),
        _h("l2", 1e-3, "real", "model.l2", **_NONNEG),
        _h("batch_norm", False, "bool", "model.batch_norm"),
        _h("optimizer", "adam", "choice", "optimizer.name", choices=tuple(OPTIMIZERS)),
        _h("lr", 1e-3, "real", "optimizer.lr", low=0.0, high=10.0, low_open=True),
        _h("batch_size", 32, "int", "trainer.batch_size", low=1),
        _h("epochs", 100, "int", "trainer.epochs", low=1),
        _h("seed", 0, "int", "trainer.seed", low=0, high=MAX_SEED),
        _h("dtype", "float32", "choice", "model.dtype", choices=DTYPE_CHOICES),
        # optimizer-specific
        _h("momentum", 0.9, "real", "optimizer.momentum", when=(_OPT, ("momentum", "nesterov")), **_UNIT),
        _h("rho", 0.9, "real", "optimizer.rho", when=(_OPT, ("rmsprop",)), **_UNIT),
        _h("beta1", 0.9, "real", "optimizer.beta1", when=(_OPT, ("adam", "adamw")), **_UNIT),
        _h("beta2", 0.999, "real", "optimizer.beta2", when=(_OPT, ("adam", "adamw")), **_UNIT),
        _h(
            "eps",
            1e-8,
            "real",
            "optimizer.eps",
            when=(_OPT, ("rmsprop", "adagrad", "adam", "adamw")),
            low=0.0,
            high=1.0,
            low_open=True,
        ),
        _h("weight_decay", 0.01, "real", "optimizer.weight_decay", when=(_OPT, ("adamw",)), **_NONNEG),
        _h(
            "clip_norm",
            None,
            "real",
            "optimizer.clip_norm",
            nullable=True,
            doc="global gradient-norm cap; null: off",
            **_POS,
        ),
        # learning-rate schedule
        _h("schedule", "constant", "choice", "optimizer.schedule", choices=tuple(SCHEDULE_CHOICES)),
        _h("step_size", 10, "int", "optimizer.step_size", when=(_SCHED, ("step",)), low=1),
        _h("gamma", 0.1, "real", "optimizer.gamma", when=(_SCHED, ("step",)), **_POS),
        _h("decay_rate", 0.95, "real", "optimizer.decay_rate", when=(_SCHED, ("exponential",)), **_POS),
        _h("min_lr", 0.0, "real", "optimizer.min_lr", when=(_SCHED, ("cosine",)), **_NONNEG),
        _h(
            "t_max",
            None,
            "int",
            "optimizer.t_max",
            when=(_SCHED, ("cosine",)),
            nullable=True,
            low=1,
            doc="cosine period in epochs; null: epochs",
        ),
        _h("init", "auto", "choice", "model.init", choices=tuple(INIT_CHOICES)),
        _h("leaky_slope", 0.01, "real", "model.leaky_slope", **_UNIT),
        _h(
            "input_dropout",
            0.0,
            "real",
            "model.input_dropout",
            doc="drop probability of each input feature in training (inverted dropout)",
            **_UNIT,
        ),
        # task and data handling
        _h("task", "auto", "choice", "model.task", choices=TASK_CHOICES),
        _h("n_classes", None, "int", nullable=True, low=2, doc="force K classes 0..K-1 (integer labels)"),
        _h("scaling", "standard", "choice", "data.scaling", choices=SCALING_CHOICES),
        # early stopping
        _h("early_stopping", True, "bool", "trainer.early_stopping.enabled"),
        _h(
            "validation_fraction",
            0.1,
            "real",
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            doc="training rows held out for early stopping when fit gets no X_val",
        ),
        _h("monitor", "val_loss", "choice", "trainer.early_stopping.monitor", choices=MONITOR_CHOICES),
        _h("mode", "auto", "choice", "trainer.early_stopping.mode", choices=tuple(MODE_CHOICES)),
        _h("patience", 20, "int", "trainer.early_stopping.patience", low=1),
        _h("min_delta", 0.0, "real", "trainer.early_stopping.min_delta", **_NONNEG),
        _h("restore_best", True, "bool", "trainer.early_stopping.restore_best"),
        # batch norm, inference, output
        _h("bn_momentum", 0.9, "real", **_UNIT),
        _h("bn_eps", 1e-5, "real", **_POS),
        _h("eval_batch_size", 4096, "int", low=1),
        _h("verbose", False, "verbose"),
    )
}

#: name -> default, the single source of ``MLP()``'s defaults.
DEFAULTS: dict[str, Any] = {name: h.default for name, h in HYPERPARAMETERS.items()}

#: dotted config key -> hyperparameter, for the config keys that reach the MLP.
BY_KEY: dict[str, Hyperparameter] = {h.key: h for h in HYPERPARAMETERS.values() if h.key is not None}
