"""Structured configs: the typed schema behind ``conf/`` (registered in Hydra's ConfigStore).

Hydra checks types and rejects unknown keys against these dataclasses when it composes the
config; :func:`nnexp.config.validate.validate` then checks value ranges and choices. The keys
that reach the MLP (``model.*``, ``optimizer.*``, ``trainer.batch_size``/``epochs``/``seed``,
``trainer.early_stopping.*``, ``data.scaling``) take their type and default from
``nnexp.nn.hyperparameters``; the rest are written here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import MISSING

from nnexp.nn.hyperparameters import HYPERPARAMETERS


def _hyperparameter_fields(section: str) -> List[Tuple[str, Any, Any]]:
    """Dataclass fields for the MLP hyperparameters whose config key is ``<section>.<name>``.

    Type and default come from the declaration; a key that applies only under some optimizer or
    schedule (``when``) is optional with default null, meaning the declaration's default.
    """
    fields = []
    for h in HYPERPARAMETERS.values():
        if h.key is None or h.key.rsplit(".", 1)[0] != section or h.key.endswith(".name"):
            continue
        optional = h.nullable or h.when is not None
        typ = Optional[h.python_type] if optional else h.python_type
        fields.append((h.key.rsplit(".", 1)[1], typ, field(default=None if h.when else h.default)))
    return fields


def _section(name: str, section: str, doc: str, extra: List[Tuple[str, Any, Any]] = ()) -> type:
    cls = dataclasses.make_dataclass(name, [*extra, *_hyperparameter_fields(section)])
    cls.__doc__ = doc
    cls.__module__ = __name__
    return cls


@dataclass
class _DataKeys:
    """Which dataset, where its files live and how it is split (``data/*.yaml``)."""

    name: str = MISSING
    dir: Optional[str] = None
    #: fraction in (0, 1) or a row count (>= 1); null: the dataset's default
    val_size: Optional[float] = None
    test_size: Optional[float] = None
    #: keep at most this many training rows / this fraction of them (quick runs)
    max_train_samples: Optional[int] = None
    subsample: Optional[float] = None
    # csv only
    path: Optional[str] = None
    target: Optional[str] = None
    task: Optional[str] = None
    #: the field separator; null: sniffed from the first lines (``,`` when unclear)
    sep: Optional[str] = None
    delimiter: Optional[str] = None  #: the older name of ``sep``
    #: the file's text encoding; null: UTF-8 (a byte order mark is skipped)
    encoding: Optional[str] = None
    #: the input columns (null: every column but the target and ``drop``), columns to leave out
    features: Optional[List[str]] = None
    drop: Optional[List[str]] = None
    #: categories kept per categorical column (rarer ones grouped), how gaps are filled
    max_categories: Optional[int] = None
    impute_numeric: Optional[str] = None
    impute_categorical: Optional[str] = None
    # xor / moons only
    n_samples: Optional[int] = None
    noise: Optional[float] = None
    #: seeds the data itself: generation (xor, moons) and the test rows; null: trainer.seed
    data_seed: Optional[int] = None
    #: further loader keywords passed as is to ``nnexp.data.load_dataset``
    options: Dict[str, Any] = field(default_factory=dict)


def _keys(cls: type) -> List[Tuple[str, Any, Any]]:
    return [(f.name, f.type, f) for f in dataclasses.fields(cls)]


DataConfig = _section(
    "DataConfig",
    "data",
    "Which dataset, how it is split and scaled (``data/*.yaml``; ``scaling`` per dataset).",
    _keys(_DataKeys),
)
ModelConfig = _section(
    "ModelConfig",
    "model",
    "Network architecture and regularisation (``model/mlp.yaml``).",
    [("name", str, field(default="mlp"))],
)
OptimizerConfig = _section(
    "OptimizerConfig",
    "optimizer",
    "Update rule (``name``: the MLP's ``optimizer``), learning rate and schedule (``optimizer/*.yaml``); "
    "optimizer- and schedule-specific keys are null (the MLP's default) unless they apply.",
    [("name", str, field(default=MISSING))],
)
EarlyStoppingConfig = _section(
    "EarlyStoppingConfig",
    "trainer.early_stopping",
    "Stop when the monitored metric stops improving; restore the best weights (``enabled``: the MLP's ``early_stopping``).",
    [],
)
TrainerConfig = _section(
    "TrainerConfig",
    "trainer",
    "The training loop (``trainer/default.yaml``).",
    [
        ("threads", Optional[int], field(default=None)),
        ("progress", bool, field(default=True)),
        ("save_dir", Optional[str], field(default=None)),
        ("early_stopping", EarlyStoppingConfig, field(default_factory=EarlyStoppingConfig)),
    ],
)


@dataclass
class TrackingConfig:
    """Where and what MLflow records (``tracking/mlflow.yaml``)."""

    enabled: bool = True
    uri: Optional[str] = None
    experiment: str = "nnexp"
    artifact_location: Optional[str] = None
    run_name: Optional[str] = None
    log_model: bool = True
    log_plots: bool = True
    timeout: float = 5.0
    tags: Dict[str, str] = field(default_factory=dict)


@dataclass
class Config:
    """The whole run configuration (the root of ``conf/config.yaml``)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def register_configs() -> None:
    """Register the schema as ``base_config`` in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="base_config", node=Config)
