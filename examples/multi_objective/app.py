"""Two objectives at once: the Binh and Korn problem, swept by nnexp.

Both objectives are minimised over ``0 <= x <= 5``, ``0 <= y <= 3``; no single point is best
for both, so the sweep keeps the Pareto front (``pareto_front`` in optimization_results.yaml
and on the MLflow parent run). The task function returns a tuple, one value per entry of
``hydra.sweeper.directions``. Optuna cannot prune multi-objective trials, so nothing is pruned.

python examples/multi_objective/app.py -m
"""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def binh_and_korn(cfg: DictConfig) -> tuple[float, float]:
    """(f1, f2): f1 pulls towards (0, 0), f2 towards (5, 5)."""
    x, y = float(cfg.x), float(cfg.y)
    f1 = 4.0 * x**2 + 4.0 * y**2
    f2 = (x - 5.0) ** 2 + (y - 5.0) ** 2
    return f1, f2


if __name__ == "__main__":
    binh_and_korn()
