"""Sweep throughput and per-trial storage/tracking latency: local default vs PostgreSQL + MLflow server.

    .venv/bin/python scripts/bench_scale.py                 # 1, 2, 4 workers on both backends
    .venv/bin/python scripts/bench_scale.py --workers 1 2 --trials 8 --backends local

Each cell is one ``nnexp-train -m hparams_search=digits`` sweep with identical tiny trials
(random sampler, fixed seed, no pruning) and ``n_jobs`` joblib workers, BLAS pinned to
``cores // n_jobs`` threads per worker (OMP/OPENBLAS/MKL variables 1). Throughput is trials per
minute of sweep wall time (process start to exit, so start-up is included). Latencies:

* ``sweep ms/trial``: the median of the workers' per-trial overhead (ask, tell, heartbeats,
  reaping, run tags: everything but ``run_training``), from the workers' ``trials.jsonl``;
* ``optuna ms``: one ask + 5 reports + tell on the backend's Optuna storage, in this process;
* ``mlflow ms``: one tracked run (create, 30 params, 5 epoch batches, terminate), in this process.

PostgreSQL (fsync on, Debian's binaries) and ``mlflow server`` are started on 127.0.0.1 in a temp
directory and stopped at the end.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "scale"))
sys.path.insert(0, str(ROOT / "tests"))  # helpers, which scale_servers imports

from scale_servers import MlflowServer, PostgresCluster  # noqa: E402

CLI = str(Path(sys.executable).with_name("nnexp-train"))
TRIAL = [
    "hparams_search=digits",
    "trainer.epochs=5",
    "model.depth=int(interval(1,2))",
    "model.width=range(16,65,16)",
    "hydra.sweeper.pruner=none",
    "hydra.sweeper.sampler={name: random, seed: 0}",
]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "NNEXP_OPTUNA_STORAGE")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)
    return env


def sweep_cell(
    cwd: Path, name: str, workers: int, trials: int, overrides: list[str], env: dict[str, str]
) -> tuple[float, float]:
    """(trials per minute, median per-trial sweep overhead in ms) of one sweep."""
    sweep_dir = cwd / name
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            CLI,
            "-m",
            *TRIAL,
            f"hydra.sweeper.n_trials={trials}",
            f"hydra.sweeper.n_jobs={workers}",
            f"hydra.sweeper.study_name={name}",
            f"hydra.sweep.dir={sweep_dir}",
            *overrides,
        ],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    overheads = [
        json.loads(line)["overhead_s"]
        for f in sweep_dir.rglob("trials.jsonl")
        for line in f.read_text().splitlines()
    ]
    return trials / wall * 60, 1000 * statistics.median(overheads) if overheads else float("nan")


def optuna_latency(url: str, n: int = 10) -> float:
    """Median ms of ask + 5 reports + tell on ``url``."""
    import optuna

    from nnexp.search.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=open_storage(url, create=True), study_name=f"lat-{time.time()}")
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        t = study.ask()
        t.suggest_float("x", 0, 1)
        for step in range(5):
            t.report(0.5, step)
        study.tell(t, 0.5)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def mlflow_latency(uri: str, n: int = 5) -> float:
    """Median ms of one run: create, 30 params, 5 epoch batches, terminate."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    from nnexp.tracking.store import ensure_tracking_store

    exp = ensure_tracking_store(uri, "bench-latency")
    client = MlflowClient(uri)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        run = client.create_run(exp)
        rid = run.info.run_id
        client.log_batch(rid, params=[Param(f"p{i}", str(i)) for i in range(30)])
        for step in range(1, 6):
            ts = int(time.time() * 1000)
            client.log_batch(rid, metrics=[Metric(k, 0.5, ts, step) for k in ("a", "b", "c", "d", "e", "f")])
        client.set_terminated(rid)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--trials", type=int, default=12, help="trials per sweep (default 12)")
    ap.add_argument("--backends", nargs="+", default=["local", "postgres"], choices=["local", "postgres"])
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="nnexp-bench-") as tmp:
        work = Path(tmp)
        for backend in args.backends:
            pg = server = None
            try:
                if backend == "local":
                    cwd = work / "local"
                    cwd.mkdir()
                    overrides, env = [], {}
                    storage = f"journal:{cwd / 'mlruns/optuna/journal.log'}"
                    tracking = f"sqlite:///{cwd / 'mlruns/mlflow.db'}"
                else:
                    cwd = work / "pg"
                    cwd.mkdir()
                    pg = PostgresCluster(fsync=True).start()
                    server = MlflowServer(pg.create_database("mlflow"), cwd / "artifacts", pg.env()).start()
                    storage = pg.create_database("optuna")
                    tracking = server.url
                    overrides, env = (
                        [f"tracking.uri={tracking}"],
                        {"NNEXP_OPTUNA_STORAGE": storage, **pg.env()},
                    )
                    os.environ.update(pg.env())
                opt_ms = optuna_latency(storage)
                ml_ms = mlflow_latency(tracking)
                for w in args.workers:
                    tpm, over = sweep_cell(cwd, f"w{w}", w, args.trials, overrides, env)
                    rows.append((backend, w, tpm, over, opt_ms, ml_ms))
                    print(f"{backend:9s} {w} workers: {tpm:6.1f} trials/min", file=sys.stderr, flush=True)
            finally:
                if server:
                    server.stop()
                if pg:
                    pg.stop()
    cores = len(os.sched_getaffinity(0))
    print(f"\n{args.trials} trials per sweep, digits, 5 epochs, {cores} CPU cores\n")
    print(
        "| backend | workers | trials/min | sweep ms/trial | optuna ms (ask+5 reports+tell) | mlflow ms (one run) |"
    )
    print("|---|---|---|---|---|---|")
    for backend, w, tpm, over, opt_ms, ml_ms in rows:
        label = "journal + SQLite" if backend == "local" else "PostgreSQL + mlflow server"
        print(f"| {label} | {w} | {tpm:.1f} | {over:.0f} | {opt_ms:.1f} | {ml_ms:.1f} |")


if __name__ == "__main__":
    main()
