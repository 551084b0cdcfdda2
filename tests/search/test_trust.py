"""A best you can trust (issue 11): the winner's test score, the pruning ledger, warm starts."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState, create_trial

from nnexp.contract import (
    EPOCHS_BUDGET_ATTR,
    EPOCHS_RUN_ATTR,
    PRUNE_REASON_ATTR,
    STUDY_WARM_START,
    TEST_METRICS_ATTR,
    WARM_START_ATTR,
)
from nnexp.errors import SweepSettingError
from nnexp.search.grammar import parse_search_space
from nnexp.search.ledger import ledger_line, pruning_ledger
from nnexp.search.pruners import make_pruner
from nnexp.search.results import best_trial, write_results
from nnexp.search.samplers import make_sampler
from nnexp.search.storage import create_or_load_study, resolve_storage_url
from nnexp.search.warmstart import (
    apply_warm_start,
    fit_params,
    parse_warm_start,
    plan_warm_start,
)
from nnexp.search.winner import parent_metrics, score_line, winner_test_metrics

DIST = {"x": FloatDistribution(0, 1)}


def trial(number, state, value=None, **attrs):
    t = create_trial(state=state, value=value, params={"x": 0.5}, distributions=DIST, user_attrs=attrs)
    t.number = number
    return t


# -- the winner's test score -----------------------------------------------------------------


def test_the_winner_is_selected_on_validation_and_only_its_test_score_is_reported():
    # trial 1 has the best validation value; trial 0 the best test accuracy: 1 wins.
    trials = [
        trial(0, TrialState.COMPLETE, 0.90, test_metrics={"test_accuracy": 0.99, "test_loss": 0.1}),
        trial(1, TrialState.COMPLETE, 0.95, test_metrics={"test_accuracy": 0.93, "test_loss": 0.3}),
        trial(2, TrialState.PRUNED, 0.97, test_metrics={"test_accuracy": 1.0, "test_loss": 0.0}),
    ]
    best = best_trial(trials, "maximize")
    assert best.number == 1
    test = winner_test_metrics(best)
    assert test == {"test_accuracy": 0.93, "test_loss": 0.3}
    assert parent_metrics(test) == {"best_test_accuracy": 0.93, "best_test_loss": 0.3}
    assert score_line(1, test) == (
        "[sweep] test score of trial 1 (selected on validation only): test_accuracy=0.9300 test_loss=0.3000"
    )
    regression = {"test_loss": 4.0, "test_rmse": 2.0, "test_mae": 1.5, "test_r2": 0.7}
    assert winner_test_metrics(trial(3, TrialState.COMPLETE, 1.0, test_metrics=regression)) == {
        "test_r2": 0.7,
        "test_rmse": 2.0,
    }
    assert winner_test_metrics(None) == {} and score_line(None, {}) is None


def test_selection_ignores_test_metrics(tmp_path):
    """Swapping every trial's test metrics never changes the selected trial."""
    study = optuna.create_study(direction="maximize")
    for v, acc in [(0.9, 0.99), (0.95, 0.5), (0.92, 0.98)]:
        study.add_trial(
            create_trial(
                value=v,
                params={"x": 0.5},
                distributions=DIST,
                user_attrs={TEST_METRICS_ATTR: {"test_accuracy": acc}},
            )
        )
    summary = write_results(
        study, tmp_path, metric="val_accuracy", storage_url="journal:x", best_config_text=None
    )
    assert summary.best_number == 1 and summary.best_test == {"test_accuracy": 0.5}
    import yaml

    data = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert data["best_test_score"] == {"test_accuracy": 0.5}
    assert data["pruning"]["epochs_run"] == 0


# -- the pruning ledger -----------------------------------------------------------------------


def test_ledger_counts_the_budget_of_pruner_stopped_trials_only():
    trials = [
        trial(0, TrialState.COMPLETE, 0.9, **{EPOCHS_RUN_ATTR: 10, EPOCHS_BUDGET_ATTR: 10}),
        trial(1, TrialState.COMPLETE, 0.9, **{EPOCHS_RUN_ATTR: 6, EPOCHS_BUDGET_ATTR: 10}),  # early
        trial(2, TrialState.PRUNED, 0.5, **{EPOCHS_RUN_ATTR: 2, EPOCHS_BUDGET_ATTR: 10}),
        trial(
            3,
            TrialState.PRUNED,
            0.1,
            **{
                EPOCHS_RUN_ATTR: 1,
                EPOCHS_BUDGET_ATTR: 10,
                PRUNE_REASON_ATTR: "diverged: non-finite loss at epoch 2",
            },
        ),
        trial(4, TrialState.FAIL, **{EPOCHS_BUDGET_ATTR: 10}),
        trial(5, TrialState.PRUNED, 0.5, **{EPOCHS_RUN_ATTR: 3}),  # recorded before budgets
    ]
    ledger = pruning_ledger(trials)
    assert (ledger.epochs_run, ledger.epochs_budget, ledger.n_pruned) == (22, 30, 2)
    assert ledger.saved_pct == pytest.approx(100 * 8 / 30)
    assert ledger.metrics()["compute_saved_pct"] == pytest.approx(26.6666, rel=1e-4)
    assert ledger_line(ledger) == (
        "[sweep] pruning: 22 of 30 budget epochs run, 26.7% compute saved (2 trial(s) pruned)"
    )
    assert pruning_ledger([]).saved_pct == 0.0


# -- warm start -------------------------------------------------------------------------------


def test_parse_warm_start():
    assert parse_warm_start(None) is None and parse_warm_start("") is None
    spec = parse_warm_start("digits")
    assert (spec.study, spec.storage, spec.top) == ("digits", None, 5)
    spec = parse_warm_start({"study": "a", "storage": "sqlite:///x.db", "top": 2})
    assert (spec.study, spec.storage, spec.top) == ("a", "sqlite:///x.db", 2)
    with pytest.raises(SweepSettingError, match="top must be an integer >= 1"):
        parse_warm_start({"study": "a", "top": 0})
    with pytest.raises(SweepSettingError, match="unknown key"):
        parse_warm_start({"study": "a", "n": 2})
    with pytest.raises(SweepSettingError, match="study must name"):
        parse_warm_start({"top": 2})


def test_fit_params_drops_and_clips_with_notes():
    space, _ = parse_search_space(
        {
            "lr": "tag(log, interval(1e-4, 1e-2))",
            "width": "range(32, 257, 32)",
            "act": "choice(relu, tanh)",
        }
    )
    assert isinstance(space.distributions["width"], IntDistribution)
    params, notes = fit_params({"lr": 0.5, "width": 300, "act": "sigmoid", "depth": 3}, space)
    assert params == {"lr": 1e-2, "width": 256}
    assert "lr=0.5 clipped to 0.01 (outside the new space)" in notes
    assert "width=300 clipped to 256 (outside the new space)" in notes
    assert any("act='sigmoid' dropped" in n for n in notes)
    assert "depth dropped (not searched any more)" in notes
    params, notes = fit_params({"lr": 1e-3, "width": 64, "act": "tanh"}, space)
    assert params == {"lr": 1e-3, "width": 64, "act": "tanh"} and notes == []
    assert isinstance(space.distributions["act"], CategoricalDistribution)


def test_warm_start_enqueues_the_best_trials_tagged_once(tmp_path):
    url = resolve_storage_url(None, tmp_path)
    old = create_or_load_study(url, "old", "maximize", make_sampler("random"), make_pruner("none"))
    for v, lr in [(0.5, 0.001), (0.9, 0.003), (0.7, 0.05), (0.8, 0.004)]:
        old.add_trial(
            create_trial(
                value=v, params={"lr": lr}, distributions={"lr": FloatDistribution(1e-4, 0.1, log=True)}
            )
        )
    old.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            value=0.99,
            params={"lr": 0.002},
            distributions={"lr": FloatDistribution(1e-4, 0.1, log=True)},
        )
    )
    space, _ = parse_search_space({"lr": "tag(log, interval(1e-4, 1e-2))"})
    spec = parse_warm_start({"study": "old", "top": 3})
    plan = plan_warm_start(spec, url, tmp_path, space, limit=10)
    new = create_or_load_study(url, "new", "maximize", make_sampler("random"), make_pruner("none"))
    lines = apply_warm_start(new, plan)
    assert lines[0] == "[sweep] warm start: enqueued the 3 best trial(s) of study 'old' (1, 3, 2)"
    assert "trial 2: lr=0.05 clipped to 0.01 (outside the new space)" in lines[1]
    waiting = new.get_trials(states=(TrialState.WAITING,))
    fixed = [t.system_attrs["fixed_params"] for t in waiting]  # how Optuna keeps enqueued params
    assert fixed == [{"lr": 0.003}, {"lr": 0.004}, {"lr": 0.01}]
    assert [t.user_attrs[WARM_START_ATTR] for t in waiting] == [
        {"study": "old", "trial": 1, "value": 0.9},
        {"study": "old", "trial": 3, "value": 0.8},
        {"study": "old", "trial": 2, "value": 0.7},
    ]
    assert new.user_attrs[STUDY_WARM_START] == {"study": "old", "enqueued": 3}
    # the first ask() takes the best earlier configuration
    t = new.ask({"lr": space.distributions["lr"]})
    assert t.params == {"lr": 0.003} and t.user_attrs[WARM_START_ATTR]["trial"] == 1
    # resumed: not enqueued again
    assert "applied before" in apply_warm_start(new, plan)[0]
    assert len(new.get_trials(states=(TrialState.WAITING,))) == 2
    with pytest.raises(SweepSettingError, match="no study 'nope'"):
        plan_warm_start(parse_warm_start("nope"), url, tmp_path, space, limit=10)
    assert len(plan_warm_start(spec, url, tmp_path, space, limit=1).trials) == 1


# -- the audit --------------------------------------------------------------------------------


def test_audit_samples_pruner_stopped_trials_and_counts_false_prunes():
    from nnexp.contract import RUN_ID_ATTR
    from nnexp.repro.audit import Audit, AuditedTrial, beats, pruned_sample

    trials = [trial(n, TrialState.PRUNED, 0.1, **{RUN_ID_ATTR: f"r{n}"}) for n in range(6)]
    trials.append(
        trial(
            6,
            TrialState.PRUNED,
            0.1,
            **{RUN_ID_ATTR: "r6", PRUNE_REASON_ATTR: "diverged: non-finite loss at epoch 1"},
        )
    )
    trials.append(trial(7, TrialState.COMPLETE, 0.9, **{RUN_ID_ATTR: "r7"}))
    sample = pruned_sample(trials, 3, seed=0)
    assert len(sample) == 3 and sample == sorted(sample, key=lambda t: t.number)
    assert all(t.number < 6 for t in sample)
    assert pruned_sample(trials, 3, seed=0) == sample  # seeded
    assert [t.number for t in pruned_sample(trials, 10, seed=0)] == [0, 1, 2, 3, 4, 5]
    assert beats(0.95, 0.9, "maximize") and not beats(0.9, 0.9, "maximize")
    assert beats(0.1, 0.2, "minimize") and not beats(float("nan"), 0.2, "minimize")
    audit = Audit("s", "val_accuracy", "maximize", 7, 0.9, n_pruned=6)
    audit.trials = [AuditedTrial(1, 2, 0.5, 0.95, True, "a"), AuditedTrial(2, 1, 0.3, 0.7, False, "b")]
    assert audit.false_prunes == 1 and audit.rate == 0.5
    assert audit.metrics() == {"audited": 2.0, "false_prunes": 1.0, "false_prune_rate": 0.5}
    assert audit.summary().startswith("false prunes: 1 of 2 audited pruned trials (50.0%)")
    assert "| 1 | 2 | 0.5 | 0.95 | yes |" in audit.note()
