"""The sphere function, ``x^2 + y^2``, swept by nnexp: the smallest Hydra app a sweeper tunes.

The task function returns the objective; there are no epochs, so nothing is reported and
nothing is pruned (see ``examples/sklearn_sgd`` for pruning).

python examples/sphere/app.py            # one run at x=1, y=1
python examples/sphere/app.py -m         # 20 trials; the best is near (0, 0)
"""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def sphere(cfg: DictConfig) -> float:
    """The objective Optuna minimises."""
    x, y = float(cfg.x), float(cfg.y)
    return x**2 + y**2


if __name__ == "__main__":
    sphere()
