"""Optuna's study plots as PNG files (matplotlib backend, no plotly), for the parent run.

Only what MLflow's UI cannot draw from the trial runs: the best value so far per trial, the
parameter importances and every trial's per-epoch curve in one figure. A parallel-coordinate
plot is left to MLflow (the experiment's chart view draws one from the trial runs' params and
metrics, interactively); Optuna's took 0.6 s of a digits sweep's 2.8 s finish (measured with
``scripts/profile_startup.py``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

log = logging.getLogger(__name__)

PLOTS = (
    "optimization_history",
    "param_importances",
    "intermediate_values",
)


def study_plots(study: optuna.Study, out_dir: Path) -> list[Path]:
    """Optuna's plots (:data:`PLOTS`) as PNGs (matplotlib backend); plots that cannot be
    drawn are skipped."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    makers: dict[str, Callable[[optuna.Study], Any]] = {
        "optimization_history": ovm.plot_optimization_history,
        "param_importances": ovm.plot_param_importances,
        "intermediate_values": ovm.plot_intermediate_values,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return written  # every plot needs a completed trial
    reported = any(t.intermediate_values for t in study.get_trials(deepcopy=False))
    for name in PLOTS:
        if name == "intermediate_values" and not reported:  # an app that reports nothing
            continue
        try:
            with warnings.catch_warnings():  # Optuna's experimental notes, matplotlib's layout
                warnings.simplefilter("ignore")
                ax = makers[name](study)
                fig = ax.flat[0].figure if hasattr(ax, "flat") else ax.figure
                fig.set_size_inches(10, 6)
                fig.tight_layout()  # a many-panel plot cannot always fit: it is drawn anyway
            path = out_dir / f"{name}.png"
            fig.savefig(path, dpi=100)
            written.append(path)
        except Exception as exc:  # noqa: BLE001 - e.g. too few trials for importances
            log.info("plot %s skipped: %s", name, exc)
        finally:
            plt.close("all")
    return written
