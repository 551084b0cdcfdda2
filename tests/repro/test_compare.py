"""Verdicts of a reproduction: identical, within tolerance, mismatch; what differs."""

from __future__ import annotations

import math

from nnexp.repro.compare import (
    IDENTICAL,
    MISMATCH,
    WITHIN_TOLERANCE,
    Comparison,
    data_differences,
    environment_differences,
)

ENV = {
    "env.blas_threads": "1",
    "env.pkg.numpy": "2.4.6",
    "nnexp.version": "0.1.0",
    "git.commit": "abc",
    "git.dirty": "false",
    "mlflow.user": "x",
}


def comparison(
    orig: float = 0.9,
    new: float = 0.9,
    w1: str | None = "w",
    w2: str = "w",
    env=(),
    data=(),
    tol: float = 0.0,
) -> Comparison:
    return Comparison("val_accuracy", orig, new, w1, w2, tol, list(env), list(data))


def test_same_numbers_are_identical_and_ok():
    c = comparison()
    assert c.verdict == IDENTICAL and c.ok and c.delta == 0
    assert "environment: matches" in c.report()


def test_same_environment_other_numbers_is_a_mismatch_whatever_the_tolerance():
    c = comparison(new=0.89, tol=1.0)
    assert c.verdict == MISMATCH and not c.ok
    assert "not deterministic" in c.report()
    assert comparison(w2="other").verdict == MISMATCH  # same metric, other weights


def test_other_environment_is_judged_by_the_tolerance():
    env = environment_differences(ENV, {**ENV, "env.blas_threads": "4"})
    assert [d.what for d in env] == ["env.blas_threads"]
    within = comparison(new=0.895, w2="other", env=env, tol=0.01)
    assert within.verdict == WITHIN_TOLERANCE and within.ok
    off = comparison(new=0.85, w2="other", env=env, tol=0.01)
    assert off.verdict == MISMATCH and not off.ok
    report = off.report()
    assert (
        "delta -0.05" in report
        and "env.blas_threads: 1 -> 4" in report
        and "exceeds --tolerance 0.01" in report
    )


def test_unrecorded_environment_counts_as_different():
    diffs = environment_differences({"mlflow.user": "x"}, ENV)
    assert {d.what for d in diffs} >= {"env.blas_threads", "git.commit", "nnexp.version"}
    assert all(d.original == "not recorded" for d in diffs)


def test_unknown_original_weights_with_equal_metric_is_not_a_mismatch():
    assert comparison(w1=None).verdict == WITHIN_TOLERANCE


def test_nan_metric_never_passes_a_tolerance():
    c = comparison(new=math.nan, env=environment_differences({}, ENV), tol=1.0)
    assert c.verdict == MISMATCH


def test_data_differences_name_the_changed_file():
    identity = {"name": "csv", "source": "csv:/d/t.csv", "files": {"t.csv": "new"}, "sha256": "s2"}
    diffs = data_differences({"t.csv": "old"}, "s1", identity)
    assert (
        len(diffs) == 1 and "file 't.csv' (csv:/d/t.csv)" in str(diffs[0]) and "sha256 old" in str(diffs[0])
    )
    assert data_differences({"t.csv": "new"}, "s2", identity) == []
    # generated data has no files: the combined checksum decides
    gen = data_differences({}, "s1", {"name": "moons", "files": {}, "sha256": "s2"})
    assert len(gen) == 1 and "content" in gen[0].what


def test_comparison_tags():
    tags = comparison(new=0.8, env=environment_differences({}, ENV)).as_tags()
    assert tags["nnexp.reproduction.verdict"] == MISMATCH
    assert tags["nnexp.reproduction.weights_match"] == "true"
    assert float(tags["nnexp.reproduction.metric_delta"]) < 0
