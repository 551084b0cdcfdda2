"""What the sweeper hands its workers: one JSON file in the sweep directory.

The sweeper writes it after it has validated the search space, created the storages, the study
and the MLflow parent run; each worker job reads it (its path arrives as the job override
``hydra.sweeper.worker_context``), so workers never repeat that work or re-parse the command line.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SweepContext:
    """Everything a worker needs to run trials of one sweep."""

    study_name: str
    storage_url: str  #: resolved storage URL, or ``env:<VAR>`` (see ``storage_for_context``)
    n_trials: int  #: the study's total target (all states)
    metric: (
        str  #: per-epoch record key reported to Optuna and optimised (``val_accuracy``)
    )
    direction: str  #: ``minimize`` | ``maximize``
    space_json: str  #: :meth:`nnexp.search.space.SearchSpace.to_json`
    sampler: Any = None  #: ``hydra.sweeper.sampler`` as plain data
    pruner: Any = None
    n_jobs: int = 1
    deadline: float | None = (
        None  #: epoch seconds after which no trial starts (timeout)
    )
    stale_after: float = 300.0
    max_retries: int = 0  #: re-enqueue a dead worker's trial this many times
    n_existing: int = (
        0  #: trials in the study when the sweep started (seeds workers apart)
    )
    tracking_uri: str | None = None
    experiment_id: str | None = None
    parent_run_id: str | None = None
    launch_cwd: str = field(default_factory=os.getcwd)
    sweep_dir: str = ""
    sweeper_pid: int = field(default_factory=os.getpid)
    sweeper_host: str = ""
    started: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically (workers may start reading right after)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, default=str))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SweepContext:
        """Read a context written by :meth:`save`."""
        return cls(**json.loads(Path(path).read_text()))
