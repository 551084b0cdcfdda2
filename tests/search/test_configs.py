"""The shipped sweeps (conf/hparams_search/*.yaml) compose, and their settings and spaces are valid."""

from __future__ import annotations

from omegaconf import OmegaConf

from nnexp.search.grammar import parse_search_space
from nnexp.search.pruners import make_pruner
from nnexp.search.samplers import make_sampler
from nnexp.search.settings import check_settings
from nnexp.search.space import validate_space

REQUIRED = {
    "optimizer",
    "optimizer.lr",
    "trainer.batch_size",
    "model.depth",
    "model.width",
    "model.dropout",
    "model.l2",
}


def _composed(*overrides: str):
    """nnexp's config composed with ``overrides``, the hydra node included."""
    from hydra import compose, initialize_config_dir

    from nnexp.cli.train import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=True)


def _shipped(name, compose_cfg):
    """The composed sweep ``name``: its sweeper settings and parsed space, checked as a sweep
    checks them before any trial (settings, sampler, pruner, every bound gives a valid config)."""
    from nnexp.config.validate import validate

    cfg = _composed(f"hparams_search={name}")
    sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)
    assert sweeper["_target_"] == "hydra_plugins.nnexp_sweeper.nnexp_sweeper.NnexpSweeper"
    assert cfg.hydra.launcher._target_.endswith("nnexp_launcher.NnexpLauncher")
    check_settings(sweeper)
    make_sampler(sweeper["sampler"])
    make_pruner(sweeper["pruner"])
    space, _ = parse_search_space(sweeper["params"])
    validate_space(space, lambda ov: compose_cfg(f"hparams_search={name}", *ov), validate)
    assert sweeper["metric"] in ("val_accuracy", "val_loss") and sweeper["direction"] in (
        "maximize",
        "minimize",
    )
    return cfg, sweeper, space


def test_the_digits_sweep_searches_the_usual_dimensions(compose_cfg):
    _, _, space = _shipped("digits", compose_cfg)
    assert set(space.distributions) >= REQUIRED
    assert space.distributions["optimizer.lr"].log and space.distributions["model.l2"].log
    bs = space.distributions["trainer.batch_size"]
    assert (bs.low, bs.high) == (32, 256)
    assert space.distributions["model.depth"].high <= 10
    assert (
        space.distributions["model.dropout"].low,
        space.distributions["model.dropout"].high,
    ) == (0.0, 0.5)


def test_the_mnist_sweep_is_the_tuned_one_hour_search(compose_cfg):
    """Two wide layers, dropout on inputs and hidden units, Adam on a cosine schedule over 40
    epochs, pixels / 255; the search stops starting trials after 40 minutes, then confirms."""
    cfg, sweeper, space = _shipped("mnist", compose_cfg)
    assert set(space.distributions) == {"model.width", "model.dropout", "model.input_dropout", "optimizer.lr"}
    width = space.distributions["model.width"]
    assert (width.low, width.high, width.log) == (512, 1024, True)
    assert space.distributions["model.input_dropout"].high <= 0.3
    assert (cfg.model.depth, cfg.optimizer.name, cfg.optimizer.schedule) == (2, "adam", "cosine")
    assert (cfg.trainer.epochs, cfg.data.scaling, cfg.trainer.early_stopping.monitor) == (
        40,
        "minmax",
        "val_accuracy",
    )
    assert sweeper["timeout"] == 2400 and sweeper["pruner"]["max_resource"] == cfg.trainer.epochs
    assert (sweeper["confirm"]["top_k"], sweeper["confirm"]["seeds"]) == (3, 2)


def _digits_pruner(*overrides: str):
    """The pruner the digits preset composes into with ``overrides`` (hydra.sweeper.*)."""
    cfg = _composed("hparams_search=digits", *overrides)
    return make_pruner(OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)["pruner"])


def test_the_readmes_ways_to_switch_a_presets_pruner_compose():
    """A name replaces the preset's mapping; a name with keywords needs the mapping cleared
    first (a command line's mapping merges into the preset's), as the README says."""
    import optuna
    import pytest
    from hydra.errors import ConfigCompositionException

    assert isinstance(_digits_pruner("hydra.sweeper.pruner=hyperband"), optuna.pruners.HyperbandPruner)
    pruner = _digits_pruner(
        "hydra.sweeper.pruner=null", "++hydra.sweeper.pruner={name: hyperband, min_resource: 2}"
    )
    assert isinstance(pruner, optuna.pruners.HyperbandPruner) and pruner._min_resource == 2
    with pytest.raises(ConfigCompositionException, match="min_resource"):
        _digits_pruner("hydra.sweeper.pruner={name: hyperband, min_resource: 2}")
