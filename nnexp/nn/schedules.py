"""Per-epoch learning-rate schedules.

A schedule maps the 0-based epoch index ``e`` to the learning rate used for every mini-batch
of that epoch (``record["lr"]`` reports it):

* ``constant``:     lr
* ``step``:         lr * gamma ** (e // step_size)
* ``exponential``:  lr * decay_rate ** e
* ``cosine``:       min_lr + (lr - min_lr) * (1 + cos(pi * min(e, t_max) / t_max)) / 2,
                    ``t_max`` defaulting to the number of epochs, so the first epoch runs at
                    ``lr`` and the last one just above ``min_lr`` (held there for e >= t_max)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULE_CHOICES = ("constant", "step", "exponential", "cosine")


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule; call it with the 0-based epoch to get that epoch's lr."""

    name: str
    lr: float
    step_size: int = 10
    gamma: float = 0.1
    decay_rate: float = 0.95
    min_lr: float = 0.0
    t_max: int = 1

    def __post_init__(self) -> None:
        if self.name not in SCHEDULE_CHOICES:
            raise ValueError(f"unknown schedule {self.name!r}; valid choices: {list(SCHEDULE_CHOICES)}")

    def __call__(self, epoch: int) -> float:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        if self.name == "constant":
            return float(self.lr)
        if self.name == "step":
            return float(self.lr * self.gamma ** (epoch // self.step_size))
        if self.name == "exponential":
            return float(self.lr * self.decay_rate**epoch)
        progress = min(epoch, self.t_max) / self.t_max
        return float(self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def make_schedule(
    name: str,
    lr: float,
    *,
    epochs: int = 1,
    step_size: int = 10,
    gamma: float = 0.1,
    decay_rate: float = 0.95,
    min_lr: float = 0.0,
    t_max: int | None = None,
) -> Schedule:
    """Build schedule ``name``; cosine's period ``t_max`` defaults to ``epochs``."""
    return Schedule(
        name=name,
        lr=float(lr),
        step_size=int(step_size),
        gamma=float(gamma),
        decay_rate=float(decay_rate),
        min_lr=float(min_lr),
        t_max=int(t_max if t_max is not None else max(int(epochs), 1)),
    )
