#!/usr/bin/env python
"""Benchmark the Ray launcher: the digits sweep on a local 2-node Ray cluster against nnexp's
own launcher with the same ``n_jobs``, through the real CLI (needs ``pip install -e '.[ray]'``).

    .venv/bin/python scripts/bench_ray.py            # 30 trials each, about 3 minutes on 2 cores
    .venv/bin/python scripts/bench_ray.py --quick    # 12 trials each

Prints one table, one row per launcher:

* end-to-end trials per minute: ``n_trials`` over the wall time of ``nnexp-train -m
  hparams_search=digits hydra.sweeper.n_jobs=2`` (start-up, storage set-up, summary included;
  for Ray, connecting to the running cluster and starting the actors too);
* steady trials per minute: from the first trial's ask to the last trial's end, from the
  workers' ``trials.jsonl`` (``nnexp.contract.TIMINGS_FILE``);
* the sweeper's overhead per trial (everything but ``run_training``: ask under the count lock,
  reaping, compose, tell, MLflow tags; ``TrialOutcome.overhead_s``), median and 90th percentile.

The cluster is ``ray.cluster_utils.Cluster``: a head node and a second node, one CPU each (the
workers' actors ask for 1 CPU, so one runs on each node). nnexp's launcher runs first, before
the cluster starts, so that Ray's own processes do not slow it down. Each sweep runs in a fresh
temporary directory with the default local stores (journal study, SQLite MLflow: every node is
on this machine) and the sampler seeded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

CLI = str(Path(sys.executable).with_name("nnexp-train"))


def run_sweep(workdir: Path, n_trials: int, extra: Sequence[str]) -> dict[str, float]:
    """One ``nnexp-train -m hparams_search=digits`` sweep; its wall time and timings."""
    from nnexp.contract import TIMINGS_FILE

    workdir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "NNEXP_OPTUNA_STORAGE")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [
        CLI,
        "-m",
        "hparams_search=digits",
        f"hydra.sweeper.n_trials={n_trials}",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.sampler.seed=0",
        f"hydra.sweep.dir={workdir / 's'}",
        *extra,
    ]
    start = time.time()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.time() - start
    if proc.returncode != 0:
        sys.exit(f"sweep failed ({' '.join(cmd)}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rows = [
        json.loads(line)
        for f in (workdir / "s").rglob(TIMINGS_FILE)
        for line in f.read_text().splitlines()
        if line.strip()
    ]
    span = max(r["ended"] for r in rows) - min(r["started"] for r in rows)
    overhead = sorted(r["overhead_s"] for r in rows)
    return {
        "wall": wall,
        "e2e_per_min": n_trials / wall * 60,
        "steady_per_min": len(rows) / span * 60,
        "overhead_median": statistics.median(overhead),
        "overhead_p90": overhead[int(0.9 * (len(overhead) - 1))],
        "trials": len(rows),
    }


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="12 trials per sweep instead of 30")
    args = ap.parse_args(argv)
    n_trials = 12 if args.quick else 30
    root = Path(tempfile.mkdtemp(prefix="nnexp-bench-ray-"))
    results = {}
    print(f"[bench] nnexp launcher, n_jobs=2, {n_trials} trials ...", file=sys.stderr, flush=True)
    results["nnexp (local processes)"] = run_sweep(root / "nnexp", n_trials, ["hydra/launcher=nnexp"])

    import ray
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    print("[bench] starting a 2-node Ray cluster (1 CPU each) ...", file=sys.stderr, flush=True)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        print(f"[bench] nnexp_ray launcher, n_jobs=2, {n_trials} trials ...", file=sys.stderr, flush=True)
        ray_args = ["hydra/launcher=nnexp_ray", f"hydra.launcher.address={cluster.address}"]
        results["nnexp_ray (2 Ray nodes)"] = run_sweep(root / "ray", n_trials, ray_args)
    finally:
        ray.shutdown()
        cluster.shutdown()
    report(results, n_trials)


def report(results: dict[str, dict[str, float]], n_trials: int) -> None:
    """The table (markdown)."""
    print(f"\nDigits sweep (hparams_search=digits), {n_trials} trials, n_jobs=2, on {os.cpu_count()} CPUs\n")
    print("| launcher | wall s | trials/min end-to-end | trials/min steady | overhead/trial median | p90 |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['wall']:.1f} | {r['e2e_per_min']:.1f} | {r['steady_per_min']:.1f} "
            f"| {r['overhead_median'] * 1000:.0f} ms | {r['overhead_p90'] * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
