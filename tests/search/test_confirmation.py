"""Confirming the top trials (``hydra.sweeper.confirm``): settings, seeds, what is missing on
resume, mean/std per trial and the choice by the mean (issue 11)."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from nnexp.contract import (
    CONFIRM_SEED_ATTR,
    CONFIRM_SEED_TAG,
    CONFIRMS_ATTR,
    CONFIRMS_TAG,
    STUDY_CONFIRMED,
    TEST_METRICS_ATTR,
)
from nnexp.errors import SweepSettingError, exit_code
from nnexp.search.confirmation import (
    Confirmation,
    choose,
    confirmed_trial,
    group,
    mean_std,
    missing,
    new_seeds,
    parse_confirm,
)
from nnexp.search.settings import normalized
from nnexp.tracking.run_names import confirmation_label, trial_run_name

DIST = {"lr": FloatDistribution(1e-4, 1.0, log=True)}


def search_trial(number: int, value: float) -> optuna.trial.FrozenTrial:
    t = create_trial(params={"lr": 0.01 * (number + 1)}, distributions=DIST, value=value)
    t.number = number
    return t


def confirmation(of: int, seed: int, value: float | None, state=TrialState.COMPLETE, test=0.9):
    return create_trial(
        params={"lr": 0.01},
        distributions=DIST,
        value=value,
        state=state,
        user_attrs={CONFIRMS_ATTR: of, CONFIRM_SEED_ATTR: seed, TEST_METRICS_ATTR: {"test_accuracy": test}},
    )


def test_settings_default_off_and_checked_before_anything():
    assert parse_confirm(None) == (0, 2)
    assert parse_confirm({"top_k": 3}) == (3, 2)
    assert parse_confirm({"top_k": 2, "seeds": 5}) == (2, 5)
    for bad, key in [
        ({"top_k": -1}, "confirm.top_k"),
        ({"seeds": 1.5}, "confirm.seeds"),
        ({"top_k": True}, "confirm.top_k"),
        ({"topk": 2}, "unknown key"),
        (3, "must be a mapping"),
    ]:
        with pytest.raises(SweepSettingError, match=key) as info:
            parse_confirm(bad)
        assert exit_code(info.value) == 2
    with pytest.raises(SweepSettingError, match="confirm.seeds"):
        normalized({"n_trials": 3, "n_jobs": 1, "stale_after": 300, "confirm": {"top_k": 1, "seeds": -2}})


def test_seeds_follow_the_trials_own_seed():
    assert new_seeds(0, 3) == [1, 2, 3]
    assert new_seeds(41, 2) == [42, 43]


def test_mean_and_sample_std():
    assert mean_std([0.9]) == (0.9, 0.0)
    mean, std = mean_std([1.0, 2.0, 3.0])
    assert mean == 2.0 and std == pytest.approx(1.0)
    assert all(math.isnan(v) for v in mean_std([]))


def test_only_missing_pairs_are_enqueued_again():
    top = [search_trial(4, 0.95), search_trial(1, 0.94)]
    have = [
        confirmation(4, 1, 0.9),  # done
        confirmation(4, 2, None, state=TrialState.FAIL),  # failed: runs again
        confirmation(1, 1, None, state=TrialState.RUNNING),  # in flight
        confirmation(1, 2, None, state=TrialState.WAITING),  # enqueued already
    ]
    todo = missing(top, have, lambda t: new_seeds(0, 2))
    assert [(t.number, s) for t, s in todo] == [(4, 2)]
    assert len(missing(top, [], lambda t: new_seeds(0, 2))) == 4


def test_the_best_mean_wins_over_the_search_best():
    # trial 4 won the search (0.95) by luck; trial 1 is better on fresh seeds
    ranked = [search_trial(4, 0.95), search_trial(1, 0.94)]
    confirmations = [
        confirmation(4, 2, 0.90, test=0.88),
        confirmation(4, 1, 0.92, test=0.90),
        confirmation(1, 1, 0.93, test=0.92),
        confirmation(1, 2, 0.94, test=0.94),
        confirmation(1, 3, None, state=TrialState.FAIL),  # left out
        confirmation(9, 1, 0.99),  # not a confirmed trial: ignored
    ]
    rows = group(ranked, confirmations, ["test_accuracy"])
    assert [(r.trial, r.seeds, r.values) for r in rows] == [
        (4, [1, 2], [0.92, 0.90]),
        (1, [1, 2], [0.93, 0.94]),
    ]
    chosen = choose(rows, "maximize")
    assert chosen is not None and chosen.trial == 1
    assert chosen.mean == pytest.approx(0.935) and chosen.std == pytest.approx(math.sqrt(0.00005))
    assert choose(rows, "minimize").trial == 4
    c = Confirmation("s-confirm", 2, 2, rows, chosen, search_best=4)
    metrics = c.metrics("val_accuracy")
    assert metrics["confirmed_val_accuracy_mean"] == pytest.approx(0.935)
    assert metrics["confirmed_trial"] == 1.0 and metrics["best_test_accuracy_mean"] == pytest.approx(0.93)
    table = c.results()
    assert table["chosen_trial"] == 1 and table["search_best_trial"] == 4
    assert table["trials"][0]["values"] == [0.92, 0.90] and table["excludes_search_run"] is True
    lines = c.lines("val_accuracy")
    assert "confirmed best: trial 1 (not the search's best, trial 4)" in lines[0]
    assert "| 1 (chosen) | 0.9400 | 0.9350 ± 0.0071 | 1: 0.9300, 2: 0.9400 |" in c.table("val_accuracy")


def test_ties_keep_the_search_rank_and_nothing_done_chooses_nothing():
    ranked = [search_trial(0, 0.9), search_trial(1, 0.8)]
    rows = group(ranked, [confirmation(0, 1, 0.5), confirmation(1, 1, 0.5)], [])
    assert choose(rows, "maximize").trial == 0
    assert choose(group(ranked, [], []), "maximize") is None


def test_confirmed_trial_is_read_back_from_the_study():
    study = optuna.create_study(direction="maximize")
    for number, value in [(0, 0.9), (1, 0.8)]:
        study.add_trial(search_trial(number, value))
    assert confirmed_trial(study) is None
    study.set_user_attr(STUDY_CONFIRMED, {"trial": 1, "mean": 0.85, "std": 0.01, "n": 2})
    assert confirmed_trial(study).number == 1


def test_confirmation_runs_are_named_after_the_trial_they_confirm():
    tags = {CONFIRMS_TAG: "7", CONFIRM_SEED_TAG: "2"}
    assert confirmation_label(tags) == "confirm-7 seed=2"
    assert confirmation_label({}) is None
    name = trial_run_name(0, {"optimizer.name": "adam"}, "COMPLETE", label="confirm-7 seed=2")
    assert name == "confirm-7 seed=2 adam"
