"""Sampler/pruner/storage settings: names and arguments -> objects, clear errors."""

from __future__ import annotations

import optuna
import pytest

from nnexp.search.pruners import make_pruner
from nnexp.search.samplers import SweepSettingError, derive_seed, make_sampler
from nnexp.search.storage import count_lock, local_file, resolve_storage_url


def test_samplers_by_name_and_mapping():
    assert isinstance(make_sampler(None), optuna.samplers.TPESampler)
    assert isinstance(make_sampler("random"), optuna.samplers.RandomSampler)
    assert isinstance(make_sampler({"name": "tpe", "seed": 1, "multivariate": True}), optuna.samplers.TPESampler)
    with pytest.raises(SweepSettingError, match="valid: tpe, random, cmaes, gp, qmc"):
        make_sampler("bogus")
    with pytest.raises(SweepSettingError, match="unknown argument.*bogus"):
        make_sampler({"name": "random", "bogus": 1})


def test_seeds_differ_per_worker_but_not_for_the_first():
    assert derive_seed(7, 0) == 7
    assert len({derive_seed(7, k) for k in range(5)}) == 5


def test_pruners_by_name_and_mapping():
    assert isinstance(make_pruner(None), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner("none"), optuna.pruners.NopPruner)
    assert isinstance(make_pruner({"name": "hyperband", "min_resource": 2}), optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner({"name": "percentile", "percentile": 25.0}), optuna.pruners.PercentilePruner)
    assert isinstance(make_pruner("successive_halving"), optuna.pruners.SuccessiveHalvingPruner)
    with pytest.raises(SweepSettingError, match="valid: median, hyperband"):
        make_pruner("bogus")
    with pytest.raises(SweepSettingError, match="percentile"):
        make_pruner({"name": "percentile"})


def test_storage_urls(tmp_path):
    assert resolve_storage_url(None, tmp_path) == f"journal:{tmp_path.resolve()}/mlruns/optuna/journal.log"
    assert resolve_storage_url("runs/j.log", tmp_path) == f"journal:{tmp_path.resolve()}/runs/j.log"
    assert resolve_storage_url("sqlite:///o.db", tmp_path) == f"sqlite:///{tmp_path.resolve()}/o.db"
    assert resolve_storage_url("postgresql://u:p@h/db", tmp_path) == "postgresql://u:p@h/db"
    with pytest.raises(ValueError, match="journal"):
        resolve_storage_url("nonsense", tmp_path)
    assert local_file("postgresql://u:p@h/db") is None
    url = resolve_storage_url(None, tmp_path)
    local_file(url).parent.mkdir(parents=True)
    with count_lock(url) as locked:
        assert locked
