"""The sweep's on-disk contract: Optuna attribute keys and MLflow tag names, in one place.

Everything a sweep writes that another process (a worker, a resumed sweep, ``nnexp best``,
``nnexp reproduce``, the MLflow UI) reads back is named here; import the names, never spell
the strings. Renaming one breaks studies and runs recorded before: don't.
"""

from __future__ import annotations

import enum


class EndState(str, enum.Enum):
    """How a trial ended, as a sweep records it: Optuna's state names, the value of
    ``STATE_TAG`` on the trial's run and of ``TrialOutcome.state``."""

    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    def __str__(self) -> str:
        return self.value


# -- Optuna study user attributes ------------------------------------------------------------
#: The search space the study was started with (``SearchSpace.to_json``).
STUDY_SEARCH_SPACE = "search_space"
#: The MLflow parent run of the study's sweep (reused on resume).
STUDY_PARENT_RUN = "mlflow_parent_run_id"
#: The study's identity (a random hex id, set once): its parent run carries it as
#: ``STUDY_UID_TAG``, so that a parent run is reopened only by its own study, never by another
#: study of the same name (another storage, or a new study where an old one was).
STUDY_UID = "nnexp_study_uid"
#: The entry point of the Hydra app a study sweeps, when it is not nnexp's trainer
#: (``{"module", "file", "function", "cwd", "argv"}``): ``nnexp reproduce`` reruns it.
STUDY_APP = "nnexp_app"
#: ``{"trial": <number>, "uri": <model URI>}`` of the best trial's servable model.
STUDY_BEST_MODEL = "best_model"
#: The warm start already applied to the study (``{"study": ..., "enqueued": n}``): done once.
STUDY_WARM_START = "warm_start_done"
#: The confirmed choice (``hydra.sweeper.confirm``): ``{"trial": n, "mean": m, "std": s,
#: "n": seeds run}``, set once the confirmation phase finished; ``nnexp best`` follows it.
STUDY_CONFIRMED = "confirmed_best"
#: The confirmation runs of study ``<s>`` are the trials of the study ``<s>`` + this suffix
#: (same storage): one enqueued trial per (confirmed trial, new seed), never pruned.
CONFIRM_STUDY_SUFFIX = "-confirm"

# -- Optuna trial user attributes ------------------------------------------------------------
#: The trial's MLflow child run.
RUN_ID_ATTR = "mlflow_run_id"
#: The Hydra overrides that compose the trial's config.
OVERRIDES_ATTR = "overrides"
#: The trial's directory (``config.yaml``, ``history.json``, weights).
TRIAL_DIR_ATTR = "trial_dir"
#: Epochs trained, why training stopped, where the weights are, test-set metrics.
EPOCHS_RUN_ATTR = "epochs_run"
STOP_REASON_ATTR = "stop_reason"
MODEL_PATH_ATTR = "model_path"
#: test-set metrics with the baseline's beside them (``test_r2``, ``baseline_test_r2``, ...)
TEST_METRICS_ATTR = "test_metrics"
#: The epoch at which a PRUNED trial was stopped.
PRUNED_AT_ATTR = "pruned_at_epoch"
#: Why a FAIL trial failed.
FAIL_REASON_ATTR = "fail_reason"
#: Why a PRUNED trial was stopped when no pruner did it: ``diverged: non-finite loss at epoch k``
#: (a diverged trial is PRUNED at that epoch so that the sampler learns to avoid the region).
PRUNE_REASON_ATTR = "prune_reason"
#: How the prune reason of a diverged trial starts.
DIVERGED_REASON = "diverged"
#: Epochs a trial would have run without pruning: its ``trainer.epochs``.
EPOCHS_BUDGET_ATTR = "epochs_budget"
#: A trial enqueued by a warm start: ``{"study": <source study>, "trial": <number>, "value": v}``.
WARM_START_ATTR = "warm_start_from"
#: Liveness of a RUNNING trial: its worker's host, pid and last heartbeat (epoch seconds).
HOST_ATTR = "worker_host"
PID_ATTR = "worker_pid"
#: The worker's process start time and pid namespace (as ``PID_START_TAG``/``PID_NS_TAG`` on
#: runs): one liveness rule, :func:`nnexp.tracking.liveness.process_dead`, for trials and runs.
PID_START_ATTR = "worker_pid_start"
PID_NS_ATTR = "worker_pid_ns"
HEARTBEAT_ATTR = "heartbeat"
#: The Ray node a worker ran on (``hydra/launcher=nnexp_ray``): a reaped trial's reason names it.
NODE_ATTR = "worker_node"
#: Retries of reaped trials: set on the reaped trial; the original number; retries so far.
RETRIED_ATTR = "retried"
RETRY_OF_ATTR = "retry_of"
RETRIES_ATTR = "retries"
#: A confirmation trial (in ``<study>-confirm``): the search trial it re-trains, its new seed.
CONFIRMS_ATTR = "confirms_trial"
CONFIRM_SEED_ATTR = "confirm_seed"

# -- MLflow tags on runs ---------------------------------------------------------------------
#: ``sweep`` (parent run), ``trial`` (child run) or ``reproduction``.
ROLE_TAG = "nnexp.role"
ROLE_SWEEP = "sweep"
ROLE_TRIAL = "trial"
ROLE_REPRODUCTION = "reproduction"
#: ``nnexp reproduce --seeds N``: a trial re-trained with a new seed (tagged CONFIRMS_*).
ROLE_CONFIRMATION = "confirmation"
#: ``nnexp audit``: the audit run (under the sweep's parent) and its re-trained pruned trials.
ROLE_AUDIT = "audit"
AUDIT_OF_TAG = "nnexp.audit_of"
STUDY_TAG = "nnexp.study"
#: On a parent run: the ``STUDY_UID`` of the study it belongs to.
STUDY_UID_TAG = "nnexp.study_uid"
TRIAL_TAG = "nnexp.trial"
STATE_TAG = "nnexp.trial_state"
PRUNED_AT_TAG = "nnexp.pruned_at_epoch"
FAIL_REASON_TAG = "nnexp.fail_reason"
PRUNE_REASON_TAG = "nnexp.prune_reason"
#: The process behind a run (every run; see nnexp.tracking.liveness): host, pid, its start time
#: (clock ticks since boot) and pid namespace; a run of a dead process here becomes KILLED.
HOST_TAG = "nnexp.host"
PID_TAG = "nnexp.pid"
PID_START_TAG = "nnexp.pid_start"
PID_NS_TAG = "nnexp.pid_ns"
KILLED_REASON_TAG = "nnexp.killed_reason"
#: A trial run whose trial is not in the study any more (cut with a damaged journal, see
#: ``nnexp.search.storage.journal_damage``): the value says so, and the run is FAILED.
DROPPED_TAG = "nnexp.dropped"
DROPPED_NOTE = "trial dropped with the damaged journal"
WORKER_PID_TAG = "nnexp.worker_pid"
BEST_TRIAL_TAG = "nnexp.best_trial"
#: A confirmation run (a trial run of ``<study>-confirm``): the search trial it confirms, its
#: seed, and that trial's run.
CONFIRMS_TAG = "nnexp.confirms_trial"
CONFIRM_SEED_TAG = "nnexp.confirm_seed"
CONFIRMS_RUN_TAG = "nnexp.confirms_run"
MODEL_URI_TAG = "nnexp.model_uri"
REPRODUCTION_TAG = "nnexp.reproduction_of"
REPRODUCED_BY_TAG = "nnexp.reproduced_by"
#: ``sweep.*`` tags of the parent run (``sweep.metric`` is read back by ``nnexp reproduce``).
SWEEP_METRIC_TAG = "sweep.metric"
SWEEP_DIRECTION_TAG = "sweep.direction"
SWEEP_N_TRIALS_TAG = "sweep.n_trials"
SWEEP_SAMPLER_TAG = "sweep.sampler"
SWEEP_PRUNER_TAG = "sweep.pruner"
SWEEP_STORAGE_TAG = "sweep.storage"
SWEEP_SPACE_TAG = "sweep.search_space"
OPTUNA_STUDY_TAG = "optuna.study_name"
#: MLflow's own tags.
PARENT_RUN_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"

# -- files in the sweep directory ------------------------------------------------------------
RESULTS_FILE = "optimization_results.yaml"
BEST_CONFIG_FILE = "best_config.yaml"
CONTEXT_FILE = ".nnexp_sweep.json"
#: The confirmation phase's context file (its workers read it as the search's read CONTEXT_FILE).
CONFIRM_CONTEXT_FILE = ".nnexp_confirm.json"
#: Per-worker timing log (one JSON line per trial) in the worker's job directory.
TIMINGS_FILE = "trials.jsonl"

# -- the environment of a worker process ---------------------------------------------------
#: Set by the Ray launcher in each worker: the Ray node id the worker runs on (``NODE_ATTR``).
NODE_ENV = "NNEXP_WORKER_NODE"

# -- a table's column roles (``nnexp.data.columns.ColumnRoles.tags``) --------------------------
#: Role -> MLflow tag: counts of numeric and categorical columns, the categorical columns, the
#: left-out columns with why, missing values per used column, rows dropped for a missing target.
COLUMN_TAGS = {
    "numeric": "dataset.columns.numeric",
    "categorical": "dataset.columns.categorical",
    "categorical_columns": "dataset.columns.categorical_names",
    "left_out": "dataset.columns.left_out",
    "missing": "dataset.columns.missing",
    "dropped_target_rows": "dataset.columns.dropped_target_rows",
}
