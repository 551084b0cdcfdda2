"""``nnexp-train``: the Hydra app for one training run (or a sweep's trial).

    nnexp-train                                   # digits, default MLP, tracked in ./mlruns
    nnexp-train model.depth=3 optimizer=sgd optimizer.lr=0.05 trainer.epochs=30
    nnexp-train --cfg job                         # print the composed config
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import hydra
from omegaconf import DictConfig

import nnexp
from nnexp.config.overrides import check_overrides
from nnexp.config.schema import register_configs
from nnexp.config.validate import ConfigError, validate

#: The top-level ``conf/`` directory (the project is installed editable).
CONF_DIR = Path(nnexp.__file__).resolve().parents[1] / "conf"

register_configs()


def _fail(message: str, code: int) -> NoReturn:
    print(f"nnexp-train: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> float:
    """Validate, train, print the summary; return the best value of the monitored metric."""
    # --- sweep worker dispatch (owned by nnexp.search; `-m hparams_search=...` jobs) ---------
    from nnexp.search.worker import is_sweep_worker, run_worker_job

    if is_sweep_worker():
        return run_worker_job(cfg)
    # -------------------------------------------------------------------------------------------
    from nnexp.cli.summary import format_summary
    from nnexp.tracking.store import TrackingUnavailable
    from nnexp.train.trainer import run_training

    try:
        validate(cfg)
        result = run_training(cfg, tracking_process=True)  # MLflow's cost overlaps training
    except ConfigError as exc:
        _fail("invalid configuration:\n  " + "\n  ".join(exc.problems), 2)
    except TrackingUnavailable as exc:
        _fail(str(exc), 3)
    print(format_summary(result, str(cfg.tracking.experiment)), flush=True)
    return float(result.best_value)


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Console-script entry point: check override keys, then hand over to Hydra."""
    problems = check_overrides(sys.argv[1:])
    if problems:
        _fail("\n  ".join(["invalid override(s):", *problems]), 2)
    signal.signal(signal.SIGTERM, _terminate)  # a killed run ends KILLED, not RUNNING
    app()


if __name__ == "__main__":
    main()
