"""Studies in a storage: listing, unknown names, trial selection and its refusals."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from nnexp.repro.errors import Refusal
from nnexp.repro.studies import (
    list_studies,
    load_study,
    open_existing,
    select_trial,
    storage_url,
)
from nnexp.search.storage import open_storage

DIST = {"x": FloatDistribution(0, 1)}


def _trial(state: TrialState, value=None, run: str | None = None, **attrs):
    user = dict(attrs, **({"mlflow_run_id": run} if run else {}))
    return create_trial(
        state=state,
        value=value,
        params={"x": 0.5},
        distributions=DIST,
        user_attrs=user,
        intermediate_values={1: 0.1} if state == TrialState.PRUNED else None,
    )


@pytest.fixture
def storage(tmp_path: Path):
    url = storage_url(None, tmp_path)
    st = open_storage(url, create=True)
    study = optuna.create_study(storage=st, study_name="digits", direction="maximize")
    study.add_trial(_trial(TrialState.COMPLETE, 0.90, "r0"))
    study.add_trial(_trial(TrialState.PRUNED, run="r1", pruned_at_epoch=2))
    study.add_trial(_trial(TrialState.COMPLETE, 0.95, "r2"))
    study.add_trial(_trial(TrialState.FAIL, run="r3", fail_reason="diverged: non-finite loss at epoch 3"))
    optuna.create_study(storage=st, study_name="empty", direction="minimize")
    return url, st


def test_default_storage_is_the_sweepers_journal(tmp_path):
    assert storage_url(None, tmp_path) == f"journal:{tmp_path.resolve() / 'mlruns/optuna/journal.log'}"
    with pytest.raises(Refusal, match="no Optuna storage at .*run a sweep here first"):
        open_existing(storage_url(None, tmp_path))
    with pytest.raises(Refusal, match="--storage"):
        storage_url("not a url", tmp_path)


def test_list_studies_counts_states_and_best(storage):
    _, st = storage
    infos = {s.name: s for s in list_studies(st)}
    d = infos["digits"]
    assert d.n_trials == 4 and d.counts == {"COMPLETE": 2, "PRUNED": 1, "FAIL": 1}
    assert (d.best_number, d.best_value, d.best_run_id) == (2, 0.95, "r2")
    assert infos["empty"].n_trials == 0 and infos["empty"].best_value is None


def test_unknown_study_lists_the_studies(storage):
    url, st = storage
    with pytest.raises(Refusal) as err:
        load_study(st, "mnist", url)
    assert "study 'mnist' does not exist" in str(err.value)
    assert "'digits' (4 trials), 'empty' (0 trials)" in str(err.value)


def test_select_trial(storage):
    url, st = storage
    study = load_study(st, "digits", url)
    assert select_trial(study).number == 2
    assert select_trial(study, number=0).number == 0
    assert select_trial(study, run_id="r0").number == 0
    with pytest.raises(Refusal, match=r"has no trial 9; its trials are 0\.\.3"):
        select_trial(study, number=9)
    with pytest.raises(Refusal, match="r9 is not the run of any trial"):
        select_trial(study, run_id="r9")
    with pytest.raises(Refusal) as pruned:
        select_trial(study, number=1)
    assert "trial 1 of study 'digits' was PRUNED at epoch 2" in str(pruned.value)
    assert "best finished trial is 2" in str(pruned.value) and "--trial 2" in str(pruned.value)
    with pytest.raises(Refusal, match=r"trial 3 .* FAILED \(diverged"):
        select_trial(study, run_id="r3")
    with pytest.raises(Refusal, match="no finished"):
        select_trial(load_study(st, "empty", url))
