"""``nnexp-train``: the Hydra app for one training run (or a sweep's trial).

nnexp-train                                   # digits, default MLP, tracked in ./mlruns
nnexp-train model.depth=3 optimizer=sgd optimizer.lr=0.05 trainer.epochs=30
nnexp-train --cfg job                         # print the composed config
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import hydra
from omegaconf import DictConfig

import nnexp
from nnexp.cli.credentials import move_credentials
from nnexp.cli.interrupts import install as install_interrupts
from nnexp.cli.interrupts import quiet_interrupts
from nnexp.config.overrides import check_overrides
from nnexp.config.schema import register_configs
from nnexp.config.validate import check_names
from nnexp.errors import EXIT_FAILED, EXIT_INVALID, config_problems, exit_code, fail
from nnexp.filesystem import disk_full
from nnexp.nn.callbacks import StopReason
from nnexp.shutdown import end_quickly

#: The top-level ``conf/`` directory (the project is installed editable).
CONF_DIR = Path(nnexp.__file__).resolve().parents[1] / "conf"

register_configs()


def _fail(message: str, code: int) -> NoReturn:
    fail("nnexp-train", message, code)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> float:
    """Validate, train, print the summary; return the best value of the monitored metric."""
    from nnexp.cli.summary import divergence, format_summary
    from nnexp.train.trainer import run_training

    try:
        check_names(cfg)
        # validates the config before anything is created; a second process records (it marks
        # runs of dead processes KILLED: nnexp.tracking.liveness), overlapping MLflow's cost
        result = run_training(cfg, separate_process=True)
    except Exception as exc:  # expected failures (bad input, read-only or full disk, a lost
        code = exit_code(exc)  # server) end in one line and their exit code; a bug shows its traceback
        full = disk_full(exc)
        if full is not None:
            exc, code = full, full.exit_code
        if code is None:
            raise
        _fail(config_problems(exc), code)
    print(format_summary(result, str(cfg.tracking.experiment)), flush=True)
    if result.stop_reason == StopReason.DIVERGED:  # recorded in full, but not a trained model: exit 1
        _fail(
            f"the run diverged: {divergence(result.epochs_run)} (everything is recorded); "
            "lower optimizer.lr or set optimizer.clip_norm",
            EXIT_FAILED,
        )
    return float(result.best_value)


#: Command-line flags with which no single run is trained here (help, config printing, sweeps).
_NO_SINGLE_RUN = {"-h", "--help", "--hydra-help", "-i", "--info", "-c", "--cfg", "-m", "--multirun"}


def may_track(args: list[str]) -> bool:
    """Whether these arguments could train one tracked run: then its tracking process is
    started before Hydra composes (:func:`nnexp.tracking.agent.prestart`)."""
    for arg in args:
        key, _, value = arg.lstrip("+~").partition("=")
        if arg in _NO_SINGLE_RUN or arg.startswith(("--cfg=", "-sc", "--shell-completion")):
            return False
        if key == "tracking.enabled" and value.lower() == "false":
            return False
    return True


def main() -> None:
    """Console-script entry point: check override keys, then hand over to Hydra."""
    sys.argv[1:] = move_credentials(sys.argv[1:])  # passwords: environment, never files
    problems = check_overrides(sys.argv[1:])
    if problems:
        _fail("\n  ".join(["invalid override(s):", *problems]), EXIT_INVALID)
    install_interrupts()  # SIGINT/SIGTERM: the run ends KILLED, one line, exit 130/143
    from nnexp.tracking import agent

    if may_track(sys.argv[1:]):
        agent.prestart()  # imports MLflow while Hydra composes and the data loads
    try:
        with quiet_interrupts("nnexp-train"):
            app()
    finally:
        agent.discard_prestarted()
        end_quickly()


if __name__ == "__main__":
    main()
