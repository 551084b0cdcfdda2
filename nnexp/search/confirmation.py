"""Confirmation: the top trials of a search re-trained with fresh seeds, and the choice.

``hydra.sweeper.confirm={top_k: K, seeds: S}``: after the search, the K best COMPLETE trials are
re-trained with S new seeds each (the trial's seed + 1 .. + S; ``seed_key`` names an app's seed)
as the trials of a second Optuna study, ``<study>-confirm``, in the same storage: one enqueued
trial per (trial, seed), holding the trial's params and tagged (user attrs) with the trial it
confirms and its seed, never pruned. They run through the same launcher and worker machinery as
the search (:func:`nnexp.search.respawn.launch_until_done`), so a resumed sweep resumes them
too: only the (trial, seed) pairs without a finished confirmation are enqueued again.

Then the arithmetic: the confirmation trials grouped by the trial they confirm, mean and
standard deviation per trial, the chosen one (best mean), recorded on the search study
(``STUDY_CONFIRMED``) for ``nnexp best``. The mean leaves the original search run out: that run
was selected for being high (the winner's curse), so counting it would bias the mean upwards.

Imports stay light (optuna and the sweeper's phases load on use): the Hydra plugin reads the
defaults from here on every start.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnexp.contract import (
    CONFIRM_CONTEXT_FILE,
    CONFIRM_SEED_ATTR,
    CONFIRM_SEED_TAG,
    CONFIRM_STUDY_SUFFIX,
    CONFIRMS_ATTR,
    CONFIRMS_RUN_TAG,
    CONFIRMS_TAG,
    RUN_ID_ATTR,
    STUDY_CONFIRMED,
    TEST_METRICS_ATTR,
)
from nnexp.errors import DiskFull, SweepSettingError

if TYPE_CHECKING:  # optuna and the phases are imported on use (see the module doc)
    from optuna.trial import FrozenTrial

    from nnexp.search.prepare import Prepared

#: ``hydra.sweeper.confirm`` when unset: no confirmation (the quickstart stays a minute).
CONFIRM_DEFAULT = {"top_k": 0, "seeds": 2, "seed_key": None}
#: the config key nnexp's trainer seeds from (``hydra.sweeper.confirm.seed_key`` for an app)
TRAINER_SEED_KEY = "trainer.seed"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0.0 for a single value)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = math.fsum(values) / n
    if n == 1:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


@dataclass
class ConfirmedTrial:
    """One confirmed search trial and its re-trainings with new seeds."""

    trial: int
    rank: int  #: 1 = the search's best
    search_value: float
    seeds: list[int] = field(default_factory=list)  #: seeds of its COMPLETE confirmations
    values: list[float] = field(default_factory=list)  #: objective per seed (same order)
    test: dict[str, list[float]] = field(default_factory=dict)  #: test metric -> per seed

    @property
    def mean(self) -> float:
        return mean_std(self.values)[0]

    @property
    def std(self) -> float:
        return mean_std(self.values)[1]

    def test_text(self) -> str:
        """``test_r2 0.3178 ± 0.0352, ...``: the test metrics' mean ± std over the seeds."""
        return ", ".join(f"{k} {mean_std(v)[0]:.4f} ± {mean_std(v)[1]:.4f}" for k, v in self.test.items())

    def as_dict(self) -> dict[str, Any]:
        """One row of the results file's confirmation table."""
        row: dict[str, Any] = {
            "trial": self.trial,
            "search_rank": self.rank,
            "search_value": self.search_value,
            "seeds": list(self.seeds),
            "values": list(self.values),
            "mean": self.mean if self.values else None,
            "std": self.std if self.values else None,
        }
        row["test"] = {
            k: {"mean": mean_std(v)[0], "std": mean_std(v)[1], "values": v} for k, v in self.test.items()
        }
        return row


@dataclass
class Confirmation:
    """What the confirmation phase found (``None`` on the summary when it did not run)."""

    study: str  #: the confirmation study's name
    top_k: int
    seeds: int
    rows: list[ConfirmedTrial]
    chosen: ConfirmedTrial | None
    search_best: int | None  #: the search's own best trial

    def results(self) -> dict[str, Any]:
        """The results file's ``confirmation`` section."""
        return {
            "study": self.study,
            "top_k": self.top_k,
            "seeds": self.seeds,
            "excludes_search_run": True,
            "search_best_trial": self.search_best,
            "chosen_trial": self.chosen.trial if self.chosen else None,
            "chosen_mean": self.chosen.mean if self.chosen else None,
            "chosen_std": self.chosen.std if self.chosen else None,
            "trials": [r.as_dict() for r in self.rows],
        }

    def metrics(self, metric: str) -> dict[str, float]:
        """The parent run's metrics: ``confirmed_<metric>_mean``/``_std``, ``confirmed_trial``,
        and the chosen trial's test metrics over its seeds (``best_test_accuracy_mean``, ...)."""
        c = self.chosen
        if c is None or not c.values:
            return {}
        out = {
            f"confirmed_{metric}_mean": c.mean,
            f"confirmed_{metric}_std": c.std,
            "confirmed_trial": float(c.trial),
            "confirmed_seeds": float(len(c.values)),
        }
        for key, values in c.test.items():
            m, s = mean_std(values)
            out[f"best_{key}_mean"], out[f"best_{key}_std"] = m, s
        return out

    def lines(self, metric: str) -> list[str]:
        """The summary's confirmation lines (also the parent run's description table)."""
        if self.chosen is None:
            return [f"[sweep] confirmation: no confirmation run completed (study {self.study!r})"]
        c = self.chosen
        moved = "" if c.trial == self.search_best else f" (not the search's best, trial {self.search_best})"
        out = [
            f"[sweep] confirmed best: trial {c.trial}{moved}: {metric} {c.mean:.4f} ± {c.std:.4f} "
            f"over {len(c.values)} new seed(s) {c.seeds} (the search run left out)"
        ]
        if c.test:
            out.append(
                f"[sweep] confirmed test score of trial {c.trial} over the same seeds: {c.test_text()}"
            )
        return out

    def table(self, metric: str) -> str:
        """A markdown table of the K confirmed trials (the parent run's description)."""
        head = f"| trial | search {metric} | mean ± std | per seed |\n|---|---|---|---|"
        rows = []
        for r in self.rows:
            mark = " (chosen)" if self.chosen is not None and r.trial == self.chosen.trial else ""
            per_seed = ", ".join(f"{s}: {v:.4f}" for s, v in zip(r.seeds, r.values))
            stat = f"{r.mean:.4f} ± {r.std:.4f}" if r.values else "-"
            rows.append(f"| {r.trial}{mark} | {r.search_value:.4f} | {stat} | {per_seed} |")
        return "\n".join([head, *rows])


def group(
    ranked: Sequence[FrozenTrial], confirmations: Iterable[FrozenTrial], headline: Sequence[str]
) -> list[ConfirmedTrial]:
    """The rows for the search's ``ranked`` (best first) trials, from the COMPLETE
    confirmation trials, ordered by seed; ``headline``: the test metrics averaged too."""
    from optuna.trial import TrialState

    rows = {t.number: ConfirmedTrial(t.number, i + 1, float(t.value)) for i, t in enumerate(ranked)}
    done = [t for t in confirmations if t.state == TrialState.COMPLETE and t.value is not None]
    for t in sorted(done, key=lambda t: int(t.user_attrs.get(CONFIRM_SEED_ATTR, 0))):
        row = rows.get(t.user_attrs.get(CONFIRMS_ATTR))
        if row is None:
            continue
        row.seeds.append(int(t.user_attrs[CONFIRM_SEED_ATTR]))
        row.values.append(float(t.value))
        test = t.user_attrs.get(TEST_METRICS_ATTR) or {}
        for key in headline:
            if key in test:
                row.test.setdefault(key, []).append(float(test[key]))
    return list(rows.values())


def choose(rows: Sequence[ConfirmedTrial], direction: str) -> ConfirmedTrial | None:
    """The row with the best mean (ties: the better search rank); None when none has values."""
    sign = -1.0 if direction == "maximize" else 1.0
    scored = [r for r in rows if r.values]
    return min(scored, key=lambda r: (sign * r.mean, r.rank)) if scored else None


# -- the worker's side: a confirmation trial's seed, tags and name -----------------------------


def confirmation_of(user_attrs: Mapping[str, Any]) -> tuple[int, int] | None:
    """(the trial it confirms, its seed) of a confirmation trial; None for a search trial."""
    if CONFIRMS_ATTR not in user_attrs or CONFIRM_SEED_ATTR not in user_attrs:
        return None
    return int(user_attrs[CONFIRMS_ATTR]), int(user_attrs[CONFIRM_SEED_ATTR])


def seed_overrides(cfg: Any, seed: int, seed_key: str = TRAINER_SEED_KEY) -> dict[str, int]:
    """The config keys a confirmation with ``seed`` changes: ``trainer.seed`` (initial weights,
    batch order, dropout, the train/validation partition) and ``data.data_seed`` pinned to the
    original run's, so the data and its test rows stay the ones the search was run on; an
    app's ``seed_key`` alone."""
    from omegaconf import OmegaConf

    if seed_key != TRAINER_SEED_KEY:
        return {seed_key: int(seed)}

    data_seed = OmegaConf.select(cfg, "data.data_seed", default=None)
    if data_seed is None:
        data_seed = OmegaConf.select(cfg, "trainer.seed", default=0)
    return {"trainer.seed": int(seed), "data.data_seed": int(data_seed)}


def confirmation_tags(user_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """MLflow tags of a confirmation trial's run (empty for a search trial)."""
    of = confirmation_of(user_attrs)
    if of is None:
        return {}
    tags: dict[str, Any] = {CONFIRMS_TAG: of[0], CONFIRM_SEED_TAG: of[1]}
    if user_attrs.get(CONFIRMS_RUN_TAG):
        tags[CONFIRMS_RUN_TAG] = user_attrs[CONFIRMS_RUN_TAG]
    return tags


def search_run_of(trial: FrozenTrial) -> str | None:
    """The MLflow run of a search trial (recorded on its confirmations' runs)."""
    return trial.user_attrs.get(RUN_ID_ATTR)


def confirmed_trial(study: Any) -> FrozenTrial | None:
    """The search trial the last confirmation chose (the study's ``STUDY_CONFIRMED`` user
    attr), None when the study was never confirmed."""
    chosen = (study.user_attrs.get(STUDY_CONFIRMED) or {}).get("trial")
    if chosen is None:
        return None
    return next((t for t in study.get_trials(deepcopy=False) if t.number == chosen), None)


# -- the phase ----------------------------------------------------------------------------


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
    from optuna.trial import TrialState

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
    from optuna.trial import TrialState

    from nnexp.search.failures import failed
    from nnexp.search.lines import print_line
    from nnexp.search.prepare import open_study
    from nnexp.search.results import ranked_trials
    from nnexp.search.runs import SweepRuns
    from nnexp.search.stale import counted_trials
    from nnexp.search.storage import count_lock

    top_k, seeds = parse_confirm(p.settings.get("confirm"))
    if top_k == 0 or seeds == 0:  # off (also for multi-objective studies: prepare refuses them)
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
        confirming=True,
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
    ctx.max_failures, ctx.failed_before = max(1, waiting), len(failed(now))
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
    from nnexp.search.lines import print_line
    from nnexp.search.respawn import launch_until_done
    from nnexp.search.results import ranked_trials
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
