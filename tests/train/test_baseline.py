"""The scikit-learn baseline: scores, caching by dataset split and scaling, the comparison line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnexp.data import load_dataset
from nnexp.train import baseline as bl
from nnexp.train.metrics import regression_scores


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def _regression(tmp_path, n=200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = np.round(50 + 20 * X[:, 0] - 10 * X[:, 1] + rng.normal(size=n))
    p = tmp_path / "r.csv"
    p.write_text("a,b,c,y\n" + "".join(f"{a},{b},{c},{t:.1f}\n" for (a, b, c), t in zip(X, y)))
    return load_dataset("csv", path=p, target="y", seed=0)


def test_classification_baseline_scores_val_and_test(digits):
    b = bl.fit_baseline(digits, "standard", seed=0)
    assert b.model == "logistic_regression" and b.train_rows == len(digits.y_train)
    assert set(b.metrics) == {"baseline_val_accuracy", "baseline_test_accuracy"}
    assert b.metrics["baseline_test_accuracy"] > 0.9


def test_regression_baseline_is_ridge_with_r2_rmse_mae(tmp_path):
    ds = _regression(tmp_path)
    assert ds.task == "regression"
    b = bl.fit_baseline(ds, "standard")
    assert b.model == "ridge"
    assert set(b.metrics) == {f"baseline_{s}_{m}" for s in ("val", "test") for m in ("r2", "rmse", "mae")}
    assert b.metrics["baseline_test_r2"] > 0.9 and 0 < b.metrics["baseline_test_rmse"] < 5


def test_cached_once_per_split_and_scaling(digits, tmp_path, monkeypatch):
    monkeypatch.setattr(bl, "MAX_TRAIN_ROWS", 300)  # quick fits; the cap is part of the key
    calls = []
    real = bl.fit_baseline
    monkeypatch.setattr(bl, "fit_baseline", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    first = bl.baseline_for(digits, "standard", cache=tmp_path)
    again = bl.baseline_for(digits, "standard", cache=tmp_path)
    assert not first.cached and again.cached and again == first and calls == ["standard"]
    other = bl.baseline_for(digits, "none", cache=tmp_path)
    assert not other.cached and other.scaling == "none" and calls == ["standard", "none"]
    reseeded = load_dataset("digits", seed=1)
    assert not bl.baseline_for(reseeded, "standard", seed=1, cache=tmp_path).cached
    assert len(list((tmp_path / "baselines").glob("*.json"))) == 3


def test_corrupt_cache_entry_is_refit(digits, tmp_path):
    entry = tmp_path / "baselines" / f"{bl.cache_key(digits, 'standard')}.json"
    entry.parent.mkdir(parents=True)
    entry.write_text("{not json")
    assert not bl.baseline_for(digits, "standard", cache=tmp_path).cached
    assert json.loads(entry.read_text())["model"] == "logistic_regression"


def test_large_training_split_is_subsampled(monkeypatch, digits):
    monkeypatch.setattr(bl, "MAX_TRAIN_ROWS", 300)
    assert bl.fit_baseline(digits, "minmax").train_rows == 300


def test_input_scaling_reads_the_run_config(compose_cfg):
    assert bl.input_scaling(compose_cfg()) == "standard"
    assert bl.input_scaling(compose_cfg("data.scaling=none")) == "none"
    assert bl.input_scaling(compose_cfg("data=mnist")) == "minmax"
    with pytest.raises(ValueError, match="unknown input scaling 'zscore'"):
        bl._scale("zscore", np.zeros((2, 2), dtype=np.float32))


def test_format_vs_baseline_pairs_network_and_baseline_scores():
    line = bl.format_vs_baseline(
        {
            "test_r2": 0.41,
            "baseline_test_r2": 0.45,
            "test_rmse": 55.0,
            "baseline_test_rmse": 53.0,
            "test_loss": 3000.0,
        },
        "ridge",
    )
    assert line == "test_r2 0.4100 vs baseline 0.4500  test_rmse 55.0000 vs baseline 53.0000 (ridge)"
    assert bl.format_vs_baseline({"test_accuracy": 0.9}) == ""


def test_regression_scores_match_their_definitions():
    s = regression_scores(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0]))
    assert s["mse"] == 1.0 and s["rmse"] == 1.0 and s["mae"] == 0.5 and s["r2"] == pytest.approx(0.2)
    assert np.isnan(regression_scores(np.ones(3), np.array([1.0, np.nan, 1.0]))["r2"])
