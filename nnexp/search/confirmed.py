"""The confirmed best: the top trials' mean and standard deviation over fresh seeds.

``hydra.sweeper.confirm={top_k: K, seeds: S}`` re-trains the K best trials of a search with S
new seeds each (:mod:`nnexp.search.confirm` runs them as the trials of ``<study>-confirm``).
This module is the arithmetic and the reading: group the confirmation trials by the trial they
confirm, mean and standard deviation per trial, the chosen one (best mean), and what the
sweep prints and records about it. The mean leaves the original search run out: that run was
selected for being high (the winner's curse), so counting it would bias the mean upwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nnexp.contract import (
    CONFIRM_SEED_ATTR,
    CONFIRM_SEED_TAG,
    CONFIRMS_ATTR,
    CONFIRMS_RUN_TAG,
    CONFIRMS_TAG,
    RUN_ID_ATTR,
    STUDY_CONFIRMED,
    TEST_METRICS_ATTR,
)

if TYPE_CHECKING:  # optuna is imported on use: the Hydra plugin imports this module's defaults
    from optuna.trial import FrozenTrial

#: ``hydra.sweeper.confirm`` when unset: no confirmation (the quickstart stays a minute).
CONFIRM_DEFAULT = {"top_k": 0, "seeds": 2, "seed_key": None}
#: the config key nnexp's trainer seeds from (``hydra.sweeper.confirm.seed_key`` for an app)
TRAINER_SEED_KEY = "trainer.seed"
#: ``SweepContext.extra`` key telling a worker that it runs confirmations (enqueued trials
#: only; each trains with its own seed).
CONFIRM_MODE_KEY = "confirm"


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
