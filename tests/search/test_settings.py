"""Sampler/pruner/storage settings: names and arguments -> objects, clear errors."""

from __future__ import annotations

import optuna
import pytest

from nnexp.errors import SweepSettingError
from nnexp.search.pruners import make_pruner
from nnexp.search.samplers import derive_seed, make_sampler
from nnexp.search.storage import count_lock, local_file, resolve_storage_url


def test_samplers_by_name_and_mapping():
    assert isinstance(make_sampler(None), optuna.samplers.TPESampler)
    assert isinstance(make_sampler("random"), optuna.samplers.RandomSampler)
    assert isinstance(
        make_sampler({"name": "tpe", "seed": 1, "multivariate": True}),
        optuna.samplers.TPESampler,
    )
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
    assert isinstance(
        make_pruner({"name": "hyperband", "min_resource": 2}),
        optuna.pruners.HyperbandPruner,
    )
    assert isinstance(
        make_pruner({"name": "percentile", "percentile": 25.0}),
        optuna.pruners.PercentilePruner,
    )
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


def test_local_journal_backend_is_readable_by_optuna(tmp_path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from nnexp.search.storage import create_or_load_study, open_storage

    url = resolve_storage_url(None, tmp_path)
    study = create_or_load_study(url, "j", "minimize", make_sampler("random"), make_pruner("none"))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    plain = optuna.load_study(
        study_name="j", storage=JournalStorage(JournalFileBackend(str(local_file(url))))
    )
    assert len(plain.trials) == 3
    assert len(optuna.load_study(study_name="j", storage=open_storage(url)).trials) == 3


def test_sqlite_storage_created_once_then_opened_by_workers(tmp_path):
    from nnexp.search.storage import create_or_load_study, load_study

    url = resolve_storage_url("sqlite:///optuna.db", tmp_path)
    create_or_load_study(url, "q", "maximize", make_sampler("random"), make_pruner("none"))
    worker = load_study(url, "q", make_sampler("random"), make_pruner("none"))
    worker.tell(worker.ask(), 1.0)
    with pytest.raises(ValueError, match="maximize"):
        create_or_load_study(url, "q", "minimize", make_sampler("random"), make_pruner("none"))


def test_worker_jobs_recognise_the_plugin_by_its_target() -> None:
    from hydra_plugins.nnexp_sweeper.nnexp_sweeper import NnexpSweeper, NnexpSweeperConf

    assert NnexpSweeperConf._target_ == f"{NnexpSweeper.__module__}.{NnexpSweeper.__name__}"


def test_the_front_page_exports_what_cli_repro_and_the_plugin_use() -> None:
    import nnexp.search as search

    for name in search.__all__:
        assert getattr(search, name) is not None
    with pytest.raises(AttributeError):
        search.no_such_name  # noqa: B018
