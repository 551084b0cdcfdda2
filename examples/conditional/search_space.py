"""The search-space hook of ``examples/conditional`` (``hydra.sweeper.custom_search_space``)."""

from omegaconf import DictConfig
from optuna.trial import Trial


def sgd_momentum(cfg: DictConfig, trial: Trial) -> None:
    """Search momentum for SGD only; the trial's ``momentum=...`` override follows from it."""
    if trial.params["optimizer"] == "sgd":
        trial.suggest_float("momentum", 0.0, cfg.max_momentum)
