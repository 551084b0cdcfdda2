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

from nnexp.search.settings import SweeperSettings


@dataclass
class SweepContext:
    """Everything a worker needs to run trials of one sweep."""

    study_name: str
    storage_url: str  #: resolved storage URL, or ``env:<VAR>`` (see ``storage_for_context``)
    n_trials: int  #: the study's total target (all states)
    metric: str  #: per-epoch record key reported to Optuna and optimised (``val_accuracy``)
    direction: str  #: ``minimize`` | ``maximize``
    space_json: str  #: :meth:`nnexp.search.space.SearchSpace.to_json`
    sampler: Any = None  #: ``hydra.sweeper.sampler`` as plain data
    pruner: Any = None
    n_jobs: int = SweeperSettings.n_jobs
    deadline: float | None = None  #: epoch seconds after which no trial starts (timeout)
    stale_after: float = SweeperSettings.stale_after
    max_retries: int = SweeperSettings.max_retries  #: re-enqueue a dead worker's trial this many times
    n_existing: int = 0  #: trials in the study when the sweep started (seeds workers apart)
    tracking_uri: str | None = None
    experiment_id: str | None = None
    parent_run_id: str | None = None
    launch_cwd: str = field(default_factory=os.getcwd)
    sweep_dir: str = ""
    sweeper_pid: int = field(default_factory=os.getpid)
    sweeper_host: str = ""
    started: float = 0.0
    reconnect_timeout: float = SweeperSettings.reconnect_timeout
    status_every: int = SweeperSettings.status_every
    status_seconds: float = SweeperSettings.status_seconds
    #: stop once this many of this invocation's trials failed (nnexp.search.failures)
    max_failures: int | None = None
    failed_before: int = 0  #: FAIL trials the study held when this invocation started
    confirming: bool = False  #: the confirmation phase: enqueued trials only, no pruner
    #: one direction per objective; more than one: a multi-objective study (no pruning)
    directions: list[str] = field(default_factory=list)
    #: ``nnexp`` (nnexp's trainer) or ``app`` (any Hydra task function: nnexp.search.task)
    task_kind: str = "nnexp"
    #: the config key of a trial's epoch budget, for the pruning ledger (None: no ledger)
    budget_key: str | None = "trainer.epochs"
    #: the config key a confirmation's new seed goes to (``hydra.sweeper.confirm.seed_key``)
    seed_key: str = "trainer.seed"
    #: ``hydra.sweeper.custom_search_space``: ``package.module.function(cfg, trial)``
    search_hook: str | None = None

    def __post_init__(self) -> None:
        if not self.directions:
            self.directions = [self.direction]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically (workers may start reading right after), mode 0600, no password:
        a URL with credentials is recorded as ``env:<VAR>`` and put into this process's
        environment, which the workers it launches inherit (:func:`_env_refs`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(_env_refs(asdict(self)), indent=2, default=str))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SweepContext:
        """Read a context written by :meth:`save` (``env:`` tracking URI from the environment;
        the storage's is resolved by :func:`nnexp.search.storage.context_storage_url`)."""
        data = json.loads(Path(path).read_text())
        uri = data.get("tracking_uri")
        if isinstance(uri, str) and uri.startswith(ENV_REF):
            data["tracking_uri"] = _from_env(uri[len(ENV_REF) :])
        return cls(**data)


#: prefix of a context value read from an environment variable
ENV_REF = "env:"


def _env_refs(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with URLs holding credentials replaced by ``env:<VAR>`` (the value exported)."""
    from nnexp.search.storage import STORAGE_ENV
    from nnexp.tracking.masking import has_secret
    from nnexp.tracking.store import TRACKING_ENV

    for key, var in (("tracking_uri", TRACKING_ENV), ("storage_url", STORAGE_ENV)):
        value = data.get(key)
        if isinstance(value, str) and not value.startswith(ENV_REF) and has_secret(value):
            os.environ[var] = value
            data[key] = ENV_REF + var
    return data


def _from_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"the sweep's tracking URI comes from ${name}, which this worker lacks")
    return value
