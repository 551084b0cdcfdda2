"""``nnexp reproduce --seeds N``: one trial (or run) re-trained with N new seeds, mean ± std.

The same confirmation a sweep runs for its top trials (``hydra.sweeper.confirm``,
:mod:`nnexp.search.confirmation`), for one trial, from its recorded config: seeds ``trainer.seed``
+ 1 .. + N, each a run under the sweep's parent run (``nnexp.role=confirmation``, tagged with
the trial and run it confirms and its seed). The mean leaves the original run out (it was
selected for being high: the winner's curse).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from nnexp.contract import (
    CONFIRM_SEED_TAG,
    CONFIRMS_RUN_TAG,
    CONFIRMS_TAG,
    PARENT_RUN_TAG,
    ROLE_CONFIRMATION,
    ROLE_TAG,
    STUDY_TAG,
)
from nnexp.repro.reproduce import Target, load_data, prepare_config
from nnexp.search.confirmation import ConfirmedTrial, new_seeds, seed_overrides
from nnexp.search.winner import HEADLINE
from nnexp.tracking.run_names import confirmation_label


def confirm_with_seeds(
    target: Target,
    seeds: int,
    *,
    tracking_uri: str,
    out_dir: Path,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> tuple[ConfirmedTrial, list[str]]:
    """Re-train ``target.run`` with ``seeds`` new seeds; (its row, the new runs' ids)."""
    from nnexp.repro.reproduce import check_data
    from nnexp.train.trainer import best_of, run_training

    orig = target.run
    number = target.trial if target.trial is not None else -1
    row = ConfirmedTrial(number, 1, float(target.value))
    mode = "max" if target.direction == "maximize" else "min"
    parent = orig.tags.get(PARENT_RUN_TAG)
    run_ids: list[str] = []
    for seed in new_seeds(orig.seed, seeds):
        cfg = prepare_config(orig, tracking_uri, out_dir / f"seed_{seed}", progress)
        for key, value in seed_overrides(cfg, seed).items():
            OmegaConf.update(cfg, key, value, merge=False)
        check_data(orig, load_data(cfg), force=False)  # the same data, or a refusal
        tags: dict[str, Any] = {
            ROLE_TAG: ROLE_CONFIRMATION,
            CONFIRMS_RUN_TAG: orig.run_id,
            CONFIRM_SEED_TAG: seed,
        }
        if target.study is not None:
            tags.update({STUDY_TAG: target.study, CONFIRMS_TAG: target.trial})
        name = (
            confirmation_label({CONFIRMS_TAG: target.trial, CONFIRM_SEED_TAG: seed}) if target.study else None
        )
        echo(f"re-training {target.label} with the new seed {seed}")
        result = run_training(
            cfg,
            parent_run_id=parent,
            run_name=name or f"confirm-{orig.run_name} seed={seed}",
            extra_tags=tags,
            log_model=False,
        )
        value = best_of(result.history.get(target.metric, []), mode)
        row.seeds.append(seed)
        row.values.append(float(value) if math.isfinite(value) else math.nan)
        for key in (k for keys in HEADLINE.values() for k in keys):
            if key in (result.test_metrics or {}):
                row.test.setdefault(key, []).append(float(result.test_metrics[key]))
        run_ids.append(str(result.run_id))
        echo(f"  seed {seed}: {target.metric}={value:.4f} (run {result.run_id})")
    return row, run_ids


def seeds_lines(target: Target, row: ConfirmedTrial) -> list[str]:
    """What ``nnexp reproduce --seeds`` prints at the end."""
    lines = [
        f"{target.label}: {target.metric} {row.mean:.4f} ± {row.std:.4f} over {len(row.values)} new "
        f"seed(s) {row.seeds} (per seed: {', '.join(f'{v:.4f}' for v in row.values)}); the original "
        f"run's {target.value:.4f} is left out of the mean"
    ]
    if row.test:
        lines.append(f"test score over the same seeds: {row.test_text()}")
    return lines
