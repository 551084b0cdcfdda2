"""scripts/bench_peer.py: its arithmetic on made-up runs, and a real ``--quick`` run (slow: it
builds the peer's virtual environment on first use, then runs four small sweeps)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_peer.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_peer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_peer"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_run_metrics_on_made_up_trials() -> None:
    b = _bench()
    # one worker: launched at 100, trials of 2 s training each with 0.5 s around them
    trials = [
        b.Trial(103.0 + 2.5 * i, 105.5 + 2.5 * i, v, 0.9, 20, 2.0, worker=7)
        for i, v in enumerate([0.5, 0.8, 0.7])
    ]
    run = b.Run("nnexp", 1, 100.0, 112.0, trials)
    assert run.winner().value == 0.8
    assert run.time_to(0.8) == pytest.approx(108.0 - 100.0)
    assert run.time_to(0.9) is None
    assert run.per_trial_overhead() == pytest.approx(0.5)
    assert run.fixed_overhead() == pytest.approx(12.0 - 3 * 2.5)


def test_table_has_both_sides_and_the_ratio() -> None:
    b = _bench()
    res = b.Results()
    for side, wall in (("nnexp", 10.0), ("peer", 8.0)):
        t = b.Trial(101.0, 101.0 + wall - 2, 0.9, 0.85, 20, 5.0, worker=1)
        res.runs[(side, 1)] = [b.Run(side, 1, 100.0, 100.0 + wall, [t])]
    text = b.table(res, target=0.9, probe=0)
    assert "| | nnexp 1 worker | peer 1 worker | ratio |" in text
    assert "| wall (s) | 10.0 | 8.0 | 1.25 |" in text


def test_time_to_the_peers_best_pairs_runs_and_counts_never(tmp_path: Path) -> None:
    b = _bench()
    assert b._median_never([3.0, None, 1.0]) == 3.0
    assert b._median_never([4.0, 2.0, None, None]) is None
    assert b._median_never([4.0, 2.0, 6.0, None]) == 5.0
    res = b.Results()
    # pair 1: the peer's best 0.9 at 20 s, nnexp's at 5 s; pair 2: nnexp never reaches 0.95
    res.runs[("peer", 2)] = [
        b.Run("peer", 2, 0.0, 30.0, [b.Trial(0.0, 20.0, 0.9, 0.8, 5, 1.0)]),
        b.Run("peer", 2, 0.0, 30.0, [b.Trial(0.0, 10.0, 0.95, 0.8, 5, 1.0)]),
    ]
    res.runs[("nnexp", 2)] = [
        b.Run("nnexp", 2, 0.0, 30.0, [b.Trial(0.0, 5.0, 0.91, 0.8, 5, 1.0)]),
        b.Run("nnexp", 2, 0.0, 30.0, [b.Trial(0.0, 5.0, 0.93, 0.8, 5, 1.0)]),
    ]
    row = "| time to the peer's best, paired by seed and round (s) (runs reached) | - (1/2) | 15.0 (2/2) |"
    assert row in b.table(res, target=0.9, probe=0)
    b._save(res, tmp_path / "x-runs.json")  # --table prints the same table from the saved runs
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--table", str(tmp_path / "x-runs.json")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert row in out


def test_saved_runs_of_one_workload_are_pooled(tmp_path: Path) -> None:
    """Seeds measured in two sittings make one table; pairs stay within each file."""
    b = _bench()
    for sitting, value in (("a", 0.9), ("b", 0.8)):
        res = b.Results()
        for side in ("nnexp", "peer"):
            res.runs[(side, 2)] = [b.Run(side, 2, 0.0, 10.0, [b.Trial(0.0, 4.0, value, 0.7, 5, 1.0)])]
        res.probes[(side, 2)] = [3.0]
        (tmp_path / sitting).mkdir()
        b._save(res, tmp_path / sitting / "mnist-runs.json")
    pooled = b._pooled([tmp_path / "a" / "mnist-runs.json", tmp_path / "b" / "mnist-runs.json"])
    assert list(pooled) == ["mnist"]
    files, res = pooled["mnist"]
    assert len(files) == 2 and len(res.runs[("nnexp", 2)]) == len(res.runs[("peer", 2)]) == 2
    assert res.probes[("peer", 2)] == [3.0, 3.0]
    row = "| time to the peer's best, paired by seed and round (s) (runs reached) | 4.0 (2/2) | 4.0 (2/2) |"
    assert row in b.table(res, target=0.85, probe=5)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quick_prints_one_table_with_both_sides(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--keep", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "| | nnexp 1 worker | peer 1 worker | ratio |" in out
    for row in ("wall (s)", "best val acc", "winner's test acc", "time to val acc", "epochs trained"):
        line = next(line for line in out.splitlines() if line.startswith(f"| {row}"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] not in ("", "-") and cells[2] not in ("", "-"), line
    assert "[bench] digits round 1 seed 0 nnexp" in out and "[bench] digits round 1 seed 0 peer" in out
