"""Structured configs: the typed schema behind ``conf/`` (registered in Hydra's ConfigStore).

Hydra checks types and rejects unknown keys against these dataclasses when it composes the
config; :func:`nnexp.config.validate.validate` then checks value ranges and choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from omegaconf import MISSING

MAX_DEPTH = 10  # nnexp.nn's limit on hidden layers
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw")
SCHEDULES = ("constant", "step", "exponential", "cosine")
INITS = ("auto", "he", "xavier")
DTYPES = ("float32", "float64")
MODES = ("min", "max", "auto")
MONITORS = ("val_loss", "val_accuracy", "train_loss")
TASKS = ("auto", "classification", "regression")


@dataclass
class DataConfig:
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
    delimiter: Optional[str] = None
    # xor / moons only
    n_samples: Optional[int] = None
    noise: Optional[float] = None
    data_seed: Optional[int] = None
    #: further loader keywords passed as is to ``nnexp.data.load_dataset``
    options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    """Network architecture and regularisation (``model/mlp.yaml``)."""

    name: str = "mlp"
    depth: int = 2
    width: int = 128
    activation: str = "relu"
    leaky_slope: float = 0.01
    dropout: float = 0.0
    l2: float = 0.001
    batch_norm: bool = False
    init: str = "auto"
    task: str = "auto"
    standardize: bool = True
    dtype: str = "float32"


@dataclass
class OptimizerConfig:
    """Update rule, learning rate and schedule (``optimizer/*.yaml``).

    Optimizer-specific keys default to ``None`` (the MLP's default); setting one that does not
    apply to the chosen optimizer is a validation error.
    """

    name: str = MISSING
    lr: float = 1e-3
    momentum: Optional[float] = None
    rho: Optional[float] = None
    beta1: Optional[float] = None
    beta2: Optional[float] = None
    eps: Optional[float] = None
    weight_decay: Optional[float] = None
    clip_norm: Optional[float] = None
    #: learning-rate schedule over epochs and its arguments (null: the MLP's default)
    schedule: str = "constant"
    step_size: Optional[int] = None  # step
    gamma: Optional[float] = None  # step
    decay_rate: Optional[float] = None  # exponential
    min_lr: Optional[float] = None  # cosine
    t_max: Optional[int] = None  # cosine (null: trainer.epochs)


@dataclass
class EarlyStoppingConfig:
    """Stop when the monitored metric stops improving; restore the best weights."""

    enabled: bool = True
    monitor: str = "val_loss"
    mode: str = "auto"
    patience: int = 20
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass
class TrainerConfig:
    """The training loop (``trainer/default.yaml``)."""

    batch_size: int = 32
    epochs: int = 100
    seed: int = 0
    threads: Optional[int] = None
    progress: bool = True
    save_dir: Optional[str] = None
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)


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


SECTIONS: Dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "optimizer": OptimizerConfig,
    "trainer": TrainerConfig,
    "trainer.early_stopping": EarlyStoppingConfig,
    "tracking": TrackingConfig,
}


def register_configs() -> None:
    """Register the schema as ``base_config`` in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="base_config", node=Config)
