"""The shipped sweeps (conf/hparams_search/*.yaml) compose, and their settings and spaces are valid."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_shipped_sweep_is_valid(name, compose_cfg):
    from hydra import compose, initialize_config_dir

    from nnexp.cli.train import CONF_DIR
    from nnexp.config.validate import validate

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[f"hparams_search={name}"],
            return_hydra_config=True,
        )
    sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)
    assert sweeper["_target_"] == "hydra_plugins.nnexp_sweeper.nnexp_sweeper.NnexpSweeper"
    assert cfg.hydra.launcher._target_.endswith("nnexp_launcher.NnexpLauncher")
    check_settings(sweeper)
    make_sampler(sweeper["sampler"])
    make_pruner(sweeper["pruner"])
    space, _ = parse_search_space(sweeper["params"])
    assert set(space.distributions) >= REQUIRED
    assert space.distributions["optimizer.lr"].log and space.distributions["model.l2"].log
    bs = space.distributions["trainer.batch_size"]
    assert (bs.low, bs.high) == (32, 256)
    assert space.distributions["model.depth"].high <= 10
    assert (
        space.distributions["model.dropout"].low,
        space.distributions["model.dropout"].high,
    ) == (0.0, 0.5)
    validate_space(space, lambda ov: compose_cfg(f"hparams_search={name}", *ov), validate)
    assert sweeper["metric"] in ("val_accuracy", "val_loss") and sweeper["direction"] in (
        "maximize",
        "minimize",
    )
