"""A toy Hydra app for the sweeper's tests: a bowl with its minimum at x=1, y=-2."""

import random
import time

import hydra
from omegaconf import DictConfig

import nnexp


def bowl(cfg: DictConfig) -> float:
    noise = float(cfg.noise) * random.Random(int(cfg.seed)).random()
    return (float(cfg.x) - 1.0) ** 2 + (float(cfg.y) + 2.0) ** 2 + float(cfg.momentum) + noise


@hydra.main(version_base=None, config_path="conf", config_name="toy")
def main(cfg: DictConfig):
    if cfg.fail_above is not None and cfg.x > cfg.fail_above:
        raise RuntimeError(f"x={cfg.x} is above {cfg.fail_above}")
    loss = bowl(cfg)
    for step in range(1, int(cfg.epochs) + 1):
        time.sleep(float(cfg.step_seconds))  # an epoch's work
        nnexp.report(step, loss=loss * (1 + 1 / step))
    nnexp.report_test(test_loss=loss + 0.5)
    if int(cfg.objectives) == 2:
        return loss, float(cfg.x) ** 2
    return loss


if __name__ == "__main__":
    main()
