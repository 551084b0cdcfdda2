"""Optuna's study plots as PNG files (matplotlib backend, no plotly), for the parent run."""

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
    "parallel_coordinate",
    "intermediate_values",
)


def study_plots(study: optuna.Study, out_dir: Path) -> list[Path]:
    """Optuna's four plots as PNGs (matplotlib backend); plots that cannot be drawn are skipped."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    makers: dict[str, Callable[[optuna.Study], Any]] = {
        "optimization_history": ovm.plot_optimization_history,
        "param_importances": ovm.plot_param_importances,
        "parallel_coordinate": ovm.plot_parallel_coordinate,
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
