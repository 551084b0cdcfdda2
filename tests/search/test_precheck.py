"""Settings every trial would trip on are refused before the first trial; FAIL trials don't eat
``n_trials``; ``hydra.sweeper.max_failures`` stops a sweep whose trials keep failing (issue 13,
point 4). Through the real command, ``nnexp-train -m ...``."""

from __future__ import annotations

import numpy as np
import pytest
from test_sweep_cli import SAFE, study_of, sweep

from nnexp.contract import FAIL_REASON_ATTR
from nnexp.nn.callbacks import record_keys
from nnexp.nn.mlp import MLP
from nnexp.search.failures import too_many_failures
from nnexp.search.stale import counted_trials, remaining_trials

SMALL = ["trainer.epochs=2", "model.depth=1", "model.width=16", *SAFE]


def write_table(path, *, n: int = 120, target: str = "label") -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    rows = ["a,b,c," + target] + [f"{a:.4f},{b:.4f},{c:.4f},{t}" for (a, b, c), t in zip(x, y)]
    path.write_text("\n".join(rows) + "\n")


# -- fast: the pieces ---------------------------------------------------------------------------


def test_record_keys_are_what_a_fit_reports():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    model = MLP(depth=1, width=4, epochs=1, seed=0, early_stopping=False)
    seen: list[set[str]] = []
    model.fit(x, y, x[:10], y[:10], callbacks=[lambda m, rec: seen.append(set(rec))])
    assert seen[0] == set(record_keys("classification", True))
    assert "val_accuracy" not in record_keys("regression", True)
    assert not {"val_loss", "val_accuracy"} & record_keys("classification", False)


class _T:
    def __init__(self, number: int, state: str, reason: str = "") -> None:
        from optuna.trial import TrialState

        self.number, self.state = number, TrialState[state]
        self.user_attrs = {FAIL_REASON_ATTR: reason} if reason else {}


def test_fail_trials_do_not_count_towards_n_trials():
    trials = [_T(0, "COMPLETE"), _T(1, "FAIL", "x"), _T(2, "PRUNED"), _T(3, "RUNNING"), _T(4, "WAITING")]
    assert counted_trials(trials) == 3
    assert remaining_trials(trials, 5) == 2 and remaining_trials(trials, 2) == 0


def test_failure_guard_counts_this_sweeps_fails_and_names_the_last():
    trials = [_T(0, "FAIL", "old"), _T(1, "COMPLETE"), _T(2, "FAIL", "boom"), _T(3, "FAIL", "bang")]
    assert too_many_failures(trials, 3, failed_before=1) is None
    why = too_many_failures(trials, 2, failed_before=1)
    assert "2 failed trials" in why and "trial 3: bang" in why


# -- slow: through nnexp-train -m -----------------------------------------------------------------


@pytest.mark.slow
def test_unknown_metric_is_refused_before_any_trial(tmp_path):
    proc = sweep(
        tmp_path,
        "hparams_search=digits",
        *SMALL,
        "hydra.sweeper.metric=nonexistent_metric",
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "hydra.sweeper.metric='nonexistent_metric' is not reported" in proc.stderr
    assert "val_accuracy" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_accuracy_on_a_regression_table_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    rows = ["a,b,y"] + [f"{a:.3f},{b:.3f},{a * 2.5 + b:.5f}" for a, b in rng.normal(size=(80, 2))]
    (tmp_path / "reg.csv").write_text("\n".join(rows) + "\n")
    proc = sweep(
        tmp_path,
        "hparams_search=digits",
        "data=csv",
        "data.path=reg.csv",
        "data.target=y",
        *SMALL,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "not reported by a regression run" in proc.stderr
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_missing_then_broken_then_fixed_csv(tmp_path):
    args = [
        "hparams_search=mlp",
        "data=csv",
        "data.path=table.csv",
        "data.target=label",
        *SMALL,
        "hydra.sweeper.n_trials=2",
    ]
    proc = sweep(tmp_path, *args, check=False, timeout=120)
    assert proc.returncode == 2 and "table.csv' not found" in proc.stderr, proc.stderr
    assert not (tmp_path / "mlruns").exists()

    write_table(tmp_path / "table.csv", target="not_label")  # broken: no such column
    proc = sweep(tmp_path, *args, check=False, timeout=120)
    assert proc.returncode == 2 and "label" in proc.stderr, proc.stderr
    assert not (tmp_path / "mlruns").exists()

    write_table(tmp_path / "table.csv")  # fixed: the same command runs its trials
    proc = sweep(tmp_path, *args)
    states = [t.state.name for t in study_of(tmp_path, "mlp-csv").trials]
    assert states == ["COMPLETE", "COMPLETE"], proc.stdout


@pytest.mark.slow
def test_failing_trials_stop_at_max_failures_and_do_not_eat_n_trials(tmp_path):
    """Every trial fails (its directory is taken by a file), the sweep stops after
    max_failures with the reason; once the cause is gone, the same command runs n_trials."""
    work = tmp_path / "sweep" / "0"
    work.mkdir(parents=True)
    for n in range(4):
        (work / f"trial_{n}").write_text("in the way\n")
    args = [
        "hparams_search=digits",
        *SMALL,
        "hydra.sweep.dir=sweep",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.max_failures=2",
    ]
    proc = sweep(tmp_path, *args, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "stopped after 2 failed trials (hydra.sweeper.max_failures=2)" in proc.stderr
    assert "the last failure: trial 1: FileExistsError" in proc.stderr
    assert [t.state.name for t in study_of(tmp_path).trials] == ["FAIL", "FAIL"]

    for n in range(4):
        (work / f"trial_{n}").unlink()
    sweep(tmp_path, *args)  # earlier FAILs neither eat n_trials nor count as this run's
    states = [t.state.name for t in study_of(tmp_path).trials]
    assert states == ["FAIL", "FAIL", "COMPLETE", "COMPLETE", "COMPLETE"]


@pytest.mark.slow
def test_bad_max_failures_is_refused(tmp_path):
    proc = sweep(
        tmp_path, "hparams_search=digits", *SMALL, "hydra.sweeper.max_failures=0", check=False, timeout=120
    )
    assert proc.returncode == 2 and "hydra.sweeper.max_failures must be" in proc.stderr
