"""The sweep's terminal: status lines (done by state, best, elapsed, ETA), the objective that
follows the task, test scores beside the baseline in trial lines and summaries."""

from __future__ import annotations

import io
import logging
from datetime import datetime

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from nnexp.errors import SweepSettingError
from nnexp.search.lines import (
    LAUNCHER_LOGGERS,
    quiet_launchers,
    trial_line,
    vs_baseline,
    workers_line,
)
from nnexp.search.objective import config_task, monitor_override, resolve_objective, settle_objective
from nnexp.search.settings import check_settings, normalized
from nnexp.search.status import (
    StatusTicker,
    duration,
    eta_seconds,
    finished_rank,
    stalled_trials,
    status_due,
    status_line,
)

T0 = 1_700_000_000.0


def _trial(number: int, state: str, value: float | None, start: float, end: float | None):
    t = create_trial(
        state=TrialState[state],
        value=value if state == "COMPLETE" else None,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
    )
    t.number = number
    t.datetime_start = datetime.fromtimestamp(T0 + start)
    t.datetime_complete = datetime.fromtimestamp(T0 + end) if end is not None else None
    return t


@pytest.fixture
def trials():
    return [
        _trial(0, "COMPLETE", 0.90, 10, 20),
        _trial(1, "PRUNED", None, 20, 30),
        _trial(2, "COMPLETE", 0.95, 30, 40),
        _trial(3, "FAIL", None, 40, 50),
        _trial(4, "RUNNING", None, 50, None),
    ]


def test_status_line_counts_states_best_elapsed_and_eta(trials):
    line = status_line(
        trials, n_trials=10, metric="val_accuracy", direction="maximize", started=T0, now=T0 + 50
    )
    # 3 counted (FAIL trials don't count towards n_trials) in the 40 s since the first trial
    # started: 40/3 s a trial, 7 left -> 93 s
    assert line == (
        "[sweep] status: 3/10 trials done (COMPLETE 2, PRUNED 1), 1 failed, 1 running; "
        "best val_accuracy=0.9500 (trial 2); elapsed 50s, ETA 1m33s"
    )
    minimize = status_line(
        trials, n_trials=3, metric="val_loss", direction="minimize", started=T0, now=T0 + 50
    )
    assert "best val_loss=0.9000 (trial 0)" in minimize and minimize.endswith("ETA 0s")


def test_eta_unknown_before_a_trial_finished_and_capped_by_the_timeout(trials):
    assert eta_seconds(trials[4:], 10, T0, T0 + 60, None) is None
    assert "ETA unknown" in status_line(
        trials[4:], n_trials=10, metric="m", direction="maximize", started=T0, now=T0 + 60
    )
    assert eta_seconds(trials, 10, T0, T0 + 50, deadline=T0 + 70) == 20
    # trials of an earlier session (resume) do not count towards this session's rate
    # (one counted trial finished in this session, 7 left)
    assert eta_seconds(trials, 10, T0 + 35, T0 + 100, None) == pytest.approx((100 - 35) / 1 * 7)


def test_each_rank_gets_one_status_line(trials):
    assert [finished_rank(trials, n) for n in range(5)] == [1, 2, 3, 4, None]
    assert [n for n in range(5) if status_due(trials, n, 2)] == [1, 3]
    assert [n for n in range(5) if status_due(trials, n, 1)] == [0, 1, 2, 3]


def test_ticker_prints_only_while_a_long_trial_runs(trials):
    out = io.StringIO()
    ticker = StatusTicker(
        lambda: trials, lambda ts, now: f"status {now - T0:.0f}", seconds=30, started=T0, stream=out
    )
    assert ticker.tick(T0 + 60) is None  # trial 3 finished at +50: not quiet for 30 s yet
    assert ticker.tick(T0 + 85) == "status 85"
    assert ticker.tick(T0 + 100) is None and ticker.tick(T0 + 115) == "status 115"
    assert out.getvalue() == "status 85\nstatus 115\n"
    idle = StatusTicker(lambda: trials[:4], lambda ts, now: "x", seconds=30, started=T0, stream=out)
    assert idle.tick(T0 + 500) is None  # nothing running: nothing to report


def test_duration():
    assert [duration(s) for s in (0, 42.4, 185, 7620)] == ["0s", "42s", "3m05s", "2h07m"]


def test_objective_follows_the_task_unless_set():
    assert resolve_objective(None, None, "classification") == ("val_accuracy", "maximize")
    assert resolve_objective("auto", "auto", "regression") == ("val_loss", "minimize")
    assert resolve_objective("val_loss", None, "classification") == ("val_loss", "minimize")
    assert resolve_objective(None, "minimize", "classification") == ("val_accuracy", "minimize")
    assert resolve_objective("val_accuracy", "MAXIMIZE", "regression") == ("val_accuracy", "maximize")
    with pytest.raises(ValueError, match="unknown task"):
        resolve_objective(None, None, "ranking")


def test_monitor_follows_a_resolved_metric_unless_given():
    monitors = ("val_loss", "val_accuracy", "train_loss")
    assert monitor_override("val_accuracy", [], monitors) == ["trainer.early_stopping.monitor=val_accuracy"]
    assert monitor_override("val_accuracy", ["trainer.early_stopping.monitor=val_loss"], monitors) == []
    assert monitor_override("val_f1", [], monitors) == []


def test_settle_objective_loads_the_data_only_when_needed(compose_cfg):
    loads = []

    def load(cfg):
        def _load():
            loads.append(1)
            from nnexp.train.datasets import load_config_dataset

            return load_config_dataset(cfg)

        return _load

    cfg = compose_cfg("data=moons")
    s = normalized({"n_trials": 3, "n_jobs": 1, "metric": None, "direction": "auto"})
    assert settle_objective(s, cfg, [], load(cfg)) == ["trainer.early_stopping.monitor=val_accuracy"]
    assert (s["metric"], s["direction"], len(loads)) == ("val_accuracy", "maximize", 1)
    space = {"trainer.early_stopping.monitor": "choice(val_loss,val_accuracy)"}
    swept = {"metric": None, "direction": None, "params": space}
    assert settle_objective(swept, cfg, [], load(cfg)) == [] and swept["metric"] == "val_accuracy"
    pinned = {"metric": "val_loss", "direction": "minimize"}
    assert settle_objective(dict(pinned), cfg, [], load(cfg)) == [] and len(loads) == 2
    # model.task decides without loading the data
    assert config_task(compose_cfg("data=moons", "model.task=regression"), lambda: 1 / 0) == "regression"


def test_settings_accept_auto_and_check_the_status_interval():
    s = normalized({"n_trials": 3, "n_jobs": 1, "metric": "auto", "direction": None})
    assert (s["metric"], s["direction"]) == (None, None)
    with pytest.raises(SweepSettingError) as err:
        check_settings(
            {"n_trials": 3, "n_jobs": 1, "direction": "up", "status_every": 0, "status_seconds": -1}
        )
    assert "direction must be minimize, maximize or null" in str(err.value)
    assert "status_every must be an integer >= 1" in str(err.value)
    assert "status_seconds must be > 0" in str(err.value)


def test_regression_trial_lines_and_summaries_show_r2_rmse_and_the_baseline():
    scores = {
        "test_r2": 0.463,
        "test_rmse": 53.1,
        "test_mae": 42.0,
        "baseline_test_r2": 0.453,
        "baseline_test_rmse": 53.9,
    }
    line = trial_line(2, "COMPLETE", 3012.5, 2990.1, 1, 1.4, test_metrics=scores)
    assert line == (
        "[trial 2] COMPLETE value=3012.5000 test_r2=0.4630 test_rmse=53.1000 best=2990.1000 (trial 1) 1.4s"
    )
    assert vs_baseline(scores) == (
        "test_r2 0.4630 vs baseline 0.4530  test_rmse 53.1000 vs baseline 53.9000 (ridge)"
    )
    assert vs_baseline({"test_accuracy": 0.97, "baseline_test_accuracy": 0.96}).endswith(
        "(logistic_regression)"
    )
    assert vs_baseline({"test_accuracy": 0.97}) == ""


def test_launchers_are_quiet():
    quiet_launchers()
    for name in LAUNCHER_LOGGERS:
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    assert logging.getLogger(name).isEnabledFor(logging.WARNING)


def test_best_test_scores_reach_the_results_file_and_the_description(tmp_path):
    from omegaconf import OmegaConf

    from nnexp.contract import TEST_METRICS_ATTR
    from nnexp.search.lines import best_lines, describe
    from nnexp.search.results import write_results

    study = optuna.create_study(direction="minimize")
    for value, r2 in ((3000.0, 0.40), (2900.0, 0.46)):
        trial = study.ask({"x": FloatDistribution(0, 1)})
        trial.set_user_attr(
            TEST_METRICS_ATTR,
            {"test_r2": r2, "test_rmse": 55.0, "baseline_test_r2": 0.45, "baseline_test_rmse": 54.0},
        )
        study.tell(trial, value)
    summary = write_results(
        study, tmp_path, metric="val_loss", storage_url="journal:x", best_config_text=None
    )
    saved = OmegaConf.load(summary.results_file)
    assert saved.best_vs_baseline.startswith("test_r2 0.4600 vs baseline 0.4500")
    assert saved.best_test_metrics.baseline_test_r2 == 0.45
    from nnexp.search.results import trust_lines

    winner = trust_lines(summary)[0]
    assert winner.startswith("[sweep] test score of trial 1 (selected on validation only): test_r2=0.4600")
    assert winner.endswith(
        "; vs baseline: test_r2 0.4600 vs baseline 0.4500  test_rmse 55.0000 vs baseline 54.0000 (ridge)"
    )
    assert not any("vs baseline" in x for x in best_lines(summary, "val_loss", None))  # said once
    assert "vs baseline" not in describe(summary, "val_loss", "minimize")  # the trust note has it


def test_a_confirmation_line_is_named_by_its_label_and_shows_no_best_so_far():
    line = trial_line(3, "COMPLETE", 0.9749, 0.98, 1, 1.7, label="confirm-12 seed=1")
    assert line == "[confirm-12 seed=1] COMPLETE value=0.9749 1.7s"
    assert trial_line(3, "COMPLETE", 0.9749, 0.98, 1, 1.7).startswith("[trial 3] COMPLETE value=0.9749 best=")


def test_status_line_names_a_trial_running_far_longer_than_its_peers(trials):
    """A stopped worker's trial is not hidden in "1 running" (issue 23, point 9)."""
    kw = dict(n_trials=10, metric="m", direction="maximize", started=T0)
    # finished trials took 10 s each; trial 4 started at +50: at +65 it is within the margin
    assert "stalled" not in status_line(trials, now=T0 + 65, **kw)
    assert stalled_trials(trials, T0 + 65) == []
    assert stalled_trials(trials, T0 + 111) == [(4, 61.0, 10.0)]
    assert status_line(trials, now=T0 + 111, **kw).endswith("; trial 4 running 1m01s (peers ~10s), stalled?")
    assert stalled_trials(trials[4:], T0 + 1000) == []  # no peer finished: nothing to compare


def test_workers_line_says_why_n_jobs_was_capped():
    assert workers_line(64, 8, 8, 2) == (
        "[sweep] hydra.sweeper.n_jobs=64 capped at 8: only 8 trial(s) left to run; "
        "8 workers share 2 CPU core(s), so each trial runs slower"
    )
    assert workers_line(2, 2, 10, 4) is None
    assert workers_line(4, 4, 10, 2).endswith("4 workers share 2 CPU core(s), so each trial runs slower")
