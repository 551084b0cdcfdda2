"""Value checks for a composed config: every bad value is named with its valid choices or range."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, List, Mapping, Optional

from omegaconf import DictConfig, OmegaConf

from nnexp.config.schema import (
    ACTIVATIONS,
    DTYPES,
    MAX_DEPTH,
    INITS,
    MODES,
    MONITORS,
    OPTIMIZERS,
    SCHEDULES,
    TASKS,
)

#: Dataset names the ``data`` group offers (``conf/data/*.yaml``).
DATASET_NAMES = ("xor", "moons", "digits", "mnist", "fashion_mnist", "csv")

#: Which optimizers read each optimizer-specific key (any other optimizer rejects it).
OPTIMIZER_KEYS: Mapping[str, tuple[str, ...]] = {
    "momentum": ("momentum", "nesterov"),
    "beta1": ("adam", "adamw"),
    "rho": ("rmsprop",),
    "beta2": ("adam", "adamw"),
    "eps": ("rmsprop", "adagrad", "adam", "adamw"),
    "weight_decay": ("adamw",),
}


#: Which learning-rate schedules read each schedule key.
SCHEDULE_KEYS: Mapping[str, tuple[str, ...]] = {
    "step_size": ("step",),
    "gamma": ("step",),
    "decay_rate": ("exponential",),
    "min_lr": ("cosine",),
    "t_max": ("cosine",),
}

#: Which datasets read each dataset-specific key.
DATA_KEYS: Mapping[str, tuple[str, ...]] = {
    "path": ("csv",),
    "target": ("csv",),
    "delimiter": ("csv",),
    "task": ("csv",),
    "n_samples": ("xor", "moons"),
    "noise": ("xor", "moons"),
    "data_seed": ("xor", "moons"),
}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names every offending key."""

    def __init__(self, problems: List[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class _Checker:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.problems: List[str] = []

    def get(self, key: str) -> Any:
        return OmegaConf.select(self.cfg, key, default=None)

    def choice(self, key: str, choices: Iterable[str]) -> None:
        value = self.get(key)
        choices = tuple(choices)
        if value not in choices:
            self.problems.append(
                f"{key}={_fmt(value)} is not valid; choose one of {', '.join(choices)}"
            )

    def choice_optional(self, key: str, choices: Iterable[str]) -> None:
        if self.get(key) is not None:
            self.choice(key, choices)

    def number(
        self,
        key: str,
        *,
        low: Optional[float] = None,
        high: Optional[float] = None,
        low_open: bool = False,
        high_open: bool = False,
        integer: bool = False,
        optional: bool = False,
    ) -> None:
        value = self.get(key)
        if value is None and optional:
            return
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        kind = "an integer" if integer else "a number"
        rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
        bad = (
            value is None
            or isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (integer and not isinstance(value, int))
            or not math.isfinite(value)
            or (low is not None and (value <= low if low_open else value < low))
            or (high is not None and (value >= high if high_open else value > high))
        )
        if bad:
            self.problems.append(f"{key}={_fmt(value)} is out of range; must be {kind} in {rng}")

    def require(self, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(message)


def _check_data(c: _Checker) -> None:
    c.choice("data.name", DATASET_NAMES)
    name = c.get("data.name")
    if name in DATASET_NAMES:
        for key, users in DATA_KEYS.items():
            if c.get(f"data.{key}") is not None and name not in users:
                c.problems.append(
                    f"data.{key} does not apply to data={name}; it is used by {', '.join(users)}"
                )
    if name == "csv":
        for key in ("path", "target"):
            value = c.get(f"data.{key}")
            c.require(
                isinstance(value, str) and value.strip() != "",
                f"data.{key} is required for data=csv (e.g. data.path=table.csv data.target=label)",
            )
    c.number("data.n_samples", low=8, integer=True, optional=True)
    c.number("data.noise", low=0.0, optional=True)
    c.number("data.data_seed", low=0, high=2**32 - 1, integer=True, optional=True)
    c.choice_optional("data.task", ("classification", "regression", "auto"))
    c.number("data.max_train_samples", low=1, integer=True, optional=True)
    c.number("data.subsample", low=0.0, high=1.0, low_open=True, optional=True)
    for key in ("data.val_size", "data.test_size"):
        value = c.get(key)
        c.require(
            value is None
            or (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and (0.0 < value < 1.0 or (value >= 1 and float(value).is_integer()))
            ),
            f"{key}={_fmt(value)} is out of range; must be null (dataset default), "
            "a fraction in (0, 1) or a whole number of rows >= 1",
        )
    val, test = c.get("data.val_size"), c.get("data.test_size")
    if isinstance(val, float) and isinstance(test, float) and val < 1 and test < 1:
        c.require(
            val + test < 1.0,
            f"data.val_size + data.test_size = {val + test:g} leaves no training data; "
            "their sum must be < 1",
        )


def _check_model(c: _Checker) -> None:
    c.number("model.depth", low=1, high=MAX_DEPTH, integer=True)
    c.number("model.width", low=1, high=65536, integer=True)
    c.choice("model.activation", ACTIVATIONS)
    c.number("model.leaky_slope", low=0.0, high=1.0, high_open=True)
    c.number("model.dropout", low=0.0, high=1.0, high_open=True)
    c.number("model.l2", low=0.0)
    c.choice("model.init", INITS)
    c.choice("model.task", TASKS)
    c.choice("model.dtype", DTYPES)


def _check_optimizer(c: _Checker) -> None:
    c.choice("optimizer.name", OPTIMIZERS)
    c.number("optimizer.lr", low=0.0, high=10.0, low_open=True)
    c.number("optimizer.momentum", low=0.0, high=1.0, high_open=True, optional=True)
    c.number("optimizer.rho", low=0.0, high=1.0, high_open=True, optional=True)
    c.number("optimizer.beta1", low=0.0, high=1.0, high_open=True, optional=True)
    c.number("optimizer.beta2", low=0.0, high=1.0, high_open=True, optional=True)
    c.number("optimizer.eps", low=0.0, high=1.0, low_open=True, optional=True)
    c.number("optimizer.weight_decay", low=0.0, optional=True)
    c.number("optimizer.clip_norm", low=0.0, low_open=True, optional=True)
    c.choice("optimizer.schedule", SCHEDULES)
    c.number("optimizer.step_size", low=1, integer=True, optional=True)
    c.number("optimizer.gamma", low=0.0, low_open=True, optional=True)
    c.number("optimizer.decay_rate", low=0.0, low_open=True, optional=True)
    c.number("optimizer.min_lr", low=0.0, optional=True)
    c.number("optimizer.t_max", low=1, integer=True, optional=True)
    schedule = c.get("optimizer.schedule")
    if schedule in SCHEDULES:
        for key, users in SCHEDULE_KEYS.items():
            if c.get(f"optimizer.{key}") is not None and schedule not in users:
                c.problems.append(
                    f"optimizer.{key} does not apply to optimizer.schedule={schedule}; "
                    f"it is used by schedule {', '.join(users)}"
                )
    name = c.get("optimizer.name")
    if name in OPTIMIZERS:
        for key, users in OPTIMIZER_KEYS.items():
            if c.get(f"optimizer.{key}") is not None and name not in users:
                c.problems.append(
                    f"optimizer.{key} does not apply to optimizer={name}; "
                    f"it is used by {', '.join(users)}"
                )


def _check_trainer(c: _Checker) -> None:
    c.number("trainer.batch_size", low=1, integer=True)
    c.number("trainer.epochs", low=1, integer=True)
    c.number("trainer.seed", low=0, high=2**32 - 1, integer=True)
    c.number("trainer.threads", low=1, high=1024, integer=True, optional=True)
    c.choice("trainer.early_stopping.monitor", MONITORS)
    c.choice("trainer.early_stopping.mode", MODES)
    c.number("trainer.early_stopping.patience", low=1, integer=True)
    c.number("trainer.early_stopping.min_delta", low=0.0)


def _check_tracking(c: _Checker) -> None:
    experiment = c.get("tracking.experiment")
    c.require(
        isinstance(experiment, str) and experiment.strip() != "",
        "tracking.experiment must be a non-empty name",
    )
    c.number("tracking.timeout", low=0.0, high=600.0, low_open=True)
    uri = c.get("tracking.uri")
    c.require(
        uri is None or (isinstance(uri, str) and uri.strip() != ""),
        "tracking.uri must be null (default: ./mlruns/mlflow.db) or a tracking URI "
        "such as sqlite:///path/mlflow.db, postgresql://host/db or http://host:5000",
    )


def name_problems(cfg: DictConfig | Any, study_name: Optional[str] = None) -> List[str]:
    """Why ``tracking.experiment``, ``tracking.run_name`` (and a sweep's study name) are unsafe.

    These names become MLflow names and paths: ``..`` segments, absolute paths and their
    percent-encoded forms are refused (:func:`nnexp.tracking.store.check_safe_name`) for single
    runs and sweeps alike, before anything is written (``nnexp-train`` calls :func:`check_names`
    after :func:`validate`; the sweeper once for the sweep, with its study name).
    """
    from nnexp.tracking.store import UnsafeName, check_safe_name

    names = [("tracking.experiment", OmegaConf.select(cfg, "tracking.experiment", default=None))]
    run_name = OmegaConf.select(cfg, "tracking.run_name", default=None)
    if run_name:
        names.append(("tracking.run_name", run_name))
    if study_name is not None:
        names.insert(0, ("hydra.sweeper.study_name", study_name))
    problems = []
    for key, value in names:
        if isinstance(value, str) and value.strip():  # empty names: see _check_tracking
            try:
                check_safe_name(value, key)
            except UnsafeName as exc:
                problems.append(str(exc))
    return problems


def check_names(cfg: DictConfig | Any, study_name: Optional[str] = None) -> None:
    """Raise :class:`ConfigError` when a name of :func:`name_problems` is unsafe."""
    problems = name_problems(cfg, study_name)
    if problems:
        raise ConfigError(problems)


_SECTIONS: tuple[Callable[[_Checker], None], ...] = (
    _check_data,
    _check_model,
    _check_optimizer,
    _check_trainer,
    _check_tracking,
)


def validate(cfg: DictConfig | Any) -> None:
    """Check every value of a composed config; raise :class:`ConfigError` naming each bad key."""
    checker = _Checker(cfg)
    for section in _SECTIONS:
        section(checker)
    if checker.problems:
        raise ConfigError(checker.problems)


def resolve_mode(monitor: str, mode: str) -> str:
    """``"min"`` or ``"max"`` for ``trainer.early_stopping.mode`` (``auto``: max for accuracies)."""
    if mode in ("min", "max"):
        return mode
    return "max" if "accuracy" in monitor else "min"
