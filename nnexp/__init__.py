"""nnexp: tune a from-scratch NumPy MLP with Hydra, Optuna and MLflow, and keep every result."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nnexp")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "report", "report_test"]


def __getattr__(name: str):  # noqa: ANN202 - the public trial API, imported on first use
    """``nnexp.report`` and ``nnexp.report_test`` (:mod:`nnexp.search.session`), loaded lazily
    so ``import nnexp`` stays cheap for every Hydra plugin scan."""
    if name in ("report", "report_test"):
        from nnexp.search import session

        return getattr(session, name)
    raise AttributeError(f"module 'nnexp' has no attribute {name!r}")
