"""What an MLflow run recorded about itself: config, seed, environment, data files, weights.

Reads tags first (no download); falls back to the run's artifacts (``config.yaml``,
``dataset.json``, ``weights/model.npz``) for runs recorded before a tag existed.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexp.repro.errors import Refusal
from nnexp.tracking.masking import mask_secrets
from nnexp.tracking.provenance import DATA_FILES_TAG, DATA_SHA_TAG, WEIGHTS_TAG
from nnexp.tracking.queries import download_artifact, read_run
from nnexp.tracking.recorder import CONFIG_ARTIFACT, WEIGHTS_DIR, WEIGHTS_FILE


@dataclass
class RecordedRun:
    """One finished training run as MLflow holds it."""

    run_id: str
    run_name: str
    experiment_id: str
    tracking_uri: str
    status: str
    config: dict[str, Any]  #: the resolved config (``config.yaml`` artifact)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def monitor(self) -> str:
        """The early-stopping metric the run optimised (``best_<monitor>`` is a run metric)."""
        return str(self.config.get("trainer", {}).get("early_stopping", {}).get("monitor", "val_loss"))

    @property
    def seed(self) -> int:
        """The run's seed (``trainer.seed``)."""
        return int(self.config.get("trainer", {}).get("seed", 0))

    def blas_threads(self) -> int | None:
        """BLAS threads in effect while the run trained (``env.blas_threads``), if recorded."""
        value = self.tags.get("env.blas_threads")
        return int(value) if value and value.isdigit() and int(value) > 0 else None

    def _download(self, path: str, dst: str) -> Path | None:
        return download_artifact(self.tracking_uri, self.run_id, path, dst)

    def data_files(self) -> dict[str, str] | None:
        """``{file name: sha256}`` of the dataset as the run saw it (None when not recorded)."""
        if DATA_FILES_TAG in self.tags:
            return dict(json.loads(self.tags[DATA_FILES_TAG]))
        with tempfile.TemporaryDirectory(prefix="nnexp-repro-") as tmp:
            path = self._download("dataset.json", tmp)
            if path is None:
                return None
            return dict(json.loads(path.read_text()).get("identity", {}).get("files", {}))

    def data_sha256(self) -> str | None:
        """The dataset's combined identity checksum (``dataset.sha256``)."""
        return self.tags.get(DATA_SHA_TAG) or None

    def weights_checksum(self) -> str | None:
        """``MLP.weights_checksum()`` of the run's final model: the tag, else from its weights."""
        if self.tags.get(WEIGHTS_TAG):
            return self.tags[WEIGHTS_TAG]
        from nnexp.nn import MLP

        with tempfile.TemporaryDirectory(prefix="nnexp-repro-") as tmp:
            path = self._download(f"{WEIGHTS_DIR}/{WEIGHTS_FILE}", tmp)
            return MLP.load(path).weights_checksum() if path is not None else None


def fetch_run(tracking_uri: str, run_id: str) -> RecordedRun:
    """Read run ``run_id`` from the store at ``tracking_uri``; refuse when it is not there."""
    run = read_run(tracking_uri, run_id)
    if run is None:
        raise Refusal(
            f"MLflow run {run_id} not found in {mask_secrets(tracking_uri)}; "
            "pass --tracking-uri (or set MLFLOW_TRACKING_URI) to the store the sweep used"
        )
    with tempfile.TemporaryDirectory(prefix="nnexp-repro-") as tmp:
        path = download_artifact(tracking_uri, run_id, CONFIG_ARTIFACT, tmp)
        if path is None:
            raise Refusal(
                f"MLflow run {run_id} has no {CONFIG_ARTIFACT} artifact: it was not recorded by nnexp-train"
            )
        import yaml

        config = yaml.safe_load(path.read_text()) or {}
    return RecordedRun(
        run_id=run_id,
        run_name=run.run_name,
        experiment_id=run.experiment_id,
        tracking_uri=tracking_uri,
        status=run.status,
        config=config,
        tags=run.tags,
        metrics=run.metrics,
    )
