"""A recorded config becomes a standalone primary config that Hydra composes back unchanged."""

from __future__ import annotations

from omegaconf import OmegaConf

from nnexp.repro.config import config_name, rerunnable, write_standalone


def test_rerunnable_resets_trial_plumbing_and_pins_threads(compose_cfg):
    recorded = OmegaConf.to_container(
        compose_cfg("trainer.save_dir=/tmp/trial_3", "trainer.progress=false", "tracking.log_plots=false"),
        resolve=True,
    )
    cfg = rerunnable(recorded, blas_threads=2)
    assert cfg["trainer"]["save_dir"] is None and cfg["trainer"]["progress"] is True
    assert cfg["tracking"]["log_plots"] is True and cfg["trainer"]["threads"] == 2
    assert recorded["trainer"]["save_dir"] == "/tmp/trial_3"  # a copy
    assert (
        rerunnable({**recorded, "trainer": {**recorded["trainer"], "threads": 1}}, 4)["trainer"]["threads"]
        == 1
    )


def test_standalone_file_composes_to_the_same_config(compose_cfg, tmp_path):
    from hydra import compose, initialize_config_dir

    cfg = rerunnable(
        OmegaConf.to_container(
            compose_cfg("model.depth=3", "optimizer=rmsprop", "optimizer.lr=0.0123456789"), resolve=True
        ),
        1,
    )
    path = write_standalone(cfg, tmp_path / "best" / "my study.yaml".replace(" ", "_"), header=["hello"])
    assert path.read_text().startswith("# hello\n")
    with initialize_config_dir(config_dir=str(path.parent), version_base="1.3"):
        back = compose(config_name=path.stem)
    assert OmegaConf.to_container(back, resolve=True) == cfg


def test_config_name_is_file_safe():
    assert config_name("digits") == "digits"
    assert config_name("a b/c") == "a_b_c"
    assert config_name("..") == "best"
