#!/usr/bin/env python
"""What tracking adds to one fresh ``nnexp-train`` run: wall time with tracking on vs off.

Each measurement is a fresh process (``python -c 'from nnexp.cli.train import main; main()'``,
exactly what the ``nnexp-train`` console script runs), timed from launch to exit. Tracking on and
off alternate, so machine noise hits both alike; every variant first does one untimed run of
each, so the MLflow store exists and file caches are warm, as for a user's second run. The extra
cost is median(on) - median(off). Tracking on means the defaults: params, per-epoch metrics,
tags, dataset inputs, artifacts, plots and the servable model.

``--ref NAME=REV`` (repeatable) also measures the code of a git revision, e.g. a tracking design
kept on another commit (exported with ``git archive`` to a temporary directory and put first on
``PYTHONPATH``, so the installed dependencies are the same), interleaved with the checkout's:
one table, one row per candidate.

    .venv/bin/python scripts/bench_startup.py                      # checkout, 7 pairs
    .venv/bin/python scripts/bench_startup.py --ref agent=main --repeats 9
    .venv/bin/python scripts/bench_startup.py -- trainer.epochs=30 # extra Hydra overrides
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What ``nnexp-train`` runs (the console script's entry point).
ENTRY = "from nnexp.cli.train import main; main()"
#: The issue's budget for what tracking may add to a single run, in seconds.
BUDGET_S = 2.0


@contextlib.contextmanager
def exported(ref: str) -> Iterator[Path]:
    """The tree of git revision ``ref`` in a temporary directory (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="nnexp-bench-") as tmp:
        archive = Path(tmp) / "tree.tar"
        subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), ref], check=True
        )
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "tree", filter="data")
        yield Path(tmp) / "tree"


def one_run(tree: Path, cwd: Path, tracking: bool, overrides: list[str]) -> tuple[float, float]:
    """Seconds from launch to exit of one fresh ``nnexp-train`` process, and the CPU seconds of
    it and its children (raises if it fails)."""
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    env["PYTHONPATH"] = str(tree) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [
        sys.executable,
        "-c",
        ENTRY,
        f"tracking.enabled={'true' if tracking else 'false'}",
        "trainer.progress=false",
        f"hydra.run.dir={cwd / 'out'}",
        *overrides,
    ]
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(cmd[3:])}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds, cpu


def _children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    trees: dict[str, Path], repeats: int, overrides: list[str], work: Path
) -> dict[str, dict[str, list[float]]]:
    """``{variant: {"on": [s...], "off": [s...], "cpu on": [...], "cpu off": [...]}}``, on/off
    and variants interleaved."""
    times: dict[str, dict[str, list[float]]] = {
        name: {"on": [], "off": [], "cpu on": [], "cpu off": []} for name in trees
    }
    cwds = {name: work / name for name in trees}
    for name, tree in trees.items():  # warm-up: the store exists, caches are warm
        cwds[name].mkdir()
        for tracking in (True, False):
            one_run(tree, cwds[name], tracking, overrides)
    for i in range(repeats):
        order = (True, False) if i % 2 == 0 else (False, True)
        for name, tree in trees.items():
            for tracking in order:
                seconds, cpu = one_run(tree, cwds[name], tracking, overrides)
                times[name]["on" if tracking else "off"].append(seconds)
                times[name]["cpu on" if tracking else "cpu off"].append(cpu)
        done = ", ".join(f"{n} on {t['on'][-1]:.2f}s off {t['off'][-1]:.2f}s" for n, t in times.items())
        print(f"pair {i + 1}/{repeats}: {done}", flush=True)
    return times


def table(times: dict[str, dict[str, list[float]]]) -> str:
    """Markdown table of medians per variant: wall time, and CPU time (all processes of a run:
    what a busy machine cannot hide by giving an extra process its own share)."""
    rows = [
        "| code | off (median s) | on (median s) | extra (s) | budget | CPU off (s) | CPU on (s) | CPU extra (s) |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name, t in times.items():
        off, on = statistics.median(t["off"]), statistics.median(t["on"])
        cpu_off, cpu_on = statistics.median(t["cpu off"]), statistics.median(t["cpu on"])
        extra = on - off
        ok = "within" if extra < BUDGET_S else "over"
        rows.append(
            f"| {name} | {off:.2f} | {on:.2f} | {extra:+.2f} | {ok} {BUDGET_S:g} s "
            f"| {cpu_off:.2f} | {cpu_on:.2f} | {cpu_on - cpu_off:+.2f} |"
        )
    return "\n".join(rows)


def _load() -> str:
    """The 1-minute load average (how busy the machine was)."""
    return f"{os.getloadavg()[0]:.2f}"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=7, help="on/off pairs per variant (default 7)")
    parser.add_argument(
        "--ref", metavar="NAME=REV", action="append", default=[], help="also measure a git revision"
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run (after --)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    load_before = _load()
    with contextlib.ExitStack() as stack:
        trees: dict[str, Path] = {}
        for ref in args.ref:
            name, _, rev = ref.partition("=")
            if not rev:
                parser.error(f"--ref {ref!r}: expected NAME=REV")
            trees[f"{name} ({rev})"] = stack.enter_context(exported(rev))
        trees["checkout"] = REPO
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nnexp-bench-runs-")))
        names = {name: f"v{i}" for i, name in enumerate(trees)}
        renamed = measure({names[n]: p for n, p in trees.items()}, args.repeats, args.overrides, work)
        times = {n: renamed[names[n]] for n in trees}
    print(
        f"\nnnexp-train {' '.join(args.overrides) or '(defaults: digits)'}; {args.repeats} alternating "
        f"pairs of fresh processes, {os.cpu_count()} CPUs; load average before {load_before}, "
        f"after {_load()}"
    )
    print(table(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
