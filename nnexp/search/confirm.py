"""The confirmation phase (``hydra.sweeper.confirm={top_k: K, seeds: S}``), after the search.

The K best COMPLETE trials of the search are re-trained with S new seeds each (the trial's
``trainer.seed`` + 1 .. + S) as the trials of a second Optuna study, ``<study>-confirm``, in
the same storage: one enqueued trial per (trial, seed), holding the trial's params and tagged
(user attrs) with the trial it confirms and its seed, never pruned. They run through the same
launcher and worker machinery as the search (:func:`nnexp.search.respawn.launch_until_done`:
``n_jobs`` workers, dead workers replaced, each a child run of the sweep's parent run), so a
resumed sweep resumes them too: only the (trial, seed) pairs without a finished confirmation
are enqueued again. The choice (:mod:`nnexp.search.confirmed`) is the trial with the best mean
over its new seeds; it is recorded on the search study (``STUDY_CONFIRMED``) for ``nnexp best``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from nnexp.contract import (
    CONFIRM_CONTEXT_FILE,
    CONFIRM_SEED_ATTR,
    CONFIRM_STUDY_SUFFIX,
    CONFIRMS_ATTR,
    CONFIRMS_RUN_TAG,
    STUDY_CONFIRMED,
)
from nnexp.errors import DiskFull, SweepSettingError
from nnexp.search.confirmed import (
    CONFIRM_DEFAULT,
    CONFIRM_MODE_KEY,
    TRAINER_SEED_KEY,
    Confirmation,
    choose,
    group,
    search_run_of,
)
from nnexp.search.failures import FAILED_BEFORE_KEY, MAX_FAILURES_KEY, failed
from nnexp.search.prepare import Prepared
from nnexp.search.report import print_line
from nnexp.search.results import ranked_trials
from nnexp.search.stale import counted_trials


def parse_confirm(value: Any) -> tuple[int, int]:
    """``hydra.sweeper.confirm`` -> (top_k, seeds); null: the defaults (off). Raises
    :class:`SweepSettingError` naming the key for anything but non-negative integers."""
    spec = dict(CONFIRM_DEFAULT)
    if value is not None:
        if not isinstance(value, dict):
            raise SweepSettingError(
                f"hydra.sweeper.confirm must be a mapping {{top_k: K, seeds: S}}, got {value!r}"
            )
        unknown = sorted(set(value) - set(spec))
        if unknown:
            raise SweepSettingError(
                f"hydra.sweeper.confirm: unknown key(s) {unknown}; use top_k, seeds and seed_key"
            )
        spec.update({k: v for k, v in value.items() if v is not None})
    seed_key = spec.pop("seed_key")
    if seed_key is not None and (not isinstance(seed_key, str) or not seed_key.strip()):
        raise SweepSettingError(f"hydra.sweeper.confirm.seed_key must name a config key, got {seed_key!r}")
    for key, v in spec.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise SweepSettingError(f"hydra.sweeper.confirm.{key} must be an integer >= 0, got {v!r}")
    return int(spec["top_k"]), int(spec["seeds"])


def confirm_study_name(study_name: str) -> str:
    """The confirmation study of ``study_name``."""
    return study_name + CONFIRM_STUDY_SUFFIX


def new_seeds(base_seed: int, seeds: int) -> list[int]:
    """The confirmation seeds of a trial trained with ``base_seed``: the next ``seeds`` ones."""
    return [int(base_seed) + i for i in range(1, seeds + 1)]


def missing(
    top: list[FrozenTrial], confirmations: list[FrozenTrial], seeds_of: Callable[[FrozenTrial], list[int]]
) -> list[tuple[FrozenTrial, int]]:
    """The (trial, seed) pairs of ``top`` that no COMPLETE, PRUNED, RUNNING or WAITING
    confirmation holds (FAIL ones run again)."""
    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    have = {
        (t.user_attrs.get(CONFIRMS_ATTR), t.user_attrs.get(CONFIRM_SEED_ATTR))
        for t in confirmations
        if t.state in live
    }
    return [(t, s) for t in top for s in seeds_of(t) if (t.number, s) not in have]


def confirm_seed_key(value: Any, task_kind: str) -> str:
    """The config key confirmations change: ``hydra.sweeper.confirm.seed_key``, else
    ``trainer.seed`` for nnexp's trainer; an app confirming trials must name it (exit 2)."""
    key = (value or {}).get("seed_key") if isinstance(value, dict) else None
    if key:
        return str(key)
    if task_kind == "nnexp":
        return TRAINER_SEED_KEY
    raise SweepSettingError(
        "hydra.sweeper.confirm.top_k > 0 re-trains the top trials with new seeds: name the "
        "config key your app seeds from, hydra.sweeper.confirm.seed_key=<key>"
    )


def trial_seed(
    trial: FrozenTrial, recompose: Callable[[list[str]], Any], seed_key: str = TRAINER_SEED_KEY
) -> int:
    """The seed (``seed_key``) a search trial trained with (its config, else recomposed)."""
    from omegaconf import OmegaConf

    from nnexp.search.finish import best_config

    cfg, _ = best_config(trial, recompose)
    seed = OmegaConf.select(cfg, seed_key) if cfg is not None else None
    return int(seed) if seed is not None else 0


def confirm_phase(p: Prepared, recompose: Callable[[list[str]], Any]) -> Prepared | None:
    """Open ``<study>-confirm``, enqueue the missing confirmations, write their context file;
    None when confirmation is off or nothing is there to confirm."""
    from nnexp.search.prepare import open_study
    from nnexp.search.runs import SweepRuns
    from nnexp.search.storage import count_lock

    top_k, seeds = parse_confirm(p.settings.get("confirm"))
    if top_k == 0 or seeds == 0 or len(p.study.directions) > 1:  # nothing ranks a Pareto front
        return None
    top = ranked_trials(p.study.get_trials(deepcopy=False), p.study.direction)[:top_k]
    if not top:
        return None
    name = confirm_study_name(p.ctx.study_name)
    s = {**p.settings, "pruner": {"name": "none"}}
    study = open_study(s, p.storage_url, name, p.space)
    base = {t.number: trial_seed(t, recompose, p.ctx.seed_key) for t in top}
    ctx = dataclasses.replace(
        p.ctx,
        study_name=name,
        pruner={"name": "none"},
        max_retries=0,  # a failed confirmation is enqueued again by the next run
        deadline=None,
        extra={**p.ctx.extra, CONFIRM_MODE_KEY: True},
    )
    runs = SweepRuns(p.runs.tracking_uri, p.runs.experiment_id, name) if p.runs is not None else None
    cp = dataclasses.replace(p, study=study, ctx=ctx, runs=runs, reaped=[])
    cp.reaped = cp.reap()  # confirmations left RUNNING by a killed sweep: FAIL, enqueued again
    with count_lock(p.storage_url, name):
        before = study.get_trials(deepcopy=False)
        todo = missing(top, before, lambda t: new_seeds(base[t.number], seeds))
        for trial, seed in todo:
            attrs = {CONFIRMS_ATTR: trial.number, CONFIRM_SEED_ATTR: seed}
            if search_run_of(trial):
                attrs[CONFIRMS_RUN_TAG] = search_run_of(trial)
            study.enqueue_trial(dict(trial.params), user_attrs=attrs, skip_if_exists=False)
        now = study.get_trials(deepcopy=False)
    # enqueued by an earlier, killed run and never started: they run now too
    waiting = sum(1 for t in now if t.state == TrialState.WAITING)
    done = counted_trials(now)
    ctx.n_trials, ctx.n_existing, cp.remaining = done + waiting, done, waiting
    ctx.n_jobs = max(1, min(p.ctx.n_jobs, waiting or 1))
    ctx.extra.update({MAX_FAILURES_KEY: max(1, waiting), FAILED_BEFORE_KEY: len(failed(now))})
    cp.context_path = ctx.save(Path(ctx.sweep_dir) / CONFIRM_CONTEXT_FILE)
    print_line(
        f"[sweep] confirming the top {len(top)} trial(s) {[t.number for t in top]} with {seeds} new "
        f"seed(s) each in study {name!r}: {waiting} to run, {done} done before"
    )
    return cp


def run_confirmation(
    p: Prepared, launcher: Any, recompose: Callable[[list[str]], Any], first_job: int
) -> Confirmation | None:
    """The confirmation phase: enqueue, run through the launcher, choose by the mean."""
    from nnexp.search.respawn import launch_until_done
    from nnexp.search.winner import HEADLINE

    cp = confirm_phase(p, recompose)
    if cp is None:
        return None
    if cp.remaining > 0:
        launched = launch_until_done(cp, launcher, first_job=first_job)
        if launched.disk_full:
            raise DiskFull(launched.disk_full[0])
        for problem in launched.crashed + launched.unreachable:  # the choice uses what finished
            print_line(f"[sweep] a confirmation worker stopped: {problem}; rerun to complete it", sys.stderr)
    top_k, seeds = parse_confirm(p.settings.get("confirm"))
    ranked = ranked_trials(p.study.get_trials(deepcopy=False), p.study.direction)
    headline = [k for keys in HEADLINE.values() for k in keys]
    rows = group(ranked[:top_k], cp.study.get_trials(deepcopy=False), headline)
    chosen = choose(rows, p.ctx.direction)
    if chosen is not None:
        p.study.set_user_attr(
            STUDY_CONFIRMED,
            {"trial": chosen.trial, "mean": chosen.mean, "std": chosen.std, "n": len(chosen.values)},
        )
    if cp.runs is not None:
        cp.runs.reconcile(cp.study)
    search_best = ranked[0].number if ranked else None
    return Confirmation(cp.ctx.study_name, top_k, seeds, rows, chosen, search_best)
