"""A quick scikit-learn baseline beside every run: does the network earn its keep?

For each dataset split (dataset checksum + split indices) and input scaling, a linear model is fit
once on the training rows -- ``LogisticRegression`` for classes, ``Ridge`` for regression -- and
scored on the validation and test rows. Scores are named to sort beside the network's
(``baseline_val_accuracy``, ``baseline_test_r2``, ...) and cached as JSON files on disk, so a
sweep pays once per dataset even when its trials run in separate processes.

The cache lives in ``$NNEXP_CACHE_DIR/baselines`` (default ``$XDG_CACHE_HOME/nnexp``, else
``~/.cache/nnexp``). The fit is bounded for large datasets: at most :data:`MAX_TRAIN_ROWS`
training rows (seeded subsample) and :data:`MAX_ITER` solver iterations.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnexp.filesystem import CACHE_DIR_ENV, cache_dir  # noqa: F401 - CACHE_DIR_ENV re-exported
from nnexp.train.metrics import scores
from nnexp.train.threads import blas_threads

#: Bump when the baseline's definition changes, so stale cache entries are not reused.
BASELINE_VERSION = 1
#: Training rows the baseline fits on at most (seeded random subsample beyond; bounds MNIST).
MAX_TRAIN_ROWS = 5_000
#: Solver iteration cap of the logistic regression (a baseline, not a tuned model).
MAX_ITER = 100
#: BLAS threads for the fit: one is faster for these small solves (on MNIST, 5,000 rows, 2 busy
#: cores: 1.5 s with one thread, 18 s with the default pool).
BLAS_THREADS = 1
#: Input scalings the baseline understands (the network's ``scaling`` choices).
SCALINGS = ("standard", "minmax", "none")
#: Scores recorded per task, for the validation and the test split.
SCORES = {"classification": ("accuracy",), "regression": ("r2", "rmse", "mae")}
#: Model used per task (recorded as the ``baseline.model`` tag).
MODELS = {"classification": "logistic_regression", "regression": "ridge"}


@dataclass(frozen=True)
class Baseline:
    """A fitted baseline's scores (``baseline_<split>_<score>``) and how it was obtained."""

    model: str
    scaling: str
    metrics: dict[str, float]
    train_rows: int
    seconds: float
    cached: bool = field(default=False, compare=False)

    def describe(self) -> str:
        """One line for the start of a run."""
        shown = "  ".join(f"{k} {v:.4f}" for k, v in self.metrics.items())
        how = "cached" if self.cached else f"fit in {self.seconds:.1f}s on {self.train_rows} rows"
        return f"{self.model} ({self.scaling} scaling): {shown}  ({how})"


def input_scaling(cfg: Any) -> str:
    """The input scaling a run's network uses: ``standard``, ``minmax`` or ``none``.

    The one place the baseline reads it from the config: ``data.scaling``.
    """
    return str(cfg.data.scaling)


def cache_key(ds: Any, scaling: str, seed: int = 0) -> str:
    """sha256 over the dataset checksum, the split (index checksum, seed), task, scaling, version,
    and a table's fitted column encoding (the baseline fits on the same encoded features)."""
    payload: dict[str, Any] = {
        "seed": int(seed),
        "dataset": ds.identity.get("sha256"),
        "split": ds.split.get("indices_sha256"),
        "task": ds.task,
        "scaling": scaling,
        "version": BASELINE_VERSION,
        "max_train_rows": MAX_TRAIN_ROWS,
        "max_iter": MAX_ITER,
    }
    if getattr(ds, "columns", None) is not None:
        payload["columns"] = ds.columns.to_state()
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _scale(scaling: str, X_train: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The network's own input scaling (:func:`nnexp.nn.preprocessing.fit_scaling`), fit on X_train."""
    from nnexp.nn.preprocessing import fit_scaling

    if scaling not in SCALINGS:
        raise ValueError(f"baseline: unknown input scaling {scaling!r}; expected one of {SCALINGS}")
    offset, scale = fit_scaling(X_train, scaling)
    return lambda X: (X - offset) / scale


def _estimator(task: str, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "classification":
        return LogisticRegression(max_iter=MAX_ITER, random_state=seed)
    return Ridge(alpha=1.0)


def fit_baseline(ds: Any, scaling: str, *, seed: int = 0) -> Baseline:
    """Fit the task's linear model on ``ds``'s training rows; score validation and test rows.

    The scaler is fit on all training rows (as the network's), the model on at most
    :data:`MAX_TRAIN_ROWS` of them.
    """
    from sklearn.exceptions import ConvergenceWarning

    started = time.perf_counter()
    scale = _scale(scaling, ds.X_train)
    X_train = scale(ds.X_train)
    y_train = ds.y_train
    if len(y_train) > MAX_TRAIN_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(y_train), MAX_TRAIN_ROWS, replace=False))
        X_train, y_train = X_train[rows], y_train[rows]
    estimator = _estimator(ds.task, seed)
    with warnings.catch_warnings(), blas_threads(BLAS_THREADS):
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X_train, y_train)
    metrics: dict[str, float] = {}
    for split in ("val", "test"):
        X, y = getattr(ds, f"X_{split}"), getattr(ds, f"y_{split}")
        if len(y) == 0:
            continue
        pred = estimator.predict(scale(X))
        got = scores(ds.task, y, pred)
        metrics.update({f"baseline_{split}_{name}": got[name] for name in SCORES[ds.task]})
    return Baseline(
        model=MODELS[ds.task],
        scaling=scaling,
        metrics=metrics,
        train_rows=len(y_train),
        seconds=time.perf_counter() - started,
    )


def baseline_for(ds: Any, scaling: str, *, seed: int = 0, cache: Path | None = None) -> Baseline:
    """The baseline of ``ds`` with ``scaling``: from the cache when there, else fit and stored.

    ``cache``: the cache directory (default :func:`cache_dir`). An unwritable cache only costs
    a refit next time; a corrupt entry is refit and overwritten.
    """
    folder = (cache or cache_dir()) / "baselines"
    entry = folder / f"{cache_key(ds, scaling, seed)}.json"
    try:
        stored = json.loads(entry.read_text())
        return Baseline(**{**stored, "cached": True})
    except (OSError, ValueError, TypeError):
        pass
    result = fit_baseline(ds, scaling, seed=seed)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".baseline-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump({k: v for k, v in asdict(result).items() if k != "cached"}, fh)
        os.replace(tmp, entry)  # atomic: concurrent sweep workers never read half a file
    except OSError:
        pass
    return result


#: (network metric, baseline metric) pairs compared in summaries, in display order.
COMPARED = tuple((f"test_{name}", f"baseline_test_{name}") for name in ("accuracy", "r2", "rmse", "mae"))


def format_vs_baseline(metrics: Mapping[str, float], model: str | None = None) -> str:
    """``"test_r2 0.4120 vs baseline 0.4530 (ridge)"`` for each score a run's metrics hold for
    both the network and its baseline; ``""`` when there is nothing to compare.

    Takes any metrics mapping (a ``TrainResult``'s, or an MLflow run's ``data.metrics``), so the
    single-run and the sweep summaries print the same line.
    """
    parts: list[str] = []
    for net, base in COMPARED:
        if net in metrics and base in metrics:
            parts.append(f"{net} {float(metrics[net]):.4f} vs baseline {float(metrics[base]):.4f}")
    if not parts:
        return ""
    return "  ".join(parts) + (f" ({model})" if model else "")
