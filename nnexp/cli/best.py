"""``nnexp best``: the best trial of a study, and its config as a file ``nnexp-train`` re-runs.

nnexp best --study digits
nnexp-train --config-path $PWD/outputs/best --config-name digits   # what it prints
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nnexp.cli.common import (
    add_storage_option,
    add_tracking_option,
    format_value,
    open_study,
    subcommand,
    tracking_uri,
)
from nnexp.contract import RUN_ID_ATTR, STUDY_CONFIRMED, STUDY_PARENT_RUN, TRIAL_DIR_ATTR
from nnexp.repro.errors import Refusal


def add_parser(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    """Register the subcommand."""
    p = subcommand(sub, "best", "print a study's best trial and write its config for nnexp-train", __doc__)
    p.add_argument("--study", required=True, metavar="NAME", help="the study (see: nnexp studies)")
    add_storage_option(p)
    add_tracking_option(p)
    p.add_argument(
        "--out",
        metavar="DIR",
        default="outputs/best",
        help="directory for the config file (default: outputs/best)",
    )
    p.add_argument(
        "--name",
        metavar="NAME",
        default=None,
        help="config name, i.e. file NAME.yaml (default: the study name)",
    )
    p.set_defaults(func=run)


def trial_config(trial: Any, study: Any, uri: str | None) -> tuple[dict[str, Any], int | None, str, str]:
    """``(config, BLAS threads, where from, sweep metric)`` of a trial: its MLflow run's record,
    else the ``config.yaml`` the worker wrote into the trial directory."""
    run_id = trial.user_attrs.get(RUN_ID_ATTR)
    if run_id and uri is not None:
        from nnexp.repro.reproduce import sweep_metric
        from nnexp.repro.source import fetch_run

        run = fetch_run(uri, run_id)
        metric = sweep_metric(run, study.user_attrs.get(STUDY_PARENT_RUN))
        return run.config, run.blas_threads(), f"MLflow run {run_id}", metric
    local = Path(trial.user_attrs.get(TRIAL_DIR_ATTR) or "") / "config.yaml"
    if trial.user_attrs.get(TRIAL_DIR_ATTR) and local.exists():
        import yaml

        return yaml.safe_load(local.read_text()) or {}, None, str(local), "value"
    raise Refusal(f"trial {trial.number} recorded no config (no MLflow run, no {local})")


def run(args: argparse.Namespace) -> int:
    """Print the best trial; write ``<out>/<name>.yaml``; print the command that re-runs it."""
    from nnexp.repro.app import is_app_study
    from nnexp.repro.config import config_name, rerunnable, write_standalone
    from nnexp.repro.studies import select_trial
    from nnexp.search import state_counts
    from nnexp.tracking.masking import mask_secrets

    url, study = open_study(args.study, args.storage)
    if is_app_study(study):
        return run_app(args, url, study)
    best = select_trial(study)  # refuses when nothing completed
    try:
        uri: str | None = tracking_uri(args.tracking_uri)
    except Refusal:
        uri = None  # no MLflow store here: the trial directory's config may still be there
    config, threads, origin, metric = trial_config(best, study, uri)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(state_counts(study.get_trials(deepcopy=False)).items()))
    run_id = best.user_attrs.get(RUN_ID_ATTR)
    name = config_name(args.name or args.study)
    out_dir = Path(args.out).expanduser().resolve()
    path = write_standalone(
        rerunnable(config, threads),
        out_dir / f"{name}.yaml",
        header=[
            f"Best trial {best.number} of study {args.study!r}: {metric}={best.value!r}",
            f"Recorded in {origin}; seed {config.get('trainer', {}).get('seed')}.",
            f"Re-run: nnexp-train --config-path {out_dir} --config-name {name}",
        ],
    )
    print(
        f"study {args.study!r} ({mask_secrets(url)}): {len(study.trials)} trials ({counts}), "
        f"{study.direction.name.lower()} {metric}"
    )
    print(f"best trial: {best.number}")
    print(f"  {metric}: {format_value(best.value)} ({best.value!r})")
    confirmed = study.user_attrs.get(STUDY_CONFIRMED) or {}
    if confirmed.get("trial") == best.number:  # chosen by the mean over new seeds
        print(
            f"  confirmed: {metric} {confirmed['mean']:.4f} ± {confirmed['std']:.4f} over "
            f"{confirmed['n']} new seed(s) (hydra.sweeper.confirm; the search run left out)"
        )
    print("  params: " + ", ".join(f"{k}={v}" for k, v in best.params.items()))
    print(f"  MLflow run: {run_id or '-'}")
    print(f"config: {path}")
    print(f"re-run it: nnexp-train --config-path {out_dir} --config-name {name}")
    return 0


def run_app(args: argparse.Namespace, url: str, study: Any) -> int:
    """A Hydra app's study: the best trial (or the Pareto front), its resolved config written
    as ``<out>/<name>.yaml``, and the app command that runs it once."""
    from nnexp.contract import STUDY_APP
    from nnexp.repro.app import trial_config as app_trial_config
    from nnexp.repro.config import config_name
    from nnexp.repro.studies import select_trial
    from nnexp.search.results import pareto_front, study_directions
    from nnexp.tracking.masking import mask_secrets

    front = pareto_front(study)
    best = front[0] if front else select_trial(study)
    cfg = app_trial_config(best)
    name = config_name(args.name or args.study)
    out_dir = Path(args.out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    from omegaconf import OmegaConf

    path = out_dir / f"{name}.yaml"
    path.write_text(f"# Trial {best.number} of study {args.study!r}, objective {list(best.values)}\n")
    with open(path, "a") as fh:
        fh.write(OmegaConf.to_yaml(cfg))
    print(
        f"study {args.study!r} ({mask_secrets(url)}): {len(study.trials)} trials, {'/'.join(study_directions(study))}"
    )
    for t in front or [best]:
        print(f"{'Pareto trial' if front else 'best trial'}: {t.number} objective {list(t.values)}")
        print("  params: " + ", ".join(f"{k}={v}" for k, v in t.params.items()))
        print(f"  MLflow run: {t.user_attrs.get(RUN_ID_ATTR) or '-'}")
    print(f"config: {path}")
    app = study.user_attrs[STUDY_APP]
    print(f"run it: python {app.get('file')} --config-path {out_dir} --config-name {name}")
    return 0
