"""Everything a training run records in MLflow, in the order it happens.

:class:`Recorder` is what training needs of a recorder (single runs and sweep trials alike).
:class:`RunRecorder` records in this process: it wraps a :class:`TrackedRun` with the run-level
policy: params from the resolved config, one ``log_batch`` per epoch, final test metrics, tags,
artifacts (config, weights, dataset identity, plots) and optionally the servable pyfunc model.
Every phase is timed. :mod:`nnexp.tracking.agent` runs one in a second process.
"""

from __future__ import annotations

import getpass
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nnexp.tracking.masking import mask_obj
from nnexp.tracking.params import config_params
from nnexp.tracking.provenance import run_provenance_tags, version_tags
from nnexp.tracking.run import TrackedRun, finite_or_none
from nnexp.tracking.timing import PhaseTimer

#: Artifact paths inside a run.
CONFIG_ARTIFACT = "config.yaml"
WEIGHTS_DIR = "weights"
WEIGHTS_FILE = "model.npz"
PLOTS_DIR = "plots"


@dataclass(frozen=True)
class Outcome:
    """How a run ended: why it stopped, epochs run, the best epoch and value of the monitored
    metric, the test (and baseline) scores, and tags to set with them."""

    stop_reason: str
    epochs_run: int
    best_epoch: int | None
    monitor: str
    best_value: float
    test_metrics: dict[str, float]
    extra_tags: dict[str, Any] = field(default_factory=dict)


class Recorder(Protocol):
    """One run's records, in the order training makes them: its config (params, tags, dataset
    inputs), one call per epoch, the outcome, the artifacts, the model, then the end with a
    status (``fail_safely`` after an error, never raising). Single runs and sweep trials use it
    alike: :class:`RunRecorder` records in this process, :class:`nnexp.tracking.agent.RecorderProxy`
    in a separate one (what ``nnexp-train`` uses for a single run)."""

    @property
    def run_id(self) -> str | None:
        """The MLflow run id; ``None`` until the run exists."""

    @property
    def experiment_id(self) -> str | None:
        """The run's experiment; ``None`` until the run exists."""

    @property
    def model_uri(self) -> str | None:
        """The servable model's URI once :meth:`end` returned (``None``: no model logged)."""

    @property
    def seconds(self) -> Mapping[str, float]:
        """Seconds spent per recording phase (set-up, params, epochs, plots, model, ...)."""

    def log_config(
        self, config: Mapping[str, Any], dataset: Any, provenance: Mapping[str, str] | None = None
    ) -> None: ...

    def epoch_callback(self, model: Any, record: Mapping[str, float]) -> None: ...

    def log_outcome(self, outcome: Outcome) -> None: ...

    def log_artifacts(
        self, *, config: Mapping[str, Any], weights: Path | None, dataset: Any, plots: Path | None = None
    ) -> None: ...

    def log_model(self, weights: Path, X_example: np.ndarray, tracking_uri: str) -> None: ...

    def end(self, status: str = "FINISHED") -> None: ...

    def fail_safely(self, status: str) -> None: ...


class RunRecorder:
    """Logs one training run to MLflow; use :meth:`epoch_callback` as an ``MLP.fit`` callback."""

    def __init__(self, run: TrackedRun, timer: PhaseTimer | None = None) -> None:
        self.run = run
        self.timer = timer or PhaseTimer()
        self._model_uri: str | None = None

    @classmethod
    def start(
        cls,
        uri: str,
        experiment_id: str,
        *,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        timer: PhaseTimer | None = None,
    ) -> RunRecorder:
        """Create the run with the provenance tags (user, source, nnexp version, git commit)."""
        timer = timer or PhaseTimer()
        base = {
            "mlflow.user": _user(),
            "mlflow.source.type": "LOCAL",
            "mlflow.source.name": "nnexp-train",
            **version_tags(),
            **dict(tags or {}),
        }
        with timer("run_create"):
            run = TrackedRun.start(
                uri, experiment_id, run_name=run_name, tags=base, parent_run_id=parent_run_id
            )
        return cls(run, timer)

    @property
    def run_id(self) -> str:
        """The MLflow run id."""
        return self.run.run_id

    @property
    def experiment_id(self) -> str:
        """The run's experiment."""
        return self.run.experiment_id

    @property
    def model_uri(self) -> str | None:
        """The URI :meth:`log_model` logged, if any."""
        return self._model_uri

    @property
    def seconds(self) -> Mapping[str, float]:
        """Seconds per recording phase (:class:`PhaseTimer`)."""
        return self.timer.seconds

    def log_config(
        self, config: Mapping[str, Any], dataset: Any, provenance: Mapping[str, str] | None = None
    ) -> None:
        """Params: every leaf of the resolved config; tags: dataset, seed, environment (provenance,
        taken now unless given); inputs: the dataset's three splits (:mod:`nnexp.tracking.datasets`)."""
        from nnexp.tracking.datasets import dataset_inputs

        with self.timer("params"):
            self.run.log_inputs(dataset_inputs(dataset))
            tags = {
                "dataset": dataset.name,
                "dataset.sha256": dataset.identity.get("sha256", ""),
                "dataset.task": dataset.task,
                "seed": config.get("trainer", {}).get("seed", ""),
                **(provenance if provenance is not None else run_provenance_tags(dataset)),
            }
            self.run.log_batch(params=config_params(config), tags=tags)

    def epoch_callback(self, model: Any, record: Mapping[str, float]) -> None:
        """``MLP.fit`` callback: one batched request per epoch, ``step=epoch``."""
        with self.timer("epochs"):
            self.run.log_epoch(record)

    def log_outcome(self, outcome: Outcome) -> None:
        """Final metrics (test set, best monitored value) and the stop-reason tags.

        The queued per-epoch batches are stored first, so a run whose ``epochs_run`` tag exists
        holds every epoch's metrics even when the process is killed right after.
        """
        with self.timer("final"):
            self.run.flush()
            final = {k: v for k, v in outcome.test_metrics.items() if finite_or_none(v) is not None}
            if finite_or_none(outcome.best_value) is not None:
                final[f"best_{outcome.monitor}"] = outcome.best_value
            tags: dict[str, Any] = {"stop_reason": outcome.stop_reason, "epochs_run": outcome.epochs_run}
            if outcome.best_epoch is not None:
                tags["best_epoch"] = outcome.best_epoch
            tags.update(outcome.extra_tags)
            self.run.log_batch(metrics=final, tags=tags, step=outcome.epochs_run)

    def log_artifacts(
        self, *, config: Mapping[str, Any], weights: Path | None, dataset: Any, plots: Path | None = None
    ) -> None:
        """Config YAML, weights, dataset identity and the figures in the folder ``plots`` (drawn by
        :func:`nnexp.tracking.plots.run_plots`), in one upload."""
        import shutil

        from omegaconf import OmegaConf

        with tempfile.TemporaryDirectory(prefix="nnexp-artifacts-") as tmp, self.timer("artifacts"):
            root = Path(tmp)
            (root / CONFIG_ARTIFACT).write_text(OmegaConf.to_yaml(OmegaConf.create(mask_obj(dict(config)))))
            identity = {
                "identity": dataset.identity,
                "split": getattr(dataset, "split", {}),
                "sizes": getattr(dataset, "sizes", {}),
            }
            (root / "dataset.json").write_text(json.dumps(mask_obj(identity), indent=2, default=str))
            if weights is not None:
                (root / WEIGHTS_DIR).mkdir()
                (root / WEIGHTS_DIR / WEIGHTS_FILE).write_bytes(Path(weights).read_bytes())
            if plots is not None:
                shutil.copytree(plots, root / PLOTS_DIR)
            self.run.log_artifacts(root)

    def log_model(self, weights: Path, X_example: np.ndarray, tracking_uri: str) -> None:
        """Log the servable pyfunc model from the saved ``weights`` (its URI: :attr:`model_uri`)."""
        with self.timer("model"):
            from nnexp.tracking.pyfunc import log_servable_model

            self._model_uri = log_servable_model(self.run_id, weights, X_example, tracking_uri=tracking_uri)

    def end(self, status: str = "FINISHED") -> None:
        """Terminate the run."""
        with self.timer("end"):
            self.run.end(status)

    def fail_safely(self, status: str) -> None:
        """Terminate as FAILED/KILLED without raising."""
        self.run.fail_safely(status)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "unknown"
