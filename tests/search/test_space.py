"""Search-space parsing: Hydra override grammar -> Optuna distributions, with clear errors."""

from __future__ import annotations

import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from nnexp.errors import SearchSpaceError
from nnexp.search.grammar import parse_search_space
from nnexp.search.space import SearchSpace, validate_space


def _space(params=None, args=()):
    return parse_search_space(params or {}, list(args))


def test_every_kind_maps_to_its_distribution():
    space, passthrough = _space(
        {
            "optimizer": "choice(adam, sgd)",
            "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
            "trainer.batch_size": "range(32, 257, 32)",
            "model.depth": "int(interval(1, 10))",
            "model.width": "tag(log, int(interval(16, 512)))",
            "model.dropout": "interval(0.0, 0.5)",
            "model.l2": "range(0.0, 0.55, 0.05)",
            "trainer.epochs": 30,
        }
    )
    d = space.distributions
    assert d["optimizer"] == CategoricalDistribution(["adam", "sgd"])
    assert d["optimizer.lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["trainer.batch_size"] == IntDistribution(32, 256, step=32)
    assert d["model.depth"] == IntDistribution(1, 10)
    assert d["model.width"] == IntDistribution(16, 512, log=True)
    assert d["model.dropout"] == FloatDistribution(0.0, 0.5)
    assert d["model.l2"].high == pytest.approx(0.5) and d["model.l2"].step == pytest.approx(0.05)
    assert space.fixed == ("trainer.epochs=30",)
    assert passthrough == []


def test_overrides_round_trip_through_hydra_grammar():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    space, _ = _space(
        {
            "optimizer.lr": "tag(log, interval(1e-6, 1e-1))",
            "s": "choice('a b', c)",
            "n": "range(1, 5)",
        }
    )
    values = {"optimizer.lr": 1.2345678901234e-05, "s": "a b", "n": 3}
    parser = OverridesParser.create()
    parsed = {o.key_or_group: o.value() for o in parser.parse_overrides(space.overrides(values))}
    assert parsed == values


def test_command_line_fixes_or_adds_dimensions():
    space, passthrough = _space(
        {"model.depth": "int(interval(1, 10))", "trainer.epochs": 30},
        [
            "hparams_search=digits",
            "model.depth=3",
            "model.activation=relu,tanh",
            "trainer.epochs=range(5,20,5)",
            "hydra.sweeper.n_trials=3",
        ],
    )
    assert "model.depth" not in space.distributions  # fixed by the command line
    assert space.distributions["model.activation"] == CategoricalDistribution(["relu", "tanh"])
    assert space.distributions["trainer.epochs"] == IntDistribution(5, 15, step=5)
    assert space.fixed == ()
    assert passthrough == [
        "hparams_search=digits",
        "model.depth=3",
        "hydra.sweeper.n_trials=3",
    ]


def test_json_round_trip():
    space, _ = _space({"a": "choice(x, 1, true)", "b": "tag(log, interval(1e-3, 1.0))", "c": 4})
    assert SearchSpace.from_json(space.to_json()) == space


@pytest.mark.parametrize(
    "expr, message",
    [
        ("tag(log, interval(0, 1))", "log-scale interval needs low > 0"),
        ("interval(2, 1)", "low < high"),
        ("tag(foo, interval(1, 2))", "unknown tag"),
        ("tag(log, choice(1, 2))", "not to choices"),
        ("range(5, 5)", "is empty"),
        ("choice(a, a)", "repeated choice"),
        ("shuffle(choice(a, b))", "shuffle"),
        ("range(1, 10", "cannot parse"),
        ("tag(log, range(1, 64, 2))", "needs step 1"),
        ("tag(log, range(0.1, 1.0, 0.1))", "cannot combine a step with log"),
    ],
)
def test_bad_entries_name_the_key(expr, message):
    with pytest.raises(SearchSpaceError) as err:
        _space({"model.width": expr})
    assert "model.width" in str(err.value) and message in str(err.value)


def test_validate_space_composes_bounds_and_every_choice(compose_cfg):
    from nnexp.config.validate import validate

    good, _ = _space(
        {
            "optimizer": "choice(adam, sgd, momentum)",
            "model.dropout": "interval(0.0, 0.5)",
        }
    )
    seen = []

    def compose(ov):
        seen.append(ov)
        return compose_cfg(*ov)

    validate_space(good, compose, validate)
    assert {o for ov in seen for o in ov if o.startswith("optimizer=")} == {
        "optimizer=adam",
        "optimizer=sgd",
        "optimizer=momentum",
    }

    bad, _ = _space({"model.dropout": "interval(0.0, 1.5)"})
    with pytest.raises(SearchSpaceError, match="dropout"):
        validate_space(bad, lambda ov: compose_cfg(*ov), validate)
    missing, _ = _space({"model.depht": "int(interval(1, 3))"})
    with pytest.raises(SearchSpaceError, match="depht"):
        validate_space(missing, lambda ov: compose_cfg(*ov), validate)
