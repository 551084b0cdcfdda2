"""Value checks for a composed config: every bad value is named with its valid choices or range."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nnexp.errors import ConfigError, UnsafeName
from nnexp.filesystem import check_safe_name
from nnexp.nn.columns import CATEGORICAL_IMPUTATIONS, NUMERIC_IMPUTATIONS
from nnexp.nn.hyperparameters import BY_KEY, HYPERPARAMETERS, Hyperparameter

#: Dataset names the ``data`` group offers (``conf/data/*.yaml``).
DATASET_NAMES = ("xor", "moons", "digits", "mnist", "fashion_mnist", "csv")

#: Which datasets read each dataset-specific key.
DATA_KEYS: Mapping[str, tuple[str, ...]] = {
    "path": ("csv",),
    "target": ("csv",),
    "delimiter": ("csv",),
    "sep": ("csv",),
    "encoding": ("csv",),
    "features": ("csv",),
    "drop": ("csv",),
    "max_categories": ("csv",),
    "impute_numeric": ("csv",),
    "impute_categorical": ("csv",),
    "task": ("csv",),
    "n_samples": ("xor", "moons"),
    "noise": ("xor", "moons"),
}


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class _Checker:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.problems: list[str] = []

    def get(self, key: str) -> Any:
        return OmegaConf.select(self.cfg, key, default=None)

    def choice(self, key: str, choices: Iterable[str]) -> None:
        value = self.get(key)
        choices = tuple(choices)
        if value not in choices:
            self.problems.append(f"{key}={_fmt(value)} is not valid; choose one of {', '.join(choices)}")

    def choice_optional(self, key: str, choices: Iterable[str]) -> None:
        if self.get(key) is not None:
            self.choice(key, choices)

    def number(
        self,
        key: str,
        *,
        low: float | None = None,
        high: float | None = None,
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
    c.number("data.max_categories", low=1, integer=True, optional=True)
    c.choice_optional("data.impute_numeric", NUMERIC_IMPUTATIONS)
    c.choice_optional("data.impute_categorical", CATEGORICAL_IMPUTATIONS)
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
            f"data.val_size + data.test_size = {val + test:g} leaves no training data; their sum must be < 1",
        )


def _check_hyperparameter(c: _Checker, h: Hyperparameter) -> None:
    """One MLP key against its declaration (null is fine where it means the declaration's default)."""
    key = h.key
    value = c.get(key)
    if value is None and (h.nullable or h.when is not None):
        return
    if h.kind == "width" and OmegaConf.is_list(value):
        if not all(h.accepts(v) for v in value):
            c.problems.append(f"{key}={list(value)} is out of range; every width must be {h.expected()}")
        return
    if h.accepts(value):
        return
    if h.kind == "choice":
        c.problems.append(f"{key}={_fmt(value)} is not valid; choose one of {', '.join(h.choices)}")
    else:
        c.problems.append(f"{key}={_fmt(value)} is out of range; must be {h.expected()}")


def _label(h: Hyperparameter) -> str:
    """How a controlling key reads in messages: ``optimizer`` (a config group), else its key."""
    return h.key[: -len(".name")] if h.key.endswith(".name") else h.key


def _check_applies(c: _Checker, h: Hyperparameter) -> None:
    """A key read only under some optimizer or schedule must stay null under the others."""
    if h.when is None or c.get(h.key) is None:
        return
    ctl_name, users = h.when
    ctl = HYPERPARAMETERS[ctl_name]
    current = c.get(ctl.key)
    if current in ctl.choices and current not in users:
        by = "" if ctl.key.endswith(".name") else f"{ctl_name} "
        c.problems.append(
            f"{h.key} does not apply to {_label(ctl)}={current}; it is used by {by}{', '.join(users)}"
        )


def _check_hyperparameters(c: _Checker) -> None:
    """Every key that reaches the MLP, in config order: ranges, choices, where it applies, relations."""
    before = len(c.problems)
    for h in BY_KEY.values():
        _check_hyperparameter(c, h)
    for h in BY_KEY.values():
        _check_applies(c, h)
    if len(c.problems) == before:
        from nnexp.config.to_model import model_kwargs
        from nnexp.nn.validation import relation_problems

        kw = {name: h.default for name, h in HYPERPARAMETERS.items()}
        kw.update(model_kwargs(c.cfg))
        c.problems.extend(relation_problems(kw, {h.name: h.key for h in BY_KEY.values()}))


def _check_trainer(c: _Checker) -> None:
    c.number("trainer.threads", low=1, high=1024, integer=True, optional=True)


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


def name_problems(cfg: DictConfig | Any, study_name: str | None = None) -> list[str]:
    """Why ``tracking.experiment``, ``tracking.run_name`` (and a sweep's study name) are unsafe.

    These names become MLflow names and paths: ``..`` segments, absolute paths and their
    percent-encoded forms are refused (:func:`nnexp.filesystem.check_safe_name`) for single
    runs and sweeps alike, before anything is written (``nnexp-train`` calls :func:`check_names`
    after :func:`validate`; the sweeper once for the sweep, with its study name).
    """
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


def check_names(cfg: DictConfig | Any, study_name: str | None = None) -> None:
    """Raise :class:`ConfigError` when a name of :func:`name_problems` is unsafe."""
    problems = name_problems(cfg, study_name)
    if problems:
        raise ConfigError(problems)


_SECTIONS: tuple[Callable[[_Checker], None], ...] = (
    _check_data,
    _check_hyperparameters,
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
