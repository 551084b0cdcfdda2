"""The sweep's first phase: everything that can fail on bad input fails here, before any trial.

Settings, sampler and pruner; the search space (grammar, bounds, every key composes and passes
``nnexp.config.validate`` at its bounds and for every choice); then the Optuna storage and study
(``load_if_exists``: the same study name resumes) and the MLflow store, experiment and parent
run (reused on resume) -- once, before workers exist, so no two processes race on a schema
migration; stale RUNNING trials of dead workers -> FAIL; the context file workers read.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from nnexp.contract import CONTEXT_FILE, STUDY_APP, STUDY_SEARCH_SPACE
from nnexp.errors import SweepSettingError
from nnexp.search.context import SweepContext
from nnexp.search.failures import failed, max_failures
from nnexp.search.grammar import parse_search_space
from nnexp.search.objective import settle_objective
from nnexp.search.precheck import load_base_data, precheck
from nnexp.search.pruners import make_pruner
from nnexp.search.runs import SweepRuns
from nnexp.search.samplers import make_sampler
from nnexp.search.settings import (
    check_max_failures,
    check_names,
    default_study_name,
    normalized,
)
from nnexp.search.space import SearchSpace, load_search_hook, validate_space
from nnexp.search.stale import (
    Reaped,
    counted_trials,
    reap_stale_trials,
    remaining_trials,
    unclaimed_reason,
)
from nnexp.search.storage import (
    check_storage,
    count_lock,
    create_or_load_study,
    local_file,
    resolve_storage_url,
    storage_for_context,
)
from nnexp.search.task import (
    HydraApp,
    NnexpTrainer,
    SweepTask,
    app_tracking,
    check_app_names,
    settle_app_objective,
)
from nnexp.tracking.liveness import mark_dead_runs_quietly

log = logging.getLogger(__name__)


def task_config(config_loader: Any, master: DictConfig, overrides: list[str]) -> DictConfig:
    """The job config Hydra composes for ``overrides`` (without its ``hydra`` node)."""
    cfg = config_loader.load_sweep_config(master, list(overrides))
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def masked(url: str) -> str:
    """``url`` with its password hidden (for lines, tags and files)."""
    from nnexp.tracking.masking import mask_secrets

    return mask_secrets(url)


@dataclass
class Prepared:
    """What the first phase set up."""

    settings: dict[str, Any]
    space: SearchSpace
    passthrough: list[str]  #: command-line overrides every job gets unchanged
    study: Any
    storage_url: str
    ctx: SweepContext
    context_path: Path
    runs: SweepRuns | None
    remaining: int  #: trials still to run
    reaped: list[Reaped]
    #: what the warm start enqueued and changed (printed by the sweeper)
    warm_lines: list[str] = field(default_factory=list)

    def reap(self, dead: Collection[tuple[str, int]] = ()) -> list[Reaped]:
        """Stale RUNNING trials -> FAIL (their runs FAILED), under the count lock: those of dead
        or silent workers (``dead``: (host, pid) the launcher saw die), those no worker claimed
        (:func:`unclaimed_reason`), and those whose end was cut with a damaged journal (their
        run says COMPLETE or PRUNED)."""
        runs = self.runs
        with count_lock(self.storage_url, self.ctx.study_name) as locked:
            return reap_stale_trials(
                self.study,
                self.ctx.stale_after,
                on_reaped=runs.mark_reaped if runs is not None else None,
                max_retries=self.ctx.max_retries,
                reason_for=functools.partial(sweeper_reason, runs, locked),
                dead=dead,
            )


def sweeper_reason(runs: SweepRuns | None, locked: bool, trial: Any, stale: str | None) -> str | None:
    """Why the sweeper reaps RUNNING ``trial`` (None: it runs on): stale, or unclaimed when the
    count lock is real (none for MySQL/Redis: a worker may be claiming it now); a trial whose
    run says it ended was cut with a damaged journal, and the reason says that instead."""
    why = stale or (unclaimed_reason(trial) if locked else None)
    if why is not None and runs is not None:
        why = runs.cut_reason(trial) or why
    return why


def build_space(
    s: Mapping[str, Any],
    arguments: Sequence[str],
    config: DictConfig,
    config_loader: Any,
    validate: Any = None,
    unread: Any = None,
) -> tuple[SearchSpace, list[str], DictConfig]:
    """(search space, passthrough overrides, base config); the space composed at its corners
    and checked there by ``validate(cfg)``, searched keys by ``unread(key)`` (nnexp's trainer:
    ``nnexp.config.validate.validate``, ``nnexp.config.overrides.unread_key``)."""
    space, passthrough = parse_search_space(s.get("params"), list(arguments), config_loader)
    space = space.mark_groups(lambda key: bool(config_loader.get_group_options(key)))
    if not space.params:
        log.warning("the search space is empty: every trial runs the same config")
    validate_space(
        space,
        lambda ov: task_config(config_loader, config, passthrough + ov),
        validate or (lambda cfg: None),
        passthrough,
        unread,
    )
    return space, passthrough, task_config(config_loader, config, passthrough)


def open_study(s: Mapping[str, Any], storage_url: str, study_name: str, space: SearchSpace) -> Any:
    """Create or resume the study; remember (or compare) its search space."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = create_or_load_study(
        storage_url,
        study_name,
        s["directions"],
        make_sampler(s.get("sampler")),
        make_pruner(s.get("pruner")),
    )
    previous = study.user_attrs.get(STUDY_SEARCH_SPACE)
    if previous is not None and previous != space.to_json():
        log.warning(
            "study %r was started with another search space; continuing with this one",
            study_name,
        )
    if previous is None:
        study.set_user_attr(STUDY_SEARCH_SPACE, space.to_json())
    return study


def start_tracking(
    s: Mapping[str, Any],
    tracking_cfg: Any,
    launch_cwd: Path,
    study: Any,
    storage_url: str,
    space: SearchSpace,
) -> tuple[SweepRuns | None, str | None]:
    """The MLflow store, experiment and parent run (None, None without tracking)."""
    if not bool(tracking_cfg.enabled):
        return None, None
    from nnexp.tracking.store import open_experiment

    tracking_uri, experiment_id = open_experiment(tracking_cfg, launch_cwd)
    runs = SweepRuns(tracking_uri, experiment_id, study.study_name)
    # under the study's lock: sweepers joining one study by name share one parent run
    with count_lock(storage_url, study.study_name):
        parent_run_id = runs.start_parent(study, s, masked(storage_url), space)
    return runs, parent_run_id


def warm_plan(
    s: Mapping[str, Any], storage_url: str, launch_cwd: Path, space: SearchSpace, study_name: str
) -> Any:
    """The warm start's enqueue list (None without ``warm_start``), read before the new study
    exists so that a missing source study is refused first."""
    from nnexp.errors import SweepSettingError
    from nnexp.search.warmstart import parse_warm_start, plan_warm_start

    spec = parse_warm_start(s.get("warm_start"))
    if spec is None:
        return None
    same = spec.storage is None or resolve_storage_url(spec.storage, launch_cwd) == storage_url
    if same and spec.study == study_name:
        raise SweepSettingError(
            f"hydra.sweeper.warm_start names the sweep's own study {study_name!r}: name the "
            "earlier study, and give the new one another hydra.sweeper.study_name"
        )
    return plan_warm_start(spec, storage_url, launch_cwd, space, int(s["n_trials"]))


def apply_warm_plan(study: Any, plan: Any, storage_url: str) -> list[str]:
    """Enqueue the warm start's trials (once per study) under the count lock."""
    if plan is None:
        return []
    from nnexp.search.warmstart import apply_warm_start

    with count_lock(storage_url, study.study_name):
        return apply_warm_start(study, plan)


def check_sweep_places(storage_url: str, tracking_cfg: Any, launch_cwd: Path, sweep_dir: Path) -> None:
    """Refuse (exit 2) a sweep whose journal, tracking home or sweep dir is read-only."""
    from nnexp.filesystem import check_writable
    from nnexp.tracking.store import local_places, resolve_artifact_location, resolve_tracking_uri

    fix = "set hydra.sweeper.storage (or NNEXP_OPTUNA_STORAGE) to a writable place"
    journal = local_file(storage_url)
    places = (
        []
        if journal is None
        else [("the Optuna storage", journal, fix), ("its directory", journal.parent, fix)]
    )
    if tracking_cfg.enabled:
        uri = resolve_tracking_uri(tracking_cfg.uri, launch_cwd)
        location = resolve_artifact_location(tracking_cfg.artifact_location, launch_cwd)
        places += local_places(uri, location)
    places.append(("the sweep's output", sweep_dir, "set hydra.sweep.dir to a writable directory"))
    check_writable(places)


def tracking_place(tracking_cfg: Any, launch_cwd: Path) -> str | None:
    """The MLflow tracking URI the sweep will use (None without tracking)."""
    if not tracking_cfg.enabled:
        return None
    from nnexp.tracking.store import resolve_tracking_uri

    return str(resolve_tracking_uri(tracking_cfg.uri, launch_cwd))


def settle_trainer(
    s: dict[str, Any], arguments: Sequence[str], config: DictConfig, config_loader: Any
) -> tuple[SearchSpace, list[str], DictConfig, str]:
    """nnexp's trainer: (space, passthrough, base config, study name), every bound validated,
    the objective settled from the data's task, data and metric checked before any trial."""
    from nnexp.config.overrides import unread_key
    from nnexp.config.validate import validate

    space, passthrough, base_cfg = build_space(s, arguments, config, config_loader, validate, unread_key)
    launch_cwd = Path(str(config.hydra.runtime.cwd))
    load_data = functools.cache(lambda: load_base_data(base_cfg, launch_cwd))  # loaded once
    follow = settle_objective(s, base_cfg, arguments, load_data)
    if follow:  # early stopping watches the metric resolved from the task
        passthrough += follow
        base_cfg = task_config(config_loader, config, passthrough)
    precheck(base_cfg, str(s["metric"]), load_data())  # data and metric: exit 2, no trial
    s["directions"] = list(s.get("directions") or [s["direction"]])
    if len(s["directions"]) > 1:
        raise SweepSettingError(
            "hydra.sweeper.directions: nnexp's trainer optimises one metric; set "
            "hydra.sweeper.direction (multi-objective sweeps are for apps that return a tuple)"
        )
    choices = config.hydra.runtime.get("choices", {}) or {}
    study_name = s.get("study_name") or default_study_name(
        choices.get("hparams_search"), str(base_cfg.data.name)
    )
    check_names(study_name, base_cfg)
    return space, passthrough, base_cfg, study_name


def check_confirm(s: Mapping[str, Any], task_kind: str) -> str:
    """The confirmation's seed key (exit 2 when an app confirming trials names none, or when
    a multi-objective study asks for confirmation: it has no single best to confirm)."""
    from nnexp.search.confirmation import confirm_seed_key, parse_confirm

    top_k, _ = parse_confirm(s.get("confirm"))
    if top_k == 0:  # no confirmation: the key is never used
        return confirm_seed_key(s.get("confirm"), "nnexp")
    if len(s["directions"]) > 1:
        raise SweepSettingError(
            "hydra.sweeper.confirm.top_k > 0 needs one objective: a multi-objective study has "
            "a Pareto front, not a best to confirm"
        )
    return confirm_seed_key(s.get("confirm"), task_kind)


def prepare(
    settings: Mapping[str, Any],
    arguments: Sequence[str],
    config: DictConfig,
    config_loader: Any,
    started: float,
    task: SweepTask | None = None,
    check_places: Callable[[str, str | None], None] | None = None,
) -> Prepared:
    """Check everything, set up the storages, reap, and write the workers' context file.
    ``check_places(storage URL, tracking URI)``: the launcher's refusal of stores its workers
    cannot reach (the Ray launcher's, for nodes on other machines), before anything is created."""
    task = task if task is not None else NnexpTrainer()
    s = normalized(settings)
    check_max_failures(s)
    launch_cwd = Path(str(config.hydra.runtime.cwd))
    if task.kind == "nnexp":
        space, passthrough, base_cfg, study_name = settle_trainer(s, arguments, config, config_loader)
        tracking_cfg = base_cfg.tracking
    else:
        space, passthrough, base_cfg = build_space(s, arguments, config, config_loader)
        settle_app_objective(s)
        study_name = s.get("study_name") or str(config.hydra.job.name)
        check_app_names(study_name)
        tracking_cfg = app_tracking(s.get("tracking"), str(config.hydra.job.name))
    seed_key = check_confirm(s, task.kind)
    load_search_hook(s.get("custom_search_space"))  # a hook that cannot be imported: exit 2
    sweep_dir = Path(str(config.hydra.sweep.dir))
    if not sweep_dir.is_absolute():
        sweep_dir = launch_cwd / sweep_dir
    storage_url = resolve_storage_url(s.get("storage"), launch_cwd)
    check_storage(storage_url)  # scheme, driver, host, journal damage: exit 2 before any trial
    check_sweep_places(storage_url, tracking_cfg, launch_cwd, sweep_dir)  # read-only: exit 2
    if check_places is not None:  # stores the launcher's workers cannot reach: exit 2
        check_places(storage_url, tracking_place(tracking_cfg, launch_cwd))
    warm = warm_plan(s, storage_url, launch_cwd, space, study_name)
    study = open_study(s, storage_url, study_name, space)
    if isinstance(task, HydraApp):  # nnexp reproduce reruns the app's entry point
        study.set_user_attr(STUDY_APP, task.entry_point(str(launch_cwd)))
    warm_lines = apply_warm_plan(study, warm, storage_url)
    runs, parent_run_id = start_tracking(s, tracking_cfg, launch_cwd, study, storage_url, space)
    ctx = SweepContext(
        study_name=study_name,
        storage_url=storage_for_context(s.get("storage"), storage_url),
        n_trials=int(s["n_trials"]),
        metric=str(s["metric"]),
        direction=s["direction"],
        directions=list(s["directions"]),
        task_kind=task.kind,
        budget_key=s.get("budget_key") or task.budget_key,
        search_hook=s.get("custom_search_space"),
        seed_key=seed_key,
        space_json=space.to_json(),
        sampler=s.get("sampler"),
        pruner=s.get("pruner"),
        deadline=(started + float(s["timeout"])) if s.get("timeout") else None,
        stale_after=float(s["stale_after"]),
        max_retries=int(s.get("max_retries") or 0),
        tracking_uri=runs.tracking_uri if runs is not None else None,
        experiment_id=runs.experiment_id if runs is not None else None,
        parent_run_id=parent_run_id,
        launch_cwd=str(launch_cwd),
        sweep_dir=str(sweep_dir),
        sweeper_pid=os.getpid(),
        sweeper_host=socket.gethostname(),
        started=started,
        reconnect_timeout=float(s["reconnect_timeout"]),
        status_every=int(s["status_every"]),
        status_seconds=float(s["status_seconds"]),
        max_failures=max_failures(s),
    )
    prepared = Prepared(s, space, passthrough, study, storage_url, ctx, Path(), runs, 0, [], warm_lines)
    prepared.reaped = prepared.reap()
    mark_dead_runs_quietly(ctx.tracking_uri, prog="nnexp-train")  # killed single runs -> KILLED
    existing = study.get_trials(deepcopy=False)
    ctx.n_existing = counted_trials(existing)
    ctx.failed_before = len(failed(existing))  # earlier runs' FAILs: not this one's
    prepared.remaining = remaining_trials(existing, ctx.n_trials)
    ctx.n_jobs = max(1, min(int(s["n_jobs"]), prepared.remaining or 1))
    prepared.context_path = ctx.save(sweep_dir / CONTEXT_FILE)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    return prepared
