"""A plain Hydra app swept by nnexp: gradient descent on ``(x - 1)^2 + 10 (y + 2)^2``.

python examples/quadratic/app.py                  # one run (logs nothing without MLflow)
python examples/quadratic/app.py -m               # a sweep: pruning, MLflow, resume
"""

import hydra
from omegaconf import DictConfig

import nnexp


def loss(x: float, y: float) -> float:
    return (x - 1.0) ** 2 + 10.0 * (y + 2.0) ** 2


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    x, y = float(cfg.x), float(cfg.y)
    best = loss(x, y)
    for epoch in range(1, int(cfg.epochs) + 1):
        x -= cfg.lr * 2.0 * (x - 1.0)
        y -= cfg.lr * 20.0 * (y + 2.0)
        best = min(best, loss(x, y))
        nnexp.report(epoch, loss=loss(x, y))  # the pruner may stop the walk here
    return best


if __name__ == "__main__":
    main()
