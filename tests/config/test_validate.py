"""Config composition and validation: every bad value is named with its valid choices/range."""

from __future__ import annotations

import pytest

from nnexp.config import ConfigError, model_kwargs, validate
from nnexp.config.overrides import check_overrides
from nnexp.config.to_model import dataset_kwargs

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw")
DATASETS = ("xor", "moons", "digits", "mnist", "fashion_mnist")


def problems(cfg) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    return info.value.problems


def test_default_config_is_digits_and_valid(compose_cfg):
    cfg = compose_cfg()
    validate(cfg)
    assert cfg.data.name == "digits"
    assert cfg.optimizer.name == "adam"
    assert cfg.hparams_search is None if "hparams_search" in cfg else True


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_option_builds_an_mlp(compose_cfg, name):
    from nnexp.nn import MLP

    cfg = compose_cfg(f"optimizer={name}")
    validate(cfg)
    model = MLP(**model_kwargs(cfg))
    assert model.get_params()["optimizer"] == name


@pytest.mark.parametrize("name", DATASETS)
def test_every_data_option_composes(compose_cfg, name):
    cfg = compose_cfg(f"data={name}")
    validate(cfg)
    assert dataset_kwargs(cfg)["name"] == name


def test_public_keys_map_to_mlp_keywords(compose_cfg):
    cfg = compose_cfg(
        "model.depth=3",
        "model.width=32",
        "model.activation=tanh",
        "model.dropout=0.25",
        "model.input_dropout=0.2",
        "model.l2=0.001",
        "model.batch_norm=true",
        "optimizer=momentum",
        "optimizer.lr=0.05",
        "trainer.batch_size=16",
        "trainer.epochs=7",
        "trainer.seed=3",
        "trainer.early_stopping.patience=4",
        "trainer.early_stopping.min_delta=0.01",
    )
    kw = model_kwargs(cfg)
    assert (kw["depth"], kw["width"], kw["activation"], kw["dropout"], kw["l2"]) == (
        3,
        32,
        "tanh",
        0.25,
        0.001,
    )
    assert (kw["batch_norm"], kw["optimizer"], kw["lr"], kw["momentum"]) == (True, "momentum", 0.05, 0.9)
    assert (kw["batch_size"], kw["epochs"], kw["seed"]) == (16, 7, 3)
    assert (kw["early_stopping"], kw["patience"], kw["min_delta"], kw["mode"]) == (True, 4, 0.01, "auto")
    assert kw["input_dropout"] == 0.2
    assert "beta1" not in kw  # only the chosen optimizer's keys are passed


def test_typo_in_choice_names_key_and_choices(compose_cfg):
    msgs = problems(compose_cfg("model.activation=rleu"))
    assert msgs == [
        "model.activation='rleu' is not valid; choose one of relu, leaky_relu, tanh, sigmoid, identity"
    ]


@pytest.mark.parametrize(
    "override, expected",
    [
        ("model.dropout=1.5", "model.dropout=1.5 is out of range; must be a number in [0.0, 1.0)"),
        ("model.input_dropout=1", "model.input_dropout=1.0 is out of range; must be a number in [0.0, 1.0)"),
        ("model.depth=0", "model.depth=0 is out of range; must be an integer in [1, 10]"),
        ("optimizer.lr=-1", "optimizer.lr=-1.0 is out of range; must be a number in (0.0, 10.0]"),
        ("trainer.batch_size=0", "trainer.batch_size=0 is out of range; must be an integer >= 1"),
        ("optimizer.lr=11", "optimizer.lr=11.0 is out of range; must be a number in (0.0, 10.0]"),
        ("data.scaling=zscore", "data.scaling='zscore' is not valid; choose one of standard, minmax, none"),
        ("trainer.early_stopping.patience=0", "trainer.early_stopping.patience=0 is out of range"),
        (
            "trainer.early_stopping.monitor=val_acc",
            "trainer.early_stopping.monitor='val_acc' is not valid; choose one of val_loss, val_accuracy, train_loss",
        ),
        ("data.val_size=1.5", "data.val_size=1.5 is out of range"),
    ],
)
def test_out_of_range_values_are_named(compose_cfg, override, expected):
    msgs = problems(compose_cfg(override))
    assert len(msgs) == 1 and msgs[0].startswith(expected), msgs


def test_all_problems_are_reported_together(compose_cfg):
    msgs = problems(compose_cfg("model.dropout=2", "model.width=0", "optimizer.lr=0"))
    assert [m.split("=")[0] for m in msgs] == ["model.width", "model.dropout", "optimizer.lr"]


def test_key_of_another_optimizer_is_rejected(compose_cfg):
    msgs = problems(compose_cfg("optimizer=sgd", "optimizer.beta1=0.8"))
    assert msgs == ["optimizer.beta1 does not apply to optimizer=sgd; it is used by adam, adamw"]


def test_schedule_keys_need_their_schedule(compose_cfg):
    assert problems(compose_cfg("optimizer.gamma=0.5")) == [
        "optimizer.gamma does not apply to optimizer.schedule=constant; it is used by schedule step"
    ]
    cfg = compose_cfg("optimizer.schedule=step", "optimizer.gamma=0.5", "optimizer.step_size=3")
    validate(cfg)
    kw = model_kwargs(cfg)
    assert (kw["schedule"], kw["gamma"], kw["step_size"]) == ("step", 0.5, 3)


def test_csv_requires_path_and_target(compose_cfg):
    msgs = problems(compose_cfg("data=csv"))
    assert any(m.startswith("data.path is required for data=csv") for m in msgs)
    assert any(m.startswith("data.target is required for data=csv") for m in msgs)
    cfg = compose_cfg("data=csv", "data.path=t.csv", "data.target=label")
    validate(cfg)
    kw = dataset_kwargs(cfg)
    assert (kw["path"], kw["target"]) == ("t.csv", "label")


def test_dataset_keys_of_other_datasets_are_rejected(compose_cfg):
    assert problems(compose_cfg("+data.noise=0.3")) == [
        "data.noise does not apply to data=digits; it is used by xor, moons"
    ]


def test_mnist_sizes_default_to_the_canonical_split(compose_cfg):
    kw = dataset_kwargs(compose_cfg("data=mnist", "data.val_size=5000"))
    assert kw["val_size"] == 5000 and isinstance(kw["val_size"], int)
    assert kw["test_size"] is None


def test_unknown_key_gets_a_suggestion():
    msgs = check_overrides(["model.dpeth=3"])
    assert len(msgs) == 1
    assert "unknown key 'model.dpeth'" in msgs[0] and "did you mean model.depth?" in msgs[0]
    assert "valid keys in model:" in msgs[0]
    assert check_overrides(["epochs=3"]) == ["unknown key 'epochs'; did you mean trainer.epochs?"]
    assert check_overrides(["trainer.early_stopping.patiense=3"])[0].startswith(
        "unknown key 'trainer.early_stopping.patiense'; did you mean trainer.early_stopping.patience?"
    )


def test_valid_and_foreign_overrides_pass_the_key_check():
    args = [
        "-m",
        "--config-name",
        "config",
        "model.depth=3",
        "optimizer=sgd",
        "hparams_search=digits",
        "hydra.sweeper.n_trials=5",
        "+model.extra=1",
        "data.options.foo=1",
        "tracking.tags.team=a",
        "trainer.early_stopping.patience=2",
        "model.width=range(16,64)",
    ]
    assert check_overrides(args) == []


# --- one declaration behind MLP(), conf/ and the checks ------------------------------------------


def test_conf_defaults_equal_declaration_and_mlp_defaults(compose_cfg):
    """conf/'s composed defaults == nnexp.nn.hyperparameters == MLP()'s keywords."""
    from omegaconf import OmegaConf

    from nnexp.nn import DEFAULTS, HYPERPARAMETERS, MLP

    cfg = compose_cfg()
    for name, h in HYPERPARAMETERS.items():
        if h.key is None:
            continue
        value = OmegaConf.select(cfg, h.key)
        if value is None and h.when is not None:  # null: this optimizer/schedule does not read it
            controller = HYPERPARAMETERS[h.when[0]]
            assert OmegaConf.select(cfg, controller.key) not in h.when[1], name
            continue
        assert value == h.default == MLP().get_params()[name], (h.key, value, h.default)
    kw = model_kwargs(cfg)
    assert {k: v for k, v in MLP(**kw).get_params().items() if k != "verbose"} == {
        k: v for k, v in DEFAULTS.items() if k != "verbose"
    }


def test_schema_fields_come_from_the_declaration():
    import dataclasses

    from nnexp.config.overrides import schema_keys
    from nnexp.nn.hyperparameters import BY_KEY

    keys = schema_keys()
    assert set(BY_KEY) <= set(keys)
    from nnexp.config.schema import ModelConfig

    assert {f.name: f.default for f in dataclasses.fields(ModelConfig) if f.name != "name"} == {
        k.split(".")[1]: h.default for k, h in BY_KEY.items() if k.startswith("model.")
    }


@pytest.mark.parametrize(
    "data, scaling",
    [
        ("digits", "standard"),
        ("csv", "standard"),
        ("mnist", "minmax"),
        ("fashion_mnist", "minmax"),
        ("moons", "standard"),
    ],
)
def test_scaling_default_is_per_dataset_and_reaches_the_mlp(compose_cfg, data, scaling):
    cfg = compose_cfg(f"data={data}")
    assert cfg.data.scaling == scaling and model_kwargs(cfg)["scaling"] == scaling


def test_scaling_is_an_ordinary_sweepable_key(compose_cfg):
    assert check_overrides(["-m", "data.scaling=choice(standard,none)"]) == []
    for choice in ("standard", "minmax", "none"):
        cfg = compose_cfg(f"data.scaling={choice}")
        validate(cfg)
        assert model_kwargs(cfg)["scaling"] == choice
    assert check_overrides(["model.standardize=false"])[0].startswith("unknown key 'model.standardize'")


def test_config_and_network_share_bounds(compose_cfg):
    """A value the config accepts at a bound is accepted by the MLP, and vice versa."""
    from nnexp.nn import MLP

    cfg = compose_cfg("optimizer.lr=10", "optimizer.eps=1.0", "model.depth=10", "trainer.seed=4294967295")
    validate(cfg)
    MLP(**model_kwargs(cfg)).validate_params()
    for override, name in [
        ("optimizer.lr=10.5", "lr"),
        ("optimizer.eps=1.5", "eps"),
        ("model.depth=11", "depth"),
    ]:
        assert problems(compose_cfg(override))
        kw = model_kwargs(compose_cfg(override))
        with pytest.raises(ValueError, match=name):
            MLP(**kw).validate_params()


def test_cosine_min_lr_above_lr_is_a_config_error(compose_cfg):
    msgs = problems(compose_cfg("optimizer.schedule=cosine", "optimizer.lr=0.01", "optimizer.min_lr=0.1"))
    assert msgs == [
        "optimizer.min_lr must be <= optimizer.lr for the cosine schedule, got optimizer.min_lr=0.1 > optimizer.lr=0.01"
    ]
    assert problems(compose_cfg("model.width=[32]")) == [
        "model.width has 1 entries but model.depth is 2; give one width per hidden layer"
    ]
    kw = model_kwargs(compose_cfg("model.depth=3", "model.width=[64,32,16]"))
    assert kw["width"] == [64, 32, 16]
