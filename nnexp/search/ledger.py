"""The pruning ledger: epochs the sweep's trials ran against the epochs they would have run
without pruning, and the compute pruning saved.

Definition (documented in the README): a trial stopped by the pruner would have run its full
budget, ``trainer.epochs`` (its ``epochs_budget`` user attr; early stopping might have stopped
it sooner, which cannot be known without running it, so the saving is an upper bound); every
other finished trial (complete, early-stopped, diverged, failed) would have run what it ran.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from nnexp.contract import EPOCHS_BUDGET_ATTR, EPOCHS_RUN_ATTR
from nnexp.search.trial import is_diverged

#: Parent-run metric of the saving, in percent of the budget.
SAVED_METRIC = "compute_saved_pct"


@dataclass(frozen=True)
class PruningLedger:
    """Epochs run and budgeted over a study's finished trials."""

    epochs_run: int
    epochs_budget: int
    n_pruned: int  #: trials stopped by the pruner (diverged ones are not counted)

    @property
    def saved_pct(self) -> float:
        """Compute saved by pruning, in % of the budget (0 when nothing ran)."""
        if self.epochs_budget <= 0:
            return 0.0
        return 100.0 * (self.epochs_budget - self.epochs_run) / self.epochs_budget

    def as_dict(self) -> dict[str, Any]:
        """For ``optimization_results.yaml``."""
        return {
            EPOCHS_RUN_ATTR: self.epochs_run,
            EPOCHS_BUDGET_ATTR: self.epochs_budget,
            SAVED_METRIC: round(self.saved_pct, 2),
            "pruned_trials": self.n_pruned,
        }

    def metrics(self) -> dict[str, float]:
        """For the parent run."""
        return {
            EPOCHS_RUN_ATTR: float(self.epochs_run),
            EPOCHS_BUDGET_ATTR: float(self.epochs_budget),
            SAVED_METRIC: self.saved_pct,
        }


def pruned_by_pruner(trial: FrozenTrial) -> bool:
    """A PRUNED trial that the pruner stopped (not one that diverged)."""
    return trial.state == TrialState.PRUNED and not is_diverged(trial)


def trial_epochs(trial: FrozenTrial) -> tuple[int, int]:
    """(epochs run, epochs it would have run without pruning) of one finished trial."""
    ran = int(trial.user_attrs.get(EPOCHS_RUN_ATTR) or 0)
    if not pruned_by_pruner(trial):
        return ran, ran
    return ran, max(ran, int(trial.user_attrs.get(EPOCHS_BUDGET_ATTR) or ran))


def pruning_ledger(trials: Iterable[FrozenTrial]) -> PruningLedger:
    """The ledger of the finished trials of ``trials``."""
    run = budget = pruned = 0
    for t in trials:
        if not t.state.is_finished():
            continue
        ran, would = trial_epochs(t)
        run, budget = run + ran, budget + would
        pruned += int(pruned_by_pruner(t))
    return PruningLedger(run, budget, pruned)


def ledger_line(ledger: PruningLedger) -> str:
    """``[sweep] pruning: 42 of 120 budget epochs run, 65.0% compute saved (5 trials pruned)``."""
    return (
        f"[sweep] pruning: {ledger.epochs_run} of {ledger.epochs_budget} budget epochs run, "
        f"{ledger.saved_pct:.1f}% compute saved ({ledger.n_pruned} trial(s) pruned)"
    )
