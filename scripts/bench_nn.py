#!/usr/bin/env python
"""Benchmark nnexp's NumPy MLP against scikit-learn, PyTorch (CPU) and the GEMM-only floor on MNIST.

The network: 784-256-128-10 (``--hidden`` sets the two hidden widths), ReLU, softmax cross-entropy, Adam (lr 1e-3), batch 128, no dropout,
no L2, float32. Every framework trains on the same input (MNIST pixels / 255, float32; nnexp with
``scaling="none"`` so no one gets extra preprocessing) and is scored on the canonical 10k test set.

Interleaving: one epoch of each framework runs in turn (nnexp drives the loop: its per-epoch callback
runs one epoch of every other framework), so machine noise hits all alike. nnexp's epoch time is
the wall time between its callbacks, so it includes any per-epoch work ``fit`` does besides the
mini-batch loop. The GEMM floor is an epoch of only the matrix products of forward and backward
(8 sgemm per batch: 3 forward, 3 weight gradients, 2 input gradients) over the same batch shapes.

Peak memory (RSS high-water, ``VmHWM``) is taken in a fresh subprocess per framework that loads
MNIST and trains one epoch (``--memory-epochs``).

    .venv/bin/python scripts/bench_nn.py                 # 10 epochs, 2 BLAS threads
    .venv/bin/python scripts/bench_nn.py --quick         # smoke test: 1 epoch on 5000 rows
    .venv/bin/python scripts/bench_nn.py --epochs 5 --repeats 2 --json bench.json
    .venv/bin/python scripts/bench_nn.py --hidden 1024,1024 --epochs 3 --frameworks nnexp,gemm
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

LAYERS = (784, 256, 128, 10)
BATCH = 128
LR = 1e-3
FRAMEWORKS = ("nnexp", "sklearn", "pytorch", "gemm")
TARGETS = {"pytorch": 0.8, "sklearn": 0.7, "gemm": 2.0}
MEMORY_TARGET_MIB = 1024.0


# ----------------------------------------------------------------------------------------------
# data


def default_data_dir() -> Path:
    """``$NNEXP_DATA_DIR``, else ``../shared/data`` beside the repository."""
    env = os.environ.get("NNEXP_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


def load_mnist(data_dir: Path, max_train: int | None, seed: int) -> tuple[np.ndarray, ...]:
    """MNIST as (X_train, y_train, X_test, y_test): float32 pixels / 255 and int64 labels."""
    from nnexp.data import load_dataset

    ds = load_dataset("mnist", data_dir=data_dir, seed=seed, val_size=0, max_train_samples=max_train)
    scale = np.float32(1.0 / 255.0)
    X_train = ds.X_train
    X_train *= scale
    X_test = ds.X_test
    X_test *= scale
    return X_train, ds.y_train, X_test, ds.y_test


def flops_per_epoch(n_samples: int) -> float:
    """Matrix-product FLOPs of one training epoch: forward, weight gradients, input gradients
    (none for the input layer)."""
    pairs = list(pairwise(LAYERS))
    fwd = sum(2 * a * b for a, b in pairs)
    dW = fwd
    dX = sum(2 * a * b for a, b in pairs[1:])
    return float(n_samples * (fwd + dW + dX))


# ----------------------------------------------------------------------------------------------
# framework steppers: each trains one epoch per call and reports its test accuracy


class SklearnStepper:
    """scikit-learn MLPClassifier, one ``partial_fit`` (= one shuffled epoch, Adam state kept) per call."""

    name = "sklearn"

    def __init__(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        from sklearn.neural_network import MLPClassifier

        self.X, self.y = X, y
        self.classes = np.unique(y)
        self.clf = MLPClassifier(
            hidden_layer_sizes=LAYERS[1:-1],
            activation="relu",
            solver="adam",
            alpha=0.0,
            batch_size=BATCH,
            learning_rate_init=LR,
            shuffle=True,
            random_state=seed,
        )

    def epoch(self) -> float:
        """Train one epoch; return its wall seconds."""
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(self.X, self.y, classes=self.classes)
        return time.perf_counter() - t0

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Test accuracy."""
        return float(self.clf.score(X, y))


class TorchStepper:
    """PyTorch on the CPU: nn.Sequential of Linear/ReLU, Adam, cross-entropy, shuffled batches."""

    name = "pytorch"

    def __init__(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        import torch
        from torch import nn

        self.torch = torch
        torch.manual_seed(seed)
        mods: list[nn.Module] = []
        for i, (a, b) in enumerate(pairwise(LAYERS)):
            mods.append(nn.Linear(a, b))
            if i < len(LAYERS) - 2:
                mods.append(nn.ReLU())
        self.model = nn.Sequential(*mods)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.loss = nn.CrossEntropyLoss()
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(y)
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self) -> float:
        """Train one epoch; return its wall seconds."""
        torch = self.torch
        t0 = time.perf_counter()
        self.model.train()
        perm = torch.randperm(len(self.y), generator=self.gen)
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss(self.model(self.X[idx]), self.y[idx])
            loss.backward()
            self.opt.step()
        return time.perf_counter() - t0

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Test accuracy."""
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            pred = self.model(torch.from_numpy(X)).argmax(dim=1).numpy()
        return float((pred == y).mean())


class GemmStepper:
    """Only the 8 matrix products per batch of forward + backward, into preallocated buffers."""

    name = "gemm"

    def __init__(self, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.X = X
        self.W = [
            (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32) for a, b in pairwise(LAYERS)
        ]
        self.bufs: dict[int, dict[str, np.ndarray]] = {}

    def _buffers(self, m: int) -> dict[str, np.ndarray]:
        if m not in self.bufs:
            f = np.float32
            self.bufs[m] = {
                "h1": np.empty((m, LAYERS[1]), f),
                "h2": np.empty((m, LAYERS[2]), f),
                "z3": np.empty((m, LAYERS[3]), f),
                "d2": np.empty((m, LAYERS[2]), f),
                "d1": np.empty((m, LAYERS[1]), f),
                "g1": np.empty(self.W[0].shape, f),
                "g2": np.empty(self.W[1].shape, f),
                "g3": np.empty(self.W[2].shape, f),
            }
        return self.bufs[m]

    def epoch(self) -> float:
        """One epoch of products; return its wall seconds."""
        W1, W2, W3 = self.W
        X = self.X
        mm = np.matmul
        t0 = time.perf_counter()
        for i in range(0, len(X), BATCH):
            xb = X[i : i + BATCH]
            b = self._buffers(len(xb))
            mm(xb, W1, out=b["h1"])
            mm(b["h1"], W2, out=b["h2"])
            mm(b["h2"], W3, out=b["z3"])
            mm(b["h2"].T, b["z3"], out=b["g3"])
            mm(b["z3"], W3.T, out=b["d2"])
            mm(b["h1"].T, b["d2"], out=b["g2"])
            mm(b["d2"], W2.T, out=b["d1"])
            mm(xb.T, b["d1"], out=b["g1"])
        return time.perf_counter() - t0

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Not a model: no accuracy."""
        return float("nan")


def make_nnexp(epochs: int, seed: int) -> Any:
    """nnexp's MLP configured as the benchmark network (contract: docs/ARCHITECTURE.md)."""
    from nnexp.nn import MLP

    return MLP(
        depth=2,
        width=list(LAYERS[1:-1]),
        activation="relu",
        dropout=0.0,
        l2=0.0,
        optimizer="adam",
        lr=LR,
        batch_size=BATCH,
        epochs=epochs,
        seed=seed,
        dtype="float32",
        early_stopping=False,
        scaling="none",
    )


# ----------------------------------------------------------------------------------------------
# measurements


def sgemm_peak(n: int, reps: int = 5) -> float:
    """Best GFLOP/s of an n x n x n float32 matrix product (numpy's BLAS, current thread limits)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    np.matmul(a, b, out=c)  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def run_interleaved(
    frameworks: list[str],
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    epochs: int,
    seed: int,
    repeat: int,
) -> dict[str, dict[str, Any]]:
    """Train every framework for ``epochs`` epochs, one epoch each in turn; return times/accuracy.

    The order of the others rotates with ``repeat`` so no framework always runs right after another.
    """
    others: list[Any] = []
    for fw in frameworks:
        if fw == "sklearn":
            others.append(SklearnStepper(X, y, seed))
        elif fw == "pytorch":
            others.append(TorchStepper(X, y, seed))
        elif fw == "gemm":
            others.append(GemmStepper(X, y, seed))
    if others:
        k = repeat % len(others)
        others = others[k:] + others[:k]
    times: dict[str, list[float]] = {s.name: [] for s in others}

    def step_others() -> None:
        for s in others:
            times[s.name].append(s.epoch())

    result: dict[str, dict[str, Any]] = {}
    if "nnexp" in frameworks:
        model = make_nnexp(epochs, seed)
        nn_times: list[float] = []
        mark = [0.0]

        def callback(m: Any, record: dict[str, float]) -> None:
            nn_times.append(time.perf_counter() - mark[0])
            step_others()
            mark[0] = time.perf_counter()

        mark[0] = time.perf_counter()
        model.fit(X, y, callbacks=[callback])
        if len(nn_times) != epochs:
            raise RuntimeError(f"nnexp ran {len(nn_times)} epochs, expected {epochs} ({model.stop_reason_})")
        own = [float(v) for v in getattr(model, "history_", {}).get("epoch_seconds", [])]
        result["nnexp"] = {
            "epoch_seconds": nn_times,
            "fit_epoch_seconds": own,
            "accuracy": float(model.score(X_test, y_test)),
        }
    else:
        for _ in range(epochs):
            step_others()
    for s in others:
        result[s.name] = {"epoch_seconds": times[s.name], "accuracy": s.accuracy(X_test, y_test)}
    return result


def peak_rss_mib() -> float:
    """This process's RSS high-water mark in MiB: ``VmHWM`` from /proc (per address space, reset
    by exec), else ``ru_maxrss`` (which on Linux carries the parent's peak across fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def memory_child(framework: str, data_dir: Path, epochs: int, max_train: int | None, seed: int) -> None:
    """(In a fresh subprocess) load MNIST, train ``epochs`` epochs, print RSS high-water as JSON."""
    X, y, _, _ = load_mnist(data_dir, max_train, seed)
    after_load = peak_rss_mib()
    if framework == "nnexp":
        make_nnexp(epochs, seed).fit(X, y)
    elif framework != "none":
        stepper = {"sklearn": SklearnStepper, "pytorch": TorchStepper, "gemm": GemmStepper}[framework](
            X, y, seed
        )
        for _ in range(epochs):
            stepper.epoch()
    peak = peak_rss_mib()
    print(json.dumps({"framework": framework, "maxrss_mib": peak, "maxrss_after_load_mib": after_load}))


def measure_memory(
    framework: str, data_dir: Path, epochs: int, max_train: int | None, seed: int, threads: int
) -> dict[str, float] | None:
    """Run :func:`memory_child` in a subprocess; None if it failed."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", framework,
           "--data-dir", str(data_dir), "--memory-epochs", str(epochs), "--seed", str(seed),
           "--threads", str(threads), "--hidden", ",".join(map(str, LAYERS[1:-1]))]  # fmt: skip
    if max_train is not None:
        cmd += ["--max-train", str(max_train)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"[bench] memory run for {framework} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------
# report


def _fmt_ratio(value: float | None, target: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if target is None:
        return f"{value:.2f}x"
    return f"{value:.2f}x (target <= {target:g}x: {'PASS' if value <= target else 'FAIL'})"


def report(res: dict[str, Any]) -> str:
    """The human-readable table."""
    lines: list[str] = []
    env = res["environment"]
    lines.append(
        f"MNIST {res['n_train']} train / {res['n_test']} test, {res['epochs']} epochs x {res['repeats']} "
        f"repeat(s), {res['threads']} BLAS thread(s), network {'-'.join(map(str, LAYERS))} relu adam "
        f"batch {BATCH}, float32"
    )
    lines.append(f"BLAS: {env['blas']}; OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} "
                 f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}; cpu: {env['cpu']}")  # fmt: skip
    lines.append(f"load average before: {res['loadavg_before']}, after: {env['loadavg']} "
                 "(other processes on these cores inflate and scatter the timings)")  # fmt: skip
    lines.append("")
    lines.append(
        f"{'framework':<10} {'s/epoch (median)':>17} {'min':>8} {'max':>8} {'GFLOP/s':>8} {'test acc':>9}"
    )
    for fw, r in res["frameworks"].items():
        acc = r["accuracy"]
        acc_s = f"{100 * acc:8.2f}%" if np.isfinite(acc) else f"{'-':>9}"
        lines.append(
            f"{fw:<10} {r['median_s']:17.3f} {r['min_s']:8.3f} {r['max_s']:8.3f} {r['gflops']:8.1f} {acc_s}"
        )
    lines.append("")
    lines.append(f"sgemm peak ({res['sgemm_n']}^3, float32): {res['sgemm_peak_gflops']:.1f} GFLOP/s")
    ratios = res["ratios"]
    if "nnexp" in res["frameworks"]:
        for other, label in (
            ("pytorch", "PyTorch CPU"),
            ("sklearn", "sklearn (float32)"),
            ("gemm", "GEMM floor"),
        ):
            if other in ratios:
                lines.append(f"nnexp / {label:<18} {_fmt_ratio(ratios[other], TARGETS[other])}")
        nn = res["frameworks"]["nnexp"]
        lines.append(
            f"nnexp GFLOP/s: {nn['gflops']:.1f} = {100 * nn['gflops'] / res['sgemm_peak_gflops']:.0f}% of the "
            f"measured sgemm peak (GEMM floor epoch: "
            f"{100 * res['frameworks'].get('gemm', {}).get('gflops', float('nan')) / res['sgemm_peak_gflops']:.0f}%)"
        )
        accs = {fw: r["accuracy"] for fw, r in res["frameworks"].items() if np.isfinite(r["accuracy"])}
        if len(accs) > 1:
            best_other = max(v for k, v in accs.items() if k != "nnexp")
            gap = 100 * (accs["nnexp"] - best_other)
            verdict = "PASS" if gap >= -0.5 else "FAIL"
            lines.append(
                f"accuracy: nnexp {100 * accs['nnexp']:.2f}% vs best other {100 * best_other:.2f}% "
                f"({gap:+.2f} pt; target: equal within 0.5 pt, ~98% after 10 epochs: {verdict})"
            )
        if nn.get("fit_epoch_seconds_median") is not None:
            lines.append(f"nnexp history_['epoch_seconds'] median: {nn['fit_epoch_seconds_median']:.3f} s")
    mem = res.get("memory") or {}
    if mem:
        lines.append("")
        lines.append(f"peak RSS (VmHWM, fresh process: load MNIST + {res['memory_epochs']} epoch(s)):")
        for fw, m in mem.items():
            if m is None:
                lines.append(f"  {fw:<8} failed")
                continue
            tgt = ""
            if fw == "nnexp":
                ok = m["maxrss_mib"] <= MEMORY_TARGET_MIB
                tgt = f"  (target < 1 GiB: {'PASS' if ok else 'FAIL'})"
            lines.append(
                f"  {fw:<8} {m['maxrss_mib']:7.0f} MiB (after data load {m['maxrss_after_load_mib']:.0f} MiB){tgt}"
            )
    return "\n".join(lines)


def environment() -> dict[str, str]:
    """BLAS and CPU facts worth printing next to timings."""
    from threadpoolctl import threadpool_info

    blas = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} thr, "
        f"{Path(i.get('filepath', '')).name})"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "blas": "; ".join(blas) or "unknown",
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "loadavg": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


# ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    global LAYERS
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data-dir", type=Path, default=None, help="holds mnist/ (default $NNEXP_DATA_DIR or ../shared/data)"
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=1, help="interleaved runs (framework order rotates)")
    p.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads for every framework")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="comma list of " + ",".join(FRAMEWORKS))
    p.add_argument("--max-train", type=int, default=None, help="cap training rows (stratified)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--hidden",
        default=",".join(map(str, LAYERS[1:-1])),
        help="the two hidden widths (default 256,128; e.g. 1024,1024 for wide layers)",
    )
    p.add_argument("--sgemm-n", type=int, default=2048, help="size of the square sgemm for the peak")
    p.add_argument("--memory-epochs", type=int, default=1, help="epochs in each peak-memory subprocess")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument(
        "--quick", action="store_true", help="smoke test: 1 epoch, 5000 training rows, small sgemm"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        hidden = tuple(int(w) for w in args.hidden.split(","))
    except ValueError:
        hidden = ()
    if len(hidden) != 2 or min(hidden) < 1:
        p.error(f"--hidden takes two positive widths like 1024,1024 (got {args.hidden!r})")
    LAYERS = (LAYERS[0], *hidden, LAYERS[-1])
    if args.quick:
        args.epochs = 1
        args.max_train = args.max_train or 5000
        args.sgemm_n = min(args.sgemm_n, 1024)
    args.data_dir = args.data_dir or default_data_dir()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from threadpoolctl import threadpool_limits

    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown:
        print(f"unknown framework(s) {unknown}; choose from {FRAMEWORKS}", file=sys.stderr)
        return 2
    wants_torch = args.memory_child == "pytorch" if args.memory_child else "pytorch" in frameworks
    if wants_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            if args.memory_child:
                raise
            print("[bench] PyTorch not importable: skipping it", file=sys.stderr)
            frameworks.remove("pytorch")

    with threadpool_limits(limits=args.threads):
        if args.memory_child:
            memory_child(args.memory_child, args.data_dir, args.memory_epochs, args.max_train, args.seed)
            return 0

        loadavg_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
        X, y, X_test, y_test = load_mnist(args.data_dir, args.max_train, args.seed)
        peak = sgemm_peak(args.sgemm_n)
        runs: list[dict[str, dict[str, Any]]] = []
        for r in range(args.repeats):
            print(
                f"[bench] repeat {r + 1}/{args.repeats}: {', '.join(frameworks)} ...",
                file=sys.stderr,
                flush=True,
            )
            runs.append(run_interleaved(frameworks, X, y, X_test, y_test, args.epochs, args.seed + r, r))
        peak = max(peak, sgemm_peak(args.sgemm_n))  # again after the runs; keep the best
        env = environment()  # inside the limits, so the BLAS thread counts shown are those used

    flops = flops_per_epoch(len(y))
    fw_res: dict[str, dict[str, Any]] = {}
    for fw in frameworks:
        secs = [t for run in runs for t in run[fw]["epoch_seconds"]]
        med = statistics.median(secs)
        entry: dict[str, Any] = {
            "epoch_seconds": secs,
            "median_s": med,
            "min_s": min(secs),
            "max_s": max(secs),
            "gflops": flops / med / 1e9,
            "accuracy": float(np.mean([run[fw]["accuracy"] for run in runs])),
        }
        if fw == "nnexp":
            own = [t for run in runs for t in run[fw].get("fit_epoch_seconds", [])]
            entry["fit_epoch_seconds_median"] = statistics.median(own) if own else None
        fw_res[fw] = entry
    ratios = {}
    if "nnexp" in fw_res:
        ratios = {
            fw: fw_res["nnexp"]["median_s"] / r["median_s"] for fw, r in fw_res.items() if fw != "nnexp"
        }

    memory: dict[str, Any] = {}
    if not args.no_memory:
        for fw in ["none", *[f for f in frameworks if f != "gemm"]]:
            memory[fw] = measure_memory(
                fw, args.data_dir, args.memory_epochs, args.max_train, args.seed, args.threads
            )

    res = {
        "n_train": len(y),
        "n_test": len(y_test),
        "epochs": args.epochs,
        "repeats": args.repeats,
        "threads": args.threads,
        "sgemm_n": args.sgemm_n,
        "sgemm_peak_gflops": peak,
        "flops_per_epoch": flops,
        "frameworks": fw_res,
        "ratios": ratios,
        "memory": memory,
        "memory_epochs": args.memory_epochs,
        "environment": env,
        "loadavg_before": loadavg_before,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    print(report(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
