"""Single training runs: ``run_training(cfg)`` -> ``TrainResult`` (shared by the CLI and sweeps)."""

from nnexp.train.trainer import TrainResult, build_model, run_training

__all__ = ["TrainResult", "build_model", "run_training"]
