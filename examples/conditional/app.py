"""A conditional search space: momentum is searched only when the optimizer is SGD.

The task function minimises a Rosenbrock function with the chosen optimizer for ``steps``
steps and returns the final value. ``hydra.sweeper.params`` holds the unconditional choices;
the hook ``search_space.sgd_momentum`` (``hydra.sweeper.custom_search_space``) is called with
each new trial and suggests ``momentum`` only when ``optimizer`` is ``sgd``: an ``adam`` trial
has no momentum param, and its config keeps the default.

python examples/conditional/app.py -m
"""

import math

import hydra
from omegaconf import DictConfig


def rosenbrock(x: float, y: float) -> tuple[float, float, float]:
    """The value and its gradient."""
    value = (1.0 - x) ** 2 + 10.0 * (y - x**2) ** 2
    return value, -2.0 * (1.0 - x) - 40.0 * x * (y - x**2), 20.0 * (y - x**2)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def minimise(cfg: DictConfig) -> float:
    """Run the optimizer from (-1, 1); the objective is the last value (NaN if it diverged)."""
    point, velocity, second = [-1.0, 1.0], [0.0, 0.0], [0.0, 0.0]
    value = rosenbrock(*point)[0]
    for step in range(1, int(cfg.steps) + 1):
        value, *grad = rosenbrock(*point)
        if not math.isfinite(value) or value > 1e12:
            return math.nan  # the sweep records a NaN objective as a failed trial
        for i, g in enumerate(grad):
            if cfg.optimizer == "sgd":
                velocity[i] = cfg.momentum * velocity[i] - cfg.lr * g
                point[i] += velocity[i]
            else:  # adam
                velocity[i] = 0.9 * velocity[i] + 0.1 * g
                second[i] = 0.999 * second[i] + 0.001 * g * g
                m, v = velocity[i] / (1 - 0.9**step), second[i] / (1 - 0.999**step)
                point[i] -= cfg.lr * m / (math.sqrt(v) + 1e-8)
    return rosenbrock(*point)[0]


if __name__ == "__main__":
    minimise()
