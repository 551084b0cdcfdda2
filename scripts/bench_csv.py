#!/usr/bin/env python
"""Benchmark reading a user's CSV: nnexp's load + split against ``pandas.read_csv``, and the peak
memory of a one-epoch single run, as the table grows in rows and in categories.

Every file is generated in a temporary directory: ``N`` rows of 10 numeric columns (6 decimals)
and a 0/1 ``label``; for the category rows, 100,000 rows with an extra text column of 1,000
categories. Each measurement runs in a fresh subprocess; peak RSS is that process's high-water
mark (``VmHWM``; for a run, the ``nnexp-train`` process's ``ru_maxrss``, tracking off). Times are the
median of ``--repeats`` runs, pandas and nnexp interleaved.

    .venv/bin/python scripts/bench_csv.py            # the full table (several minutes)
    .venv/bin/python scripts/bench_csv.py --quick    # 150,000 rows at most
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NNEXP_TRAIN = str(Path(sys.executable).with_name("nnexp-train"))


def write_table(path: Path, rows: int, categories: int = 0, seed: int = 0) -> Path:
    """``rows`` x 10 numeric columns and a label (plus a ``cat`` column of ``categories`` levels)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 10)).round(6)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    if categories:
        df["cat"] = np.char.add("c", rng.integers(0, categories, rows).astype(str))
    df["label"] = (X[:, 0] + X[:, 1] > 0).astype(int)
    df.to_csv(path, index=False)
    return path


def _peak_mb() -> float:
    """This process's peak RSS in MB (``VmHWM``: ``ru_maxrss`` would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, path: str, extra: list[str]) -> None:
    """In a fresh process: one measurement, printed as JSON (seconds, peak RSS in MB)."""
    if kind == "pandas":
        import pandas as pd

        start = time.perf_counter()
        pd.read_csv(path)
        seconds = time.perf_counter() - start
        peak = _peak_mb()
        out = {"seconds": seconds, "rss_mb": peak}
    elif kind == "nnexp":
        import pandas  # noqa: F401 - imported before the clock, as for pandas.read_csv

        from nnexp.data import load_dataset

        opts = {k: int(v) if v.isdigit() else v for k, v in (kv.split("=", 1) for kv in extra)}
        start = time.perf_counter()
        ds = load_dataset("csv", path=path, target="label", **opts)
        seconds = time.perf_counter() - start
        peak = _peak_mb()
        out = {"seconds": seconds, "rss_mb": peak, "features": ds.n_features}
    else:  # run: a one-epoch single run, tracking off
        cmd = [
            NNEXP_TRAIN,
            "data=csv",
            f"data.path={path}",
            "data.target=label",
            "trainer.epochs=1",
            "tracking.enabled=false",
            "trainer.progress=false",
            *extra,
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(path).parent)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        # the nnexp-train child forked from this small process: its ru_maxrss is its own peak
        out = {"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    print(json.dumps(out))


def measure(kind: str, path: Path, *extra: str) -> dict[str, float]:
    """One measurement in a fresh subprocess."""
    env = {**os.environ, "NNEXP_CACHE_DIR": str(path.parent / "cache")}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {path.name}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load_row(path: Path, repeats: int, *extra: str) -> dict[str, float]:
    """Median pandas.read_csv and nnexp load + split times (interleaved), and their peak RSS."""
    pandas_runs, nnexp_runs = [], []
    for _ in range(repeats):
        pandas_runs.append(measure("pandas", path))
        nnexp_runs.append(measure("nnexp", path, *extra))
    return {
        "pandas_s": statistics.median(r["seconds"] for r in pandas_runs),
        "nnexp_s": statistics.median(r["seconds"] for r in nnexp_runs),
        "pandas_mb": max(r["rss_mb"] for r in pandas_runs),
        "nnexp_mb": max(r["rss_mb"] for r in nnexp_runs),
        "features": nnexp_runs[0]["features"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="at most 150,000 rows")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.child[2:])
        return
    sizes = [150_000] if args.quick else [150_000, 500_000, 1_500_000]
    cases: list[tuple[str, int, int, tuple[str, ...]]] = [(f"{n:,} x 10 numeric", n, 0, ()) for n in sizes]
    cases += [
        ("100,000 x 10 numeric", 100_000, 0, ()),
        ("100,000 + 1,000-category column", 100_000, 1000, ()),
        ("  same, data.max_categories=1000", 100_000, 1000, ("max_categories=1000",)),
    ]
    header = "| table | MB | pandas.read_csv s | nnexp load+split s | ratio | load peak MB (pandas / nnexp) | features | 1-epoch run s | run peak RSS MB |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    with tempfile.TemporaryDirectory(prefix="nnexp-bench-csv-") as tmp:
        for label, rows, cats, extra in cases:
            path = Path(tmp) / f"t{rows}_{cats}.csv"
            if not path.exists():
                write_table(path, rows, cats)
            load = load_row(path, args.repeats, *extra)
            run_extra = tuple(f"data.{e}" for e in extra)
            run = measure("run", path, *run_extra)
            print(
                f"| {label} | {path.stat().st_size / 1e6:.0f} | {load['pandas_s']:.2f} | {load['nnexp_s']:.2f} | "
                f"{load['nnexp_s'] / load['pandas_s']:.2f}x | {load['pandas_mb']:.0f} / {load['nnexp_mb']:.0f} | "
                f"{load['features']} | {run['seconds']:.1f} | {run['rss_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
