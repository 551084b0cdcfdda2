#!/usr/bin/env python
"""Benchmark the sweep machinery on digits, in one run, through the real CLI.

    .venv/bin/python scripts/bench_sweep.py            # full: about 6-8 minutes on 2 cores
    .venv/bin/python scripts/bench_sweep.py --quick    # smaller sweeps, same table

Prints one table:

* overhead per trial of the sweep machinery (everything but ``run_training``: ask under the
  count lock, reaping, compose, trial files, tell, MLflow state tags, the printed line), from
  the workers' ``trials.jsonl``; plus the sweep's fixed cost (start-up, storage and MLflow
  store initialisation, summary, plots, servable model) amortised per trial, and, for
  reference, ``run_training``'s own non-training time (MLflow run bookkeeping, data loading);
* pruning savings: a fixed-seed 40-trial digits sweep with the default median pruner vs no
  pruner: total epochs trained and best validation accuracy;
* throughput: trials per minute with 1 vs 2 joblib workers on the same equal-cost trials
  (4x256 MLP, 15 epochs; from the first trial's start to the last trial's end, i.e. without
  the per-process start-up, which the end-to-end row includes).

Each sweep runs in a fresh temporary launch directory (default local storages).
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
from dataclasses import dataclass, field
from pathlib import Path

CLI = str(Path(sys.executable).with_name("nnexp-train"))


@dataclass
class SweepRun:
    """What one CLI sweep did."""

    wall: float
    t_start: float = 0.0  #: epoch seconds: process launched
    t_end: float = 0.0  #: epoch seconds: process exited
    trials: list[dict] = field(default_factory=list)  #: optuna trials as dicts
    timings: list[dict] = field(default_factory=list)  #: workers' trials.jsonl rows
    fit_seconds: dict[int, float] = field(default_factory=dict)  #: trial -> sum of epoch_seconds

    @property
    def epochs(self) -> int:
        return sum(int(t["user_attrs"].get("epochs_run", 0)) for t in self.trials)

    @property
    def best(self) -> float:
        return max(
            (t["value"] for t in self.trials if t["state"] == "COMPLETE"),
            default=float("nan"),
        )

    def span(self) -> float:
        """Seconds from the first trial's ask to the last trial's end (workers' clocks)."""
        return max(r["ended"] for r in self.timings) - min(r["started"] for r in self.timings)


def run_sweep(workdir: Path, overrides: Sequence[str]) -> SweepRun:
    """Run ``nnexp-train -m ...`` in ``workdir`` and collect its trials and timings."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.time()
    proc = subprocess.run(
        [CLI, "-m", *overrides],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    end = time.time()
    wall = end - start
    if proc.returncode != 0:
        sys.exit(f"sweep failed in {workdir}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = JournalStorage(JournalFileBackend(str(workdir / "mlruns" / "optuna" / "journal.log")))
    (name,) = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    study = optuna.load_study(study_name=name, storage=storage)
    out = SweepRun(wall=wall, t_start=start, t_end=end)
    for t in study.trials:
        out.trials.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "user_attrs": t.user_attrs,
            }
        )
        hist = Path(t.user_attrs.get("trial_dir", "")) / "history.json"
        if hist.is_file():
            out.fit_seconds[t.number] = sum(json.loads(hist.read_text()).get("epoch_seconds", []))
    for f in workdir.glob("multirun/*/*/*/trials.jsonl"):
        out.timings += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def _spin(n: int) -> None:
    x = 0
    for i in range(n):
        x += i


def cpu_capacity(n: int = 8_000_000) -> float:
    """How many cores' worth of CPU two processes get right now (2.0 on an idle 2-core box)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")

    def wall(k: int) -> float:
        procs = [ctx.Process(target=_spin, args=(n,)) for _ in range(k)]
        start = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return time.perf_counter() - start

    one, two = wall(1), wall(2)
    return 2 * one / two


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer trials (numbers are noisier)")
    ap.add_argument("--keep", help="keep the sweep directories under this path")
    ap.add_argument(
        "--parts",
        default="overhead,pruning,throughput",
        help="comma-separated subset of the three parts",
    )
    args = ap.parse_args(argv)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nnexp-bench-sweep-"))
    q = args.quick
    parts = {p.strip() for p in args.parts.split(",")}
    rows: list[tuple] = []

    # 1. machinery overhead: the default digits sweep (sampler seeded for repeatability)
    if "overhead" in parts:
        overhead_part(root, q, rows)
    if "pruning" in parts:
        pruning_part(root, q, rows)
    if "throughput" in parts:
        throughput_part(root, q, rows)
    report(rows, q, root)


def overhead_part(root: Path, q: bool, rows: list[tuple]) -> None:
    """Sweep machinery time per trial, fixed costs, run_training's own overhead."""
    n1 = 12 if q else 30
    print(f"[bench] 1/3 overhead: digits sweep, {n1} trials, 1 worker ...", flush=True)
    r1 = run_sweep(
        root / "overhead",
        [
            "hparams_search=digits",
            f"hydra.sweeper.n_trials={n1}",
            "hydra.sweeper.sampler.seed=0",
        ],
    )
    machinery = [row["overhead_s"] for row in r1.timings]
    train_total = sum(row["train_ended"] - row["train_started"] for row in r1.timings)
    fit_total = sum(r1.fit_seconds.values())
    fixed = r1.wall - sum(row["ended"] - row["started"] for row in r1.timings)
    rows.append(
        (
            "sweep machinery per trial, mean (median) [target < 0.3 s]",
            f"{statistics.mean(machinery):.3f} s ({statistics.median(machinery):.3f} s)",
        )
    )
    startup = min(r["started"] for r in r1.timings) - r1.t_start
    finish = r1.t_end - max(r["ended"] for r in r1.timings)
    rows.append(
        (
            f"fixed cost per sweep / per trial of {n1} (not per trial; see next two rows)",
            f"{fixed:.1f} s / {fixed / n1:.2f} s",
        )
    )
    rows.append(
        (
            "  start-up: imports, validation, new MLflow store + Optuna study, parent run",
            f"{startup:.1f} s",
        )
    )
    rows.append(
        (
            "  finish: results files, Optuna plots, best trial's plots + servable model",
            f"{finish:.1f} s",
        )
    )
    rows.append(
        (
            "run_training's non-fit time per trial (MLflow run, data; not the sweeper)",
            f"{(train_total - fit_total) / n1:.3f} s",
        )
    )
    rows.append(("fit time per trial (training itself)", f"{fit_total / n1:.3f} s"))


def pruning_part(root: Path, q: bool, rows: list[tuple]) -> None:
    """Epochs and best value of a fixed-seed sweep, median pruner vs none."""
    n2 = 20 if q else 40
    print(f"[bench] 2/3 pruning: {n2}-trial sweeps, median pruner vs none ...", flush=True)
    base = [
        "hparams_search=digits",
        f"hydra.sweeper.n_trials={n2}",
        "hydra.sweeper.sampler.seed=42",
    ]
    on = run_sweep(root / "prune_on", base)
    off = run_sweep(root / "prune_off", base + ["hydra.sweeper.pruner=none"])
    pruned = sum(t["state"] == "PRUNED" for t in on.trials)
    rows.append(
        (
            "epochs trained, pruner on / off [target <= 50%]",
            f"{on.epochs} / {off.epochs} = {100 * on.epochs / max(1, off.epochs):.0f}% ({pruned} pruned)",
        )
    )
    rows.append(
        (
            "best val_accuracy, pruner on / off [target within 0.5 points]",
            f"{100 * on.best:.2f} / {100 * off.best:.2f} ({100 * (on.best - off.best):+.2f} points)",
        )
    )
    rows.append(("sweep wall time, pruner on / off", f"{on.wall:.1f} s / {off.wall:.1f} s"))


def throughput_part(root: Path, q: bool, rows: list[tuple]) -> None:
    """Trials per minute with 1 vs 2 workers on equal-cost trials."""
    n3 = 8 if q else 16
    print(
        f"[bench] 3/3 throughput: {n3} equal-cost trials with 1 and 2 workers ...",
        flush=True,
    )
    same = [
        "hparams_search=digits",
        f"hydra.sweeper.n_trials={n3}",
        "hydra.sweeper.pruner=none",
        "model.depth=4",
        "model.width=256",
        "trainer.batch_size=32",
        "trainer.epochs=15",
        "trainer.early_stopping.enabled=false",
        "optimizer=adam",
        "hydra.sweeper.sampler.seed=0",
    ]
    capacity_before = cpu_capacity()
    w1 = run_sweep(root / "workers1", same + ["hydra.sweeper.n_jobs=1"])
    w2 = run_sweep(root / "workers2", same + ["hydra.sweeper.n_jobs=2"])
    capacity_after = cpu_capacity()
    tpm1, tpm2 = 60 * n3 / w1.span(), 60 * n3 / w2.span()
    rows.append(
        (
            "trials/min, 1 / 2 workers [target >= 1.6x]",
            f"{tpm1:.1f} / {tpm2:.1f} = {tpm2 / tpm1:.2f}x",
        )
    )
    rows.append(
        (
            "  CPU the machine gave 2 busy processes, before / after (2.0 = two idle cores)",
            f"{capacity_before:.2f} / {capacity_after:.2f} cores",
        )
    )
    fit1 = sum(w1.fit_seconds.values()) / n3
    fit2 = sum(w2.fit_seconds.values()) / n3
    rows.append(
        (
            "  fit time per trial, 1 / 2 workers (same work; > 1x means CPU contention)",
            f"{fit1:.2f} s / {fit2:.2f} s = {fit2 / fit1:.2f}x",
        )
    )
    e1, e2 = 60 * n3 / w1.wall, 60 * n3 / w2.wall
    rows.append(
        (
            "trials/min end to end incl. start-up, 1 / 2 workers",
            f"{e1:.1f} / {e2:.1f} = {e2 / e1:.2f}x",
        )
    )


def report(rows: list[tuple], q: bool, root: Path) -> None:
    """Print the table."""
    width = max(len(k) for k, _ in rows)
    print()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"nnexp sweep benchmark (digits, {os.cpu_count()} cores, {'quick' if q else 'full'}, "
        f"load average {load:.1f} at the end)"
    )
    print("-" * (width + 40))
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(f"\nsweep directories: {root}")


if __name__ == "__main__":
    main()
