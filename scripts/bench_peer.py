#!/usr/bin/env python
"""nnexp's sweeper against the official Hydra Optuna sweeper, side by side, on the same job.

The peer is a Hydra app written as a user of ``hydra-optuna-sweeper`` would
(``scripts/peer/app.py``): it trains nnexp's own network (``nnexp.nn.MLP``) on the split nnexp's
trainer loads, with the same search space, epochs and early stopping, logs each trial to
MLflow, and is swept by hydra-optuna-sweeper 1.3.0 with Optuna 2.10.1 (TPE, in-memory storage;
2 workers: the joblib launcher). It runs in its own virtual environment, built on first use
(``.bench/peer-venv``, pins in ``scripts/peer/requirements.txt``; a few minutes once). nnexp's side
is ``nnexp-train -m`` with the same sampler seeds. Runs are interleaved (nnexp, peer, peer,
nnexp, ...), every sweep in a fresh launch directory, and one table per workload gives medians
over seeds x rounds.

Workloads: ``digits`` (nnexp's default job, ``hparams_search=digits``: 30 trials, 1 and 2
workers) and ``mnist`` (seconds-long trials: 10,000 MNIST training rows, two 256-unit layers, 20
epochs, 30 trials, 2 workers; MNIST from ``$NNEXP_DATA_DIR/mnist``).

    .venv/bin/python scripts/bench_peer.py                     # both workloads, seeds 0-2 x 2 rounds
    .venv/bin/python scripts/bench_peer.py --workload digits --seeds 0 1 --rounds 1
    .venv/bin/python scripts/bench_peer.py --quick             # a smoke run, about a minute
    .venv/bin/python scripts/bench_peer.py --table /tmp/nnexp-bench-peer-*/mnist-runs.json  # again, from saved runs
    (several files of one workload, e.g. seeds measured in two sittings, are pooled into one table)

Rows: wall time; trials per minute; the best validation accuracy; the test accuracy of the trial
with that best (the winner); seconds from launch until the best so far reaches the target
validation accuracy (median over the runs that reached it, and how many did; the target is
``--target``, default the median best over all runs of the workload, both sides pooled); seconds
until the best so far reaches the best of the peer's run with the same seed and round (what the
official sweeper delivered; a run that never does counts as never, so the median is "-" when
half the runs never do); epochs trained over all trials; the per-trial overhead (median over trials of the trial's slot in its
worker less its training epochs: what a trial costs besides training); the fixed overhead (the
wall time less the trials at that cost, shared by the workers: start-up, finish, one-off costs
such as creating the MLflow store); and the wall time of a ``--probe``-trial sweep of 1-epoch
trials (mostly machinery).
"""

from __future__ import annotations

import argparse
import hashlib
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

REPO = Path(__file__).resolve().parents[1]
PEER_DIR = REPO / "scripts" / "peer"
REQUIREMENTS = PEER_DIR / "requirements.txt"
#: The peer's virtual environment (``$NNEXP_PEER_VENV`` or ``--peer-venv`` elsewhere).
PEER_VENV = Path(os.environ.get("NNEXP_PEER_VENV", REPO / ".bench" / "peer-venv"))
NNEXP_CLI = str(Path(sys.executable).with_name("nnexp-train"))


@dataclass(frozen=True)
class Workload:
    """One job, as Hydra overrides for each side."""

    name: str
    nnexp: tuple[str, ...]
    peer: tuple[str, ...]
    workers: tuple[int, ...]
    trials: int


WORKLOADS = {
    "digits": Workload("digits", ("hparams_search=digits",), ("search=digits",), (1, 2), 30),
    "mnist": Workload(
        "mnist",
        ("--config-dir", str(PEER_DIR / "nnexp_conf"), "hparams_search=bench_mnist"),
        ("search=mnist",),
        (2,),
        30,
    ),
}


@dataclass
class Trial:
    """One finished trial, times in epoch seconds."""

    started: float
    ended: float
    value: float | None  #: best validation accuracy; None unless COMPLETE
    test_accuracy: float | None
    epochs: int
    fit_s: float  #: the sum of its epochs' seconds (training itself)
    worker: int = 0  #: the process that ran it


@dataclass
class Run:
    """One sweep of one side."""

    side: str
    workers: int
    launched: float
    exited: float
    trials: list[Trial] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return self.exited - self.launched

    def winner(self) -> Trial | None:
        """The completed trial with the best value (the first of equals)."""
        done = sorted((t for t in self.trials if t.value is not None), key=lambda t: t.ended)
        return max(done, key=lambda t: t.value, default=None)  # type: ignore[arg-type,return-value]

    def time_to(self, target: float) -> float | None:
        """Seconds from launch until a completed trial reached ``target``; None if none did."""
        ends = [t.ended for t in self.trials if t.value is not None and t.value >= target - 1e-12]
        return min(ends) - self.launched if ends else None

    def per_trial_overhead(self) -> float:
        """Median over trials of a trial's slot in its worker (end to its worker's previous end;
        the first: start to end) less its training epochs: what a typical trial costs besides
        training. The median keeps one-off costs (the peer's first trial creates the MLflow
        store, a fresh worker imports its modules) out: they land in the fixed overhead."""
        costs, last = [], {}
        for t in sorted(self.trials, key=lambda t: t.ended):
            costs.append(t.ended - last.get(t.worker, t.started) - t.fit_s)
            last[t.worker] = t.ended
        return statistics.median(costs)

    def fixed_overhead(self) -> float:
        """Wall time less the trials at the typical per-trial cost, shared by the workers:
        start-up, finish and one-off costs."""
        trials = sum(t.fit_s for t in self.trials) + len(self.trials) * self.per_trial_overhead()
        return self.wall - trials / self.workers


# -- the peer's virtual environment -----------------------------------------------------------


def peer_python(venv: Path) -> Path:
    """The peer venv's python, building the venv first when it is missing or its pins changed."""
    python = venv / "bin" / "python"
    stamp = venv / f".peer-{hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]}"
    if stamp.is_file():
        return python
    print(f"[bench] building the peer's virtual environment in {venv} (a few minutes, once)", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    proc = subprocess.run([*pip, "-r", str(REQUIREMENTS)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"pip could not build the peer's environment:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    # nnexp's package only (no dependencies, no Hydra plugin): a folder holding a link to it
    src = venv / "nnexp-src"
    src.mkdir(exist_ok=True)
    link = src / "nnexp"
    if not link.is_symlink():
        link.symlink_to(REPO / "nnexp", target_is_directory=True)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "nnexp_src.pth").write_text(f"{src}\n")
    stamp.touch()
    return python


# -- running one sweep ------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    shared = REPO.parent / "shared" / "data"
    if not env.get("NNEXP_DATA_DIR") and shared.is_dir():
        env["NNEXP_DATA_DIR"] = str(shared)
    env.update(extra)
    return env


def _launch(cmd: Sequence[str], workdir: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd`` in ``workdir``; (launched, exited) epoch seconds; exit on failure."""
    workdir.mkdir(parents=True, exist_ok=True)
    launched = time.time()
    proc = subprocess.run(list(cmd), cwd=workdir, env=env, capture_output=True, text=True, check=False)
    exited = time.time()
    (workdir / "output.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"sweep failed in {workdir}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return launched, exited


def run_nnexp(workdir: Path, overrides: Sequence[str], workers: int) -> Run:
    """``nnexp-train -m`` in ``workdir``; its trials from the study's journal."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    cmd = [NNEXP_CLI, "-m", *overrides, f"hydra.sweeper.n_jobs={workers}"]
    launched, exited = _launch(cmd, workdir, _env())
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = JournalStorage(JournalFileBackend(str(workdir / "mlruns" / "optuna" / "journal.log")))
    (name,) = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    run = Run("nnexp", workers, launched, exited)
    for t in optuna.load_study(study_name=name, storage=storage).trials:
        if not t.state.is_finished():
            continue
        hist = Path(t.user_attrs.get("trial_dir", "")) / "history.json"
        fit = sum(json.loads(hist.read_text()).get("epoch_seconds", [])) if hist.is_file() else 0.0
        complete = t.state == optuna.trial.TrialState.COMPLETE
        run.trials.append(
            Trial(
                started=t.datetime_start.timestamp(),
                ended=t.datetime_complete.timestamp(),
                value=t.value if complete else None,
                test_accuracy=(t.user_attrs.get("test_metrics") or {}).get("test_accuracy"),
                epochs=int(t.user_attrs.get("epochs_run") or 0),
                fit_s=fit,
                worker=int(t.user_attrs.get("worker_pid") or 0),
            )
        )
    return run


def run_peer(python: Path, workdir: Path, overrides: Sequence[str], workers: int) -> Run:
    """The peer app swept by hydra-optuna-sweeper in ``workdir``; its trials from its own lines."""
    rows = workdir / "peer_trials.jsonl"
    cmd = [str(python), str(PEER_DIR / "app.py"), "-m", *overrides, f"hydra.sweeper.n_jobs={workers}"]
    if workers > 1:
        cmd += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}"]
    launched, exited = _launch(cmd, workdir, _env(PEER_TRIALS_FILE=str(rows)))
    run = Run("peer", workers, launched, exited)
    for line in rows.read_text().splitlines():
        r = json.loads(line)
        run.trials.append(
            Trial(
                r["started"],
                r["ended"],
                r["value"],
                r["test_accuracy"],
                int(r["epochs"]),
                r["fit_s"],
                r["pid"],
            )
        )
    return run


# -- the schedule -----------------------------------------------------------------------------


@dataclass
class Plan:
    """What to run for one workload."""

    workload: Workload
    seeds: tuple[int, ...]
    rounds: int
    trials: int
    workers: tuple[int, ...]
    epochs: int | None = None  #: None: the workload's 20
    probe: int = 5  #: trials of the 1-epoch probe sweep (0: none)


@dataclass
class Results:
    """Runs and probe walls per (side, workers)."""

    runs: dict[tuple[str, int], list[Run]] = field(default_factory=dict)
    probes: dict[tuple[str, int], list[float]] = field(default_factory=dict)


def _sweep(plan: Plan, python: Path, side: str, workdir: Path, extra: Sequence[str], workers: int) -> Run:
    if side == "nnexp":
        return run_nnexp(workdir, [*plan.workload.nnexp, *extra], workers)
    return run_peer(python, workdir, [*plan.workload.peer, *extra], workers)


def measure(plan: Plan, python: Path, root: Path) -> Results:
    """Every sweep of ``plan``, the two sides alternating who goes first."""
    res = Results()
    epochs = [f"trainer.epochs={plan.epochs}"] if plan.epochs else []
    turn = 0
    for rnd in range(1, plan.rounds + 1):
        for seed in plan.seeds:
            for w in plan.workers:
                extra = [
                    f"hydra.sweeper.n_trials={plan.trials}",
                    f"hydra.sweeper.sampler.seed={seed}",
                    *epochs,
                ]
                for side in ("nnexp", "peer") if turn % 2 == 0 else ("peer", "nnexp"):
                    where = root / plan.workload.name / f"r{rnd}-s{seed}-w{w}-{side}"
                    run = _sweep(plan, python, side, where, extra, w)
                    res.runs.setdefault((side, w), []).append(run)
                    best = run.winner()
                    print(
                        f"[bench] {plan.workload.name} round {rnd} seed {seed} {side} {w} worker(s): "
                        f"{run.wall:.1f} s, best {best.value if best else float('nan'):.4f}",
                        flush=True,
                    )
                turn += 1
        if plan.probe:
            probe_round(plan, python, root, rnd, res)
    return res


def probe_round(plan: Plan, python: Path, root: Path, rnd: int, res: Results) -> None:
    """One ``plan.probe``-trial sweep of 1-epoch trials per side and worker count."""
    extra = [f"hydra.sweeper.n_trials={plan.probe}", "hydra.sweeper.sampler.seed=0", "trainer.epochs=1"]
    for i, w in enumerate(plan.workers):
        for side in ("nnexp", "peer") if (rnd + i) % 2 else ("peer", "nnexp"):
            where = root / plan.workload.name / f"r{rnd}-probe-w{w}-{side}"
            run = _sweep(plan, python, side, where, extra, w)
            res.probes.setdefault((side, w), []).append(run.wall)
            print(f"[bench] {plan.workload.name} probe {side} {w} worker(s): {run.wall:.1f} s", flush=True)


# -- the table --------------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def _median_never(times: Sequence[float | None]) -> float | None:
    """The median of ``times`` where None is never (later than any time); None when that
    median is never or there are no times."""
    if not times:
        return None
    order = sorted(times, key=lambda t: float("inf") if t is None else t)
    mid = order[(len(order) - 1) // 2 : len(order) // 2 + 1]
    return None if None in mid else statistics.mean(mid)  # type: ignore[arg-type]


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else ""


def default_target(res: Results) -> float:
    """The median best validation accuracy over every run of the workload, both sides pooled."""
    bests = [r.winner().value for runs in res.runs.values() for r in runs if r.winner() is not None]
    return float(statistics.median(bests))  # type: ignore[type-var]


def _rows(res: Results, target: float, probe: int) -> list[tuple[str, dict[tuple[str, int], tuple]]]:
    """(label, {(side, workers): (text, number for the ratio or None)})."""
    rows: list[tuple[str, dict[tuple[str, int], tuple]]] = []

    def add(label: str, cell) -> None:  # cell: list[Run] -> (text, number)
        rows.append((label, {key: cell(runs) for key, runs in res.runs.items()}))

    def median_cell(fn, digits: int, ratio: bool = True):
        def cell(runs: list[Run]) -> tuple:
            m = _median([fn(r) for r in runs])
            return _fmt(m, digits), m if ratio else None

        return cell

    def reached(runs: list[Run]) -> tuple:
        times = [r.time_to(target) for r in runs]
        m = _median([t for t in times if t is not None])
        return f"{_fmt(m, 1)} ({sum(t is not None for t in times)}/{len(runs)})", m

    def paired(key: tuple[str, int]):
        """Seconds until each run's best so far reaches the best of the peer run with the same
        seed and round (the official sweeper's result); a run that never does counts as never."""
        peers = res.runs.get(("peer", key[1]), [])

        def cell(runs: list[Run]) -> tuple:
            times = [r.time_to(p.winner().value) for r, p in zip(runs, peers) if p.winner()]
            m = _median_never(times)
            return f"{_fmt(m, 1)} ({sum(t is not None for t in times)}/{len(times)})", m

        return cell

    def epochs(runs: list[Run]) -> tuple:
        e = [sum(t.epochs for t in r.trials) for r in runs]
        m = statistics.median(e)
        return f"{m:g} ({min(e)}-{max(e)})", m

    add("wall (s)", median_cell(lambda r: r.wall, 1))
    add("trials per minute", median_cell(lambda r: 60 * len(r.trials) / r.wall, 1))
    add("best val acc", median_cell(lambda r: r.winner().value if r.winner() else None, 4, False))
    add(
        "winner's test acc", median_cell(lambda r: r.winner().test_accuracy if r.winner() else None, 4, False)
    )
    add(f"time to val acc >= {target:.4f} (s) (runs reached)", reached)
    rows.append(
        (
            "time to the peer's best, paired by seed and round (s) (runs reached)",
            {key: paired(key)(runs) for key, runs in res.runs.items()},
        )
    )
    add("epochs trained, all trials (range)", epochs)
    add("fixed overhead: start-up, finish, one-offs (s)", median_cell(Run.fixed_overhead, 2))
    add("per-trial overhead besides training (s)", median_cell(Run.per_trial_overhead, 3))
    if res.probes:
        rows.append(
            (
                f"{probe}-trial sweep of 1-epoch trials (s)",
                {k: (_fmt(_median(v), 2), _median(v)) for k, v in res.probes.items()},
            )
        )
    return rows


def table(res: Results, target: float, probe: int) -> str:
    """A markdown table: per worker count, nnexp | peer | nnexp/peer."""
    workers = sorted({w for _, w in res.runs})
    head = "| |" + "".join(
        f" nnexp {w} worker{'s' * (w > 1)} | peer {w} worker{'s' * (w > 1)} | ratio |" for w in workers
    )
    lines = [head, "|---|" + "---:|---:|---:|" * len(workers)]
    for label, cells in _rows(res, target, probe):
        parts = [f"| {label} |"]
        for w in workers:
            (a_txt, a), (b_txt, b) = cells.get(("nnexp", w), ("-", None)), cells.get(("peer", w), ("-", None))
            parts.append(f" {a_txt} | {b_txt} | {_ratio(a, b)} |")
        lines.append("".join(parts))
    return "\n".join(lines)


def report(plan: Plan, res: Results, target: float, root: Path) -> None:
    """Print the workload's table with what it measured."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    n = len(plan.seeds) * plan.rounds
    print(
        f"\n{plan.workload.name}: {plan.trials} trials, {plan.epochs or 20} epochs, sampler seeds "
        f"{','.join(map(str, plan.seeds))} x {plan.rounds} round(s) = {n} run(s) per cell, medians; "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end; ratio = nnexp / peer"
    )
    print(table(res, target, plan.probe))
    print(f"sweep directories: {root / plan.workload.name}")


def _save(res: Results, path: Path) -> None:
    """The raw runs, for a second look (``runs.json``)."""
    data = {
        "runs": {
            f"{s}-{w}": [r.__dict__ | {"trials": [t.__dict__ for t in r.trials]} for r in runs]
            for (s, w), runs in res.runs.items()
        },
        "probes": {f"{s}-{w}": v for (s, w), v in res.probes.items()},
    }
    path.write_text(json.dumps(data, indent=1))


def _load(path: Path) -> Results:
    """Runs saved by :func:`_save` (``--table``)."""
    data = json.loads(path.read_text())
    res = Results()
    for key, runs in data["runs"].items():
        side, workers = key.rsplit("-", 1)
        res.runs[(side, int(workers))] = [
            Run(**{**r, "trials": [Trial(**t) for t in r["trials"]]}) for r in runs
        ]
    for key, walls in data["probes"].items():
        side, workers = key.rsplit("-", 1)
        res.probes[(side, int(workers))] = walls
    return res


def _pooled(paths: Sequence[Path]) -> dict[str, tuple[list[str], Results]]:
    """Saved runs by workload (``<workload>-runs.json``): the runs of several files of one
    workload pooled into one table (for example more seeds measured later)."""
    out: dict[str, tuple[list[str], Results]] = {}
    for path in paths:
        files, res = out.setdefault(path.name.removesuffix("-runs.json"), ([], Results()))
        files.append(str(path))
        saved = _load(path)
        for key, runs in saved.runs.items():
            res.runs.setdefault(key, []).extend(runs)
        for key, walls in saved.probes.items():
            res.probes.setdefault(key, []).extend(walls)
    return out


def plans(args: argparse.Namespace) -> list[Plan]:
    """The plans the arguments ask for (``--quick``: one tiny digits plan)."""
    if args.quick:
        return [Plan(WORKLOADS["digits"], (0,), 1, trials=3, workers=(1,), epochs=2, probe=2)]
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    out = []
    for name in names:
        wl = WORKLOADS[name]
        out.append(
            Plan(wl, tuple(args.seeds), args.rounds, args.trials or wl.trials, wl.workers, probe=args.probe)
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build the peer's venv if needed, run the plans, print one table each."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="a smoke run: digits, 1 worker, 3 trials of 2 epochs"
    )
    ap.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="sampler seeds (default 0 1 2)")
    ap.add_argument("--rounds", type=int, default=2, help="repeats of every seed (default 2)")
    ap.add_argument("--trials", type=int, default=None, help="trials per sweep (default: the workload's 30)")
    ap.add_argument("--probe", type=int, default=5, help="trials of the 1-epoch probe sweep (0: none)")
    ap.add_argument("--target", type=float, default=None, help="target val acc (default: pooled median best)")
    ap.add_argument("--peer-venv", type=Path, default=PEER_VENV, help=f"default {PEER_VENV}")
    ap.add_argument("--keep", type=Path, default=None, help="keep the sweep directories under this path")
    ap.add_argument(
        "--table",
        type=Path,
        nargs="+",
        help="print the tables of saved <workload>-runs.json files (files of one workload pooled)",
    )
    args = ap.parse_args(argv)
    for name, (files, res) in _pooled(args.table or ()).items():
        probe = 5 if res.probes else 0
        print(
            f"\n{name}: {len(next(iter(res.runs.values())))} run(s) per cell from {', '.join(files)}, "
            "medians; ratio = nnexp / peer"
        )
        print(table(res, args.target if args.target is not None else default_target(res), probe))
    if args.table:
        return 0
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    python = peer_python(args.peer_venv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="nnexp-bench-peer-"))
    root.mkdir(parents=True, exist_ok=True)
    for plan in plans(args):
        res = measure(plan, python, root)
        _save(res, root / f"{plan.workload.name}-runs.json")
        report(plan, res, args.target if args.target is not None else default_target(res), root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
