"""``nnexp reproduce``: re-train a trial (the best by default) from scratch and verify it.

    nnexp reproduce --study digits                       # the best trial
    nnexp reproduce --study digits --trial 7 --register digits-mlp
    nnexp reproduce --run-id 0123abcd...                 # any nnexp-train run
    nnexp reproduce --study digits --trial 7 --seeds 3   # 3 new seeds: mean ± std

Exit status: 0 verified (identical, or within --tolerance in another environment), 1 mismatch,
2 refused (unknown study/trial, unfinished trial, changed data without --force), 3 tracking
store unreachable. With --seeds: 0 when every new seed trained.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from nnexp.cli.common import (
    add_out_dir_option,
    add_storage_option,
    add_tracking_option,
    open_study,
    subcommand,
    tracking_uri,
)
from nnexp.repro.errors import Refusal


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    """Register the subcommand."""
    p = subcommand(sub, "reproduce", "re-train a trial from scratch, compare, optionally register", __doc__)
    p.add_argument("--study", metavar="NAME", help="the study (see: nnexp studies)")
    add_storage_option(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--trial", type=int, metavar="N", help="trial number (default: the best trial)")
    which.add_argument(
        "--run-id", metavar="ID", help="the MLflow run to reproduce (a trial's or any nnexp-train run)"
    )
    add_tracking_option(p)
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        metavar="T",
        help="largest accepted |metric difference| when the environment differs (default: 0)",
    )
    p.add_argument("--force", action="store_true", help="re-train even though the data changed")
    p.add_argument(
        "--register",
        metavar="MODEL_NAME",
        help="register the verified model as a new version of MODEL_NAME (MLflow Model Registry)",
    )
    add_out_dir_option(p, "reproduced", "reproduce")
    p.add_argument(
        "--seeds",
        type=int,
        metavar="N",
        default=None,
        help="instead of reproducing, re-train with N new seeds (trainer.seed + 1 .. + N): mean ± std",
    )
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Select, re-train, compare, print; 0 when verified, 1 on a mismatch."""
    from nnexp.repro.app import is_app_study
    from nnexp.repro.reproduce import reproduce, target_for_run, target_for_trial
    from nnexp.repro.studies import select_trial
    from nnexp.tracking.links import open_run_hint
    from nnexp.tracking.masking import mask_secrets

    if args.tolerance < 0:
        raise Refusal(f"--tolerance must be >= 0, got {args.tolerance}")
    if args.seeds is not None and (args.seeds < 1 or args.register):
        raise Refusal(f"--seeds must be an integer >= 1 and goes without --register, got {args.seeds}")
    if args.study is None and args.run_id is None:
        raise Refusal("say what to reproduce: --study NAME [--trial N | --run-id ID], or --run-id ID")
    if args.study is None and args.trial is not None:
        raise Refusal("--trial needs --study")
    uri = tracking_uri(args.tracking_uri)
    if args.study is not None:
        _, study = open_study(args.study, args.storage)
        trial = select_trial(study, number=args.trial, run_id=args.run_id)
        if is_app_study(study):
            return run_app(args, study, trial, uri)
        target = target_for_trial(study, trial, uri)
    else:
        from nnexp.repro.source import fetch_run

        target = target_for_run(fetch_run(uri, args.run_id))
    out_dir = Path(
        args.out_dir or Path("outputs", "reproduce", time.strftime("%Y-%m-%d"), time.strftime("%H-%M-%S"))
    )
    print(f"original: {target.label}, {target.metric}={target.value!r}", flush=True)
    if args.seeds is not None:
        return run_seeds(args, target, uri, out_dir)
    rep = reproduce(
        target,
        tracking_uri=uri,
        out_dir=out_dir.resolve(),
        tolerance=args.tolerance,
        force=args.force,
        register=args.register,
        progress=not args.quiet,
        echo=lambda line: print(line, flush=True),
    )
    print(rep.comparison.report())
    print(
        f"reproduction run: {rep.run_id} (tag nnexp.reproduction_of={target.run.run_id}) "
        f"in {mask_secrets(uri)}"
    )
    print(f"  open it: {open_run_hint(uri, rep.experiment_id, rep.run_id)}")
    if args.register:
        if rep.model_version is None:
            print(f"not registered as {args.register!r}: the reproduction did not verify the original")
        else:
            from nnexp.repro.registry import serve_command

            v = rep.model_version.version
            print(f"registered: models:/{args.register}/{v} (model {rep.model_uri})")
            print(f"  serve it: {serve_command(args.register, v, uri)}")
    return 0 if rep.comparison.ok else 1


def run_app(args: argparse.Namespace, study: Any, trial: Any, uri: str) -> int:
    """Reproduce a trial of a Hydra app's sweep (:mod:`nnexp.repro.app`): 0 verified, 1 not."""
    from nnexp.repro.app import reproduce_app_trial
    from nnexp.tracking.links import open_run_hint
    from nnexp.tracking.masking import mask_secrets

    if args.seeds is not None or args.register:
        raise Refusal("--seeds and --register are for nnexp's trainer; an app's trial is rerun as recorded")
    print(f"original: trial {trial.number} of study {study.study_name!r}, objective {list(trial.values)}")
    rep = reproduce_app_trial(
        study, trial, tracking_uri=uri, tolerance=args.tolerance, echo=lambda s: print(s, flush=True)
    )
    print(rep.report())
    if rep.run_id:
        print(f"reproduction run: {rep.run_id} (tag nnexp.reproduction_of) in {mask_secrets(uri)}")
        print(f"  open it: {open_run_hint(uri, str(rep.experiment_id), rep.run_id)}")
    return 0 if rep.ok else 1


def run_seeds(args: argparse.Namespace, target: object, uri: str, out_dir: Path) -> int:
    """``--seeds N``: re-train with N new seeds, print mean ± std (:mod:`nnexp.repro.seeds`)."""
    from nnexp.repro.seeds import confirm_with_seeds, seeds_lines

    row, _ = confirm_with_seeds(
        target,  # type: ignore[arg-type]
        args.seeds,
        tracking_uri=uri,
        out_dir=out_dir.resolve(),
        progress=not args.quiet,
        echo=lambda line: print(line, flush=True),
    )
    for line in seeds_lines(target, row):  # type: ignore[arg-type]
        print(line)
    return 0
