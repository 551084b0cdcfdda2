"""nnexp: tune a from-scratch NumPy MLP with Hydra, Optuna and MLflow, and keep every result."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nnexp")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
