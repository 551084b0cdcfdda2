"""nnexp's Optuna sweeper for Hydra (``hydra/sweeper=nnexp``); the logic lives in ``nnexp.search``."""
