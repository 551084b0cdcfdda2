#!/usr/bin/env python
"""Where a digits sweep's fixed cost goes: one ``nnexp-train -m`` in this process, timed by phase.

Runs ``hparams_search=digits`` with ``--trials`` 1-epoch trials (default 5) in a fresh temporary
launch directory and prints the wall and CPU seconds of each phase of the sweep's fixed cost
(imports, Hydra's composition, the pre-checks and the dataset they load, the MLflow store and
parent run, the study, the trials themselves, the results files, the best trial's plots and
servable model, the parent run's summary) next to the wall time. Phases nest (the pre-check
is inside ``prepare``). Timers wrap the phases' functions (little overhead); the imports row is
what is imported eagerly, before Hydra starts; lazy imports (MLflow, matplotlib) count in the
phase that does them. The CPU column is steadier than wall on a shared machine.
``--cprofile`` profiles instead (every import, lazy ones too, and ``--top N`` functions; cProfile
slows Python code by about 1.5-2x: read the shares, not the seconds).

    .venv/bin/python scripts/profile_startup.py                       # table
    .venv/bin/python scripts/profile_startup.py --cprofile --top 30   # plus the costliest functions
    python -X importtime -c 'import nnexp.cli.train' 2>&1 | sort -t'|' -k2 -n | tail   # imports
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import importlib
import inspect
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: (label, module, qualified name): the fixed cost's phases, in the order they happen.
PHASES = (
    ("Hydra: plugin scan", "hydra.core.plugins", "Plugins._scan_all_plugins"),
    (
        "Hydra: compose the config",
        "hydra._internal.config_loader_impl",
        "ConfigLoaderImpl.load_configuration",
    ),
    ("nnexp: prepare (all checks, storages)", "nnexp.search.prepare", "prepare"),
    ("  search space + config validation", "nnexp.search.prepare", "build_space"),
    ("  dataset loaded for the pre-check", "nnexp.search.precheck", "load_base_data"),
    ("  pre-check of metric", "nnexp.search.precheck", "precheck"),
    ("  storage check", "nnexp.search.storage", "check_storage"),
    ("  Optuna study", "nnexp.search.prepare", "open_study"),
    ("  MLflow store + experiment", "nnexp.tracking.store", "open_experiment"),
    ("  MLflow parent run", "nnexp.search.runs", "SweepRuns.start_parent"),
    ("  reap stale trials", "nnexp.search.prepare", "Prepared.reap"),
    ("  mark dead runs KILLED", "nnexp.tracking.liveness", "mark_dead_runs_quietly"),
    ("trials (launch until done)", "nnexp.search.respawn", "launch_until_done"),
    ("  run_training (all trials)", "nnexp.train.trainer", "run_training"),
    ("  linear baseline (all trials)", "nnexp.train.baseline", "baseline_for"),
    ("confirmation phase", "nnexp.search.confirmation", "run_confirmation"),
    ("finish (results, best model, parent)", "nnexp.search.finish", "finish"),
    ("  results files", "nnexp.search.results", "write_results"),
    ("  best trial: plots + model", "nnexp.search.finish", "finish_best_trial"),
    ("    learning curves PNG", "nnexp.tracking.plots", "learning_curves"),
    ("    confusion matrix PNG", "nnexp.tracking.plots", "confusion_matrix_png"),
    ("    servable model logged", "nnexp.tracking.sweep_runs", "log_best_trial"),
    ("  trial runs reconciled", "nnexp.search.runs", "SweepRuns.reconcile"),
    ("  parent run summary", "nnexp.search.finish", "record_parent"),
)


def install_timers() -> dict[str, list[float]]:
    """Wrap every phase's function (everywhere it is referenced) with a wall/CPU timer;
    ``{label: [wall s, cpu s, calls]}``, filled as the sweep runs."""
    times: dict[str, list[float]] = {}
    for label, module, qualname in PHASES:
        owner: object = importlib.import_module(module)
        *path, name = qualname.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name)
        times[label] = [0.0, 0.0, 0]
        wrapper = _timer(original, times[label])
        static = isinstance(inspect.getattr_static(owner, name), staticmethod)
        setattr(owner, name, staticmethod(wrapper) if static else wrapper)
        if not path:  # a module function: also where other modules imported it by name
            for mod in list(sys.modules.values()):
                if getattr(mod, name, None) is original:
                    setattr(mod, name, wrapper)
    return times


def _timer(fn: Callable[..., Any], slot: list[float]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            slot[0] += time.perf_counter() - wall
            slot[1] += time.process_time() - cpu
            slot[2] += 1

    return timed


def run_sweep(trials: int, workers: int) -> float:
    """The sweep, in this process; its wall seconds (from before nnexp's first import)."""
    argv = ["nnexp-train", "-m", "hparams_search=digits", f"hydra.sweeper.n_trials={trials}"]
    argv += ["hydra.sweeper.sampler.seed=0", "trainer.epochs=1", f"hydra.sweeper.n_jobs={workers}"]
    sys.argv = argv
    started = time.perf_counter()
    from nnexp.cli.train import main

    with contextlib.suppress(SystemExit):
        main()
    return time.perf_counter() - started


def phases(stats: pstats.Stats) -> list[tuple[str, float, int]]:
    """(label, cumulative seconds, calls) per phase found in the profile."""
    rows = []
    for label, module, qualname in PHASES:
        suffix, name = module.replace(".", "/") + ".py", qualname.split(".")[-1]
        hits = [
            (v[3], v[1])
            for (file, _line, func), v in stats.stats.items()  # type: ignore[attr-defined]
            if func == name and file.replace(os.sep, "/").endswith(suffix)
        ]
        if hits:
            rows.append((label, sum(h[0] for h in hits), sum(h[1] for h in hits)))
    return rows


def timed_run(trials: int, workers: int) -> None:
    """Timers around the phases (little overhead): wall and CPU seconds of each."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    import nnexp.cli.train  # noqa: F401 - what the console script imports first

    times = install_timers()  # imports the phases' modules too
    imports = (time.perf_counter() - wall0, time.process_time() - cpu0)
    wall = run_sweep(trials, workers)
    print(f"\ndigits sweep, {trials} 1-epoch trials, {workers} worker(s): {imports[0] + wall:.2f} s wall")
    print("| phase | wall s | cpu s | calls |\n|---|---:|---:|---:|")
    print(f"| imports: nnexp's CLI and sweeper modules (eager) | {imports[0]:.2f} | {imports[1]:.2f} | 1 |")
    for label, (w, c, n) in times.items():
        print(f"| {label} | {w:.2f} | {c:.2f} | {int(n)} |")


def profiled_run(args: argparse.Namespace) -> None:
    """cProfile around the whole run (imports included, 1.5-2x slower): phases and top functions."""
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    profile = cProfile.Profile(clock)
    cpu = time.process_time()
    wall = profile.runcall(run_sweep, args.trials, args.workers)
    cpu = time.process_time() - cpu
    if args.dump:
        profile.dump_stats(args.dump)
    stats = pstats.Stats(profile, stream=sys.stdout)
    total = cpu if args.clock == "cpu" else wall
    print(
        f"\ndigits sweep, {args.trials} 1-epoch trials, {args.workers} worker(s), profiled: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU of this process; phases in {args.clock} seconds"
    )
    print(f"| phase | {args.clock} s | share | calls |\n|---|---:|---:|---:|")
    for label, seconds, calls in phases(stats):
        print(f"| {label} | {seconds:.2f} | {100 * seconds / total:.0f}% | {calls} |")
    if args.top:
        stats.sort_stats("cumulative").print_stats(args.top)


def main(argv: list[str] | None = None) -> int:
    """Run one sweep with timers (or under cProfile) and print the phases."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=5, help="1-epoch trials (default 5)")
    ap.add_argument("--workers", type=int, default=1, help="hydra.sweeper.n_jobs (default 1)")
    ap.add_argument("--cprofile", action="store_true", help="cProfile instead of timers")
    ap.add_argument("--top", type=int, default=0, help="--cprofile: also the N costliest functions")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="--cprofile's clock")
    ap.add_argument("--dump", type=Path, default=None, help="--cprofile: also save the pstats here")
    args = ap.parse_args(argv)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not os.environ.get("NNEXP_DATA_DIR") and shared.is_dir():
        os.environ["NNEXP_DATA_DIR"] = str(shared)
    with tempfile.TemporaryDirectory(prefix="nnexp-profile-") as tmp:
        os.chdir(tmp)
        if args.cprofile:
            profiled_run(args)
        else:
            timed_run(args.trials, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
