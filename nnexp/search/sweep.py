"""The sweeper process: validate, set up storages once, fan out workers, summarise.

Order (everything that can fail on bad input fails before any trial):

1. settings, sampler and pruner, search space (grammar, bounds, every key composes and passes
   ``nnexp.config.validate`` at its bounds and for every choice);
2. the Optuna storage and study (``load_if_exists``: the same study name resumes), the MLflow
   store, experiment and parent run (reused on resume) -- once, before workers exist, so no two
   processes race on a schema migration;
3. stale RUNNING trials of dead workers -> FAIL;
4. ``launcher.launch`` of ``min(n_jobs, trials left)`` long-lived worker jobs, each pulling trials
   until the study holds ``n_trials`` (see :mod:`nnexp.search.worker`);
5. best trial -> ``optimization_results.yaml`` + ``best_config.yaml`` in the sweep directory,
   parent run summary/plots, best trial's servable model.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from omegaconf import DictConfig, OmegaConf, open_dict

from nnexp.search.context import SweepContext
from nnexp.search.progress import print_line
from nnexp.search.pruners import make_pruner
from nnexp.search.reaping import reap_stale_trials
from nnexp.search.results import (
    SweepSummary,
    best_trial,
    finish_best_trial,
    record_parent,
    write_results,
)
from nnexp.search.retries import counted_trials, remaining_trials
from nnexp.search.samplers import SweepSettingError, make_sampler
from nnexp.search.space import (
    SearchSpaceError,
    parse_search_space,
    validate_space,
)
from nnexp.search.storage import (
    count_lock,
    create_or_load_study,
    resolve_storage_url,
    storage_for_context,
)

log = logging.getLogger(__name__)

CONTEXT_FILE = ".nnexp_sweep.json"


class SweepFailed(RuntimeError):
    """No trial completed (everything is still recorded)."""


class SweepStopped(RuntimeError):
    """Workers stopped because the tracking server or the Optuna storage stayed unreachable."""


@contextlib.contextmanager
def main_errors() -> Iterator[None]:
    """Expected failures end the sweep with one clear message and an exit code, no traceback.

    2: bad search space or settings (nothing ran); 3: tracking server unreachable (at the
    start, or mid-sweep past ``reconnect_timeout``) or Optuna storage unreachable mid-sweep;
    1: the sweep ran but no trial completed (everything is recorded).
    """
    from nnexp.config.validate import ConfigError
    from nnexp.tracking.store import TrackingUnavailable

    try:
        yield
    except (SearchSpaceError, SweepSettingError, ConfigError) as exc:
        _exit(f"invalid sweep: {exc}", 2)
    except (TrackingUnavailable, SweepStopped) as exc:
        _exit(str(exc), 3)
    except SweepFailed as exc:
        _exit(str(exc), 1)


def _exit(message: str, code: int) -> NoReturn:
    print(f"nnexp-train: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def check_settings(s: Mapping[str, Any]) -> None:
    """Range checks on ``hydra.sweeper`` settings with messages naming the key."""
    problems = []
    if not isinstance(s.get("n_trials"), int) or s["n_trials"] < 1:
        problems.append(
            f"hydra.sweeper.n_trials must be an integer >= 1, got {s.get('n_trials')!r}"
        )
    if not isinstance(s.get("n_jobs"), int) or s["n_jobs"] < 1:
        problems.append(
            f"hydra.sweeper.n_jobs must be an integer >= 1, got {s.get('n_jobs')!r}"
        )
    if str(s.get("direction", "")).lower() not in ("minimize", "maximize"):
        problems.append(
            f"hydra.sweeper.direction must be minimize or maximize, got {s.get('direction')!r}"
        )
    if not s.get("metric"):
        problems.append(
            "hydra.sweeper.metric must name a per-epoch metric (val_accuracy, val_loss, ...)"
        )
    if s.get("timeout") is not None and float(s["timeout"]) <= 0:
        problems.append(
            f"hydra.sweeper.timeout must be > 0 seconds or null, got {s['timeout']!r}"
        )
    if not isinstance(s.get("max_retries", 0), int) or s.get("max_retries", 0) < 0:
        problems.append(
            f"hydra.sweeper.max_retries must be an integer >= 0, got {s.get('max_retries')!r}"
        )
    if float(s.get("reconnect_timeout", 0)) < 0:
        problems.append(
            f"hydra.sweeper.reconnect_timeout must be >= 0 seconds, got {s['reconnect_timeout']!r}"
        )
    if float(s.get("stale_after", 1)) <= 0:
        problems.append(
            f"hydra.sweeper.stale_after must be > 0 seconds, got {s['stale_after']!r}"
        )
    if problems:
        raise SweepSettingError("\n".join(problems))


def _task_config(
    config_loader: Any, master: DictConfig, overrides: list[str]
) -> DictConfig:
    cfg = config_loader.load_sweep_config(master, list(overrides))
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _artifact_location(value: str | None, base: Path) -> str | None:
    if value is None or "://" in value:
        return value
    p = Path(os.path.expanduser(value))
    return (p if p.is_absolute() else base / p).resolve().as_uri()


def default_study_name(search: str | None, data: str) -> str:
    """``<hparams_search>``, or ``<hparams_search>-<data>`` when sweeping it on other data."""
    if not search:
        return f"sweep-{data}"
    return search if search == data else f"{search}-{data}"


def set_launcher_workers(launcher: Any, n_jobs: int) -> None:
    """Hydra's joblib launcher runs ``n_jobs`` jobs at once (1: in this process).

    Other launchers (submitit) run every launched job as its own cluster job.
    """
    joblib_kwargs = getattr(launcher, "joblib", None)
    if isinstance(joblib_kwargs, dict):
        joblib_kwargs["n_jobs"] = int(n_jobs)


def run_sweep(
    settings: Mapping[str, Any],
    arguments: Sequence[str],
    *,
    config: DictConfig,
    config_loader: Any,
    launcher: Any,
) -> SweepSummary:
    """Run (or resume) the sweep that ``settings`` (``hydra.sweeper``) describes."""
    import optuna

    from nnexp.config.validate import validate

    started = time.time()
    s = dict(settings)
    s["direction"] = str(s.get("direction", "maximize")).lower()
    check_settings(s)
    make_sampler(s.get("sampler"))  # fail early on a bad sampler/pruner
    make_pruner(s.get("pruner"))

    space, passthrough = parse_search_space(
        s.get("params"), list(arguments), config_loader
    )
    space = space.mark_groups(lambda key: bool(config_loader.get_group_options(key)))
    if not space.params:
        log.warning("the search space is empty: every trial runs the same config")
    validate_space(
        space,
        lambda ov: _task_config(config_loader, config, passthrough + ov),
        validate,
    )
    base_cfg = _task_config(config_loader, config, passthrough)

    launch_cwd = Path(str(config.hydra.runtime.cwd))
    sweep_dir = Path(str(config.hydra.sweep.dir))
    if not sweep_dir.is_absolute():
        sweep_dir = launch_cwd / sweep_dir
    choices = config.hydra.runtime.get("choices", {}) or {}
    study_name = s.get("study_name") or default_study_name(
        choices.get("hparams_search"), str(base_cfg.data.name)
    )
    _check_names(study_name, base_cfg)
    storage_url = resolve_storage_url(s.get("storage"), launch_cwd)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = create_or_load_study(
        storage_url,
        study_name,
        s["direction"],
        make_sampler(s.get("sampler")),
        make_pruner(s.get("pruner")),
    )
    previous = study.user_attrs.get("search_space")
    if previous is not None and previous != space.to_json():
        log.warning(
            "study %r was started with another search space; continuing with this one",
            study_name,
        )
    if previous is None:
        study.set_user_attr("search_space", space.to_json())

    tracking_uri: str | None = None
    experiment_id: str | None = None
    parent_run_id: str | None = None
    if bool(base_cfg.tracking.enabled):
        from nnexp.search import runs
        from nnexp.tracking.store import ensure_tracking_store, resolve_tracking_uri

        tracking_uri = resolve_tracking_uri(base_cfg.tracking.uri, launch_cwd)
        experiment_id = ensure_tracking_store(
            tracking_uri,
            str(base_cfg.tracking.experiment),
            _artifact_location(base_cfg.tracking.artifact_location, launch_cwd),
            timeout=float(base_cfg.tracking.timeout),
        )
        # under the study's lock: sweepers joining one study by name share one parent run
        with count_lock(storage_url, study_name):
            parent_run_id, _resumed = runs.start_parent_run(
                tracking_uri,
                experiment_id,
                study_name,
                known_run_id=study.user_attrs.get("mlflow_parent_run_id"),
                tags={
                    "optuna.study_name": study_name,
                    "sweep.sampler": s.get("sampler"),
                    "sweep.pruner": s.get("pruner"),
                    "sweep.storage": _masked(storage_url),
                    "sweep.search_space": space.describe(),
                },
            )
            study.set_user_attr("mlflow_parent_run_id", parent_run_id)

    def mark_reaped(item: Any) -> None:
        if tracking_uri and experiment_id:
            from nnexp.search import runs

            cl = runs.client(tracking_uri)
            run_id = item.mlflow_run_id or runs.find_trial_run(
                cl, experiment_id, study_name, item.number
            )
            if run_id:
                running = cl.get_run(run_id).info.status == "RUNNING"
                runs.record_trial_outcome(
                    cl,
                    run_id,
                    "FAIL",
                    fail_reason=item.reason,
                    terminate="FAILED" if running else None,
                )

    max_retries = int(s.get("max_retries") or 0)
    with count_lock(storage_url, study_name):
        reaped = reap_stale_trials(
            study,
            float(s["stale_after"]),
            on_reaped=mark_reaped,
            max_retries=max_retries,
        )
    existing = study.get_trials(deepcopy=False)
    n_existing = counted_trials(existing)
    n_trials = int(s["n_trials"])
    remaining = remaining_trials(existing, n_trials)
    n_jobs = max(1, min(int(s["n_jobs"]), remaining or 1))

    print_line(
        f"[sweep] study {study_name!r} ({_masked(storage_url)}): "
        + (f"resuming with {n_existing} trials recorded" if n_existing else "new")
        + (f", {len(reaped)} stale trial(s) marked FAIL" if reaped else "")
        + f"; target {n_trials} trials, {s['direction']} {s['metric']}, {n_jobs} worker(s)"
    )
    print_line("[sweep] search space:\n" + space.describe())

    ctx = SweepContext(
        study_name=study_name,
        storage_url=storage_for_context(s.get("storage"), storage_url),
        n_trials=n_trials,
        metric=str(s["metric"]),
        direction=s["direction"],
        space_json=space.to_json(),
        sampler=s.get("sampler"),
        pruner=s.get("pruner"),
        n_jobs=n_jobs,
        deadline=(started + float(s["timeout"])) if s.get("timeout") else None,
        stale_after=float(s["stale_after"]),
        max_retries=max_retries,
        n_existing=n_existing,
        tracking_uri=tracking_uri,
        experiment_id=experiment_id,
        parent_run_id=parent_run_id,
        launch_cwd=str(launch_cwd),
        sweep_dir=str(sweep_dir),
        sweeper_pid=os.getpid(),
        sweeper_host=socket.gethostname(),
        started=started,
        extra={"reconnect_timeout": float(s.get("reconnect_timeout", 60.0))},
    )
    context_path = ctx.save(sweep_dir / CONTEXT_FILE)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")

    status = "FINISHED"
    worker_errors: list[str] = []
    unreachable: list[str] = []
    try:
        if remaining > 0:
            job = list(passthrough) + [
                f"hydra.sweeper.worker_context={_quote(str(context_path))}"
            ]
            set_launcher_workers(launcher, n_jobs)
            returns = launcher.launch([job] * n_jobs, initial_job_idx=0)
            for r in returns:
                if getattr(r, "status", None) is not None and r.status.name == "FAILED":
                    worker_errors.append(repr(r._return_value))
                elif isinstance(getattr(r, "_return_value", None), dict) and r._return_value.get(
                    "unreachable"
                ):
                    unreachable.append(str(r._return_value["unreachable"]))
        else:
            print_line(
                f"[sweep] study {study_name!r} already holds {n_existing} >= {n_trials} trials; nothing to run"
                f" (raise hydra.sweeper.n_trials to continue it, or set hydra.sweeper.study_name"
                f" for a new study)"
            )
    except KeyboardInterrupt:
        with count_lock(storage_url, study_name):
            reap_stale_trials(
                study,
                float(s["stale_after"]),
                on_reaped=mark_reaped,
                max_retries=max_retries,
            )
        if parent_run_id and tracking_uri and experiment_id:
            from nnexp.search import runs

            cl = runs.client(tracking_uri)
            runs.reconcile_trial_runs(cl, experiment_id, study)
            cl.set_terminated(parent_run_id, status="KILLED")
        print_line(
            f"[sweep] interrupted; run the same command again to resume study {study_name!r}",
            sys.stderr,
        )
        raise
    if unreachable:
        _stopped(study, study_name, n_trials, unreachable)

    summary = _finish(
        study, ctx, config_loader, config, passthrough, sweep_dir, launch_cwd, status
    )
    elapsed = time.time() - started
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    print_line(f"[sweep] done in {elapsed:.1f}s: {summary.n_trials} trials ({counts})")
    for err in worker_errors:
        print_line(f"[sweep] a worker crashed: {err}", sys.stderr)
    if summary.best_number is None:
        reasons = "\n  ".join(summary.fail_reasons[:10]) or "no trial finished"
        raise SweepFailed(
            f"no trial of study {study_name!r} completed; everything is recorded in "
            f"{summary.results_file} and MLflow.\n  {reasons}"
        )
    print_line(
        f"[sweep] best: trial {summary.best_number} {ctx.metric}={summary.best_value:.4f} "
        f"params {summary.best_params}"
    )
    print_line(
        f"[sweep] results: {summary.results_file}"
        + (f", {summary.best_config_file}" if summary.best_config_file else "")
    )
    if summary.best_run_id:
        print_line(
            f"[sweep] MLflow parent run {parent_run_id}, best child run {summary.best_run_id}"
        )
        if ctx.tracking_uri and ctx.experiment_id and parent_run_id:
            from nnexp.tracking.links import open_run_hint

            print_line(f"[sweep] open it: {open_run_hint(ctx.tracking_uri, ctx.experiment_id, parent_run_id)}")
    if worker_errors:
        raise SweepFailed("worker job(s) crashed:\n  " + "\n  ".join(worker_errors))
    return summary


def _stopped(study: Any, study_name: str, n_trials: int, messages: list[str]) -> None:
    """Workers gave up on a lost service: raise :class:`SweepStopped` unless the study is full
    anyway (then the sweep finishes as usual, with a warning)."""
    try:
        done = counted_trials(study.get_trials(deepcopy=False))
    except Exception:  # noqa: BLE001 - the storage may be the lost service
        done = -1
    if done >= n_trials:
        for m in messages:
            print_line(f"[sweep] warning: a worker stopped: {m}", sys.stderr)
        return
    held = f"{done} of {n_trials}" if done >= 0 else f"? of {n_trials}"
    raise SweepStopped(
        f"sweep of study {study_name!r} stopped with {held} trials: {messages[0]}"
    )


def _check_names(study_name: str, cfg: DictConfig) -> None:
    """Study, experiment and run names become MLflow names and paths: refuse traversal."""
    from nnexp.tracking.store import UnsafeName, check_safe_name

    try:
        check_safe_name(study_name, "hydra.sweeper.study_name")
        check_safe_name(str(cfg.tracking.experiment), "tracking.experiment")
        if cfg.tracking.get("run_name"):
            check_safe_name(str(cfg.tracking.run_name), "tracking.run_name")
    except UnsafeName as exc:
        raise SweepSettingError(str(exc)) from None


def _masked(url: str) -> str:
    from nnexp.tracking.masking import mask_secrets

    return mask_secrets(url)


def _finish(
    study: Any,
    ctx: SweepContext,
    config_loader: Any,
    config: DictConfig,
    passthrough: list[str],
    sweep_dir: Path,
    launch_cwd: Path,
    status: str,
) -> SweepSummary:
    """Results files, parent run summary, best trial's plots and servable model."""
    best = best_trial(study)
    best_cfg = None
    best_text = None
    if best is not None:
        trial_cfg = Path(best.user_attrs.get("trial_dir", "")) / "config.yaml"
        if best.user_attrs.get("trial_dir") and trial_cfg.exists():
            best_text = trial_cfg.read_text()
            best_cfg = OmegaConf.create(best_text)
        else:
            try:
                best_cfg = _task_config(
                    config_loader,
                    config,
                    passthrough + list(best.user_attrs.get("overrides", [])),
                )
                best_text = OmegaConf.to_yaml(best_cfg, resolve=True)
            except Exception as exc:  # noqa: BLE001 - the results file matters more
                log.warning("cannot rebuild the best config: %s", exc)
    summary = write_results(
        study,
        sweep_dir,
        metric=ctx.metric,
        storage_url=ctx.storage_url,
        best_config_text=best_text,
    )
    if ctx.tracking_uri and ctx.parent_run_id:
        done = study.user_attrs.get("best_model") or {}
        if best is not None and done.get("trial") == best.number:
            summary.model_uri = done.get("uri")  # a resumed sweep without a new best
        elif best is not None and best_cfg is not None:
            try:
                summary.model_uri = finish_best_trial(
                    ctx.tracking_uri, best, best_cfg, launch_cwd
                )
                study.set_user_attr(
                    "best_model", {"trial": best.number, "uri": summary.model_uri}
                )
            except Exception as exc:  # noqa: BLE001
                log.warning("best trial's model/plots not logged: %s", exc)
        if best is None and status == "FINISHED":
            status = "FAILED"
        if ctx.experiment_id:
            from nnexp.search import runs

            try:
                runs.reconcile_trial_runs(
                    runs.client(ctx.tracking_uri), ctx.experiment_id, study
                )
            except Exception as exc:  # noqa: BLE001 - the summary matters more
                log.warning("could not reconcile trial runs with Optuna: %s", exc)
        record_parent(
            ctx.tracking_uri,
            ctx.parent_run_id,
            study,
            summary,
            metric=ctx.metric,
            sweep_dir=sweep_dir,
            status=status,
        )
    return summary
