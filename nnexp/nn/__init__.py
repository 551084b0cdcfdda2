"""From-scratch NumPy multi-layer perceptron.

``MLP`` is the estimator (scikit-learn style); ``StopTraining`` is what a per-epoch callback
raises to end training. The tables of activations, losses, initialisers, optimizers and
schedules, and the hyperparameter declaration, are exported for tests and for code that wants to list the valid choices.
"""

from .activations import ACTIVATIONS, DERIVATIVES
from .callbacks import Callback, StopReason, StopTraining
from .early_stopping import EarlyStopping
from .hyperparameters import DEFAULTS, HYPERPARAMETERS, Hyperparameter
from .initializers import INIT_CHOICES, INITIALIZERS
from .losses import LOSSES, OUTPUTS
from .mlp import MLP
from .network import Network
from .optimizers import OPTIMIZERS, clip_by_global_norm, global_norm, make_optimizer
from .schedules import SCHEDULE_CHOICES, Schedule, make_schedule
from .validation import validate_hyperparameters

__all__ = [
    "ACTIVATIONS",
    "DEFAULTS",
    "HYPERPARAMETERS",
    "DERIVATIVES",
    "INITIALIZERS",
    "INIT_CHOICES",
    "LOSSES",
    "MLP",
    "OPTIMIZERS",
    "OUTPUTS",
    "SCHEDULE_CHOICES",
    "Callback",
    "EarlyStopping",
    "Hyperparameter",
    "Network",
    "Schedule",
    "StopReason",
    "StopTraining",
    "clip_by_global_norm",
    "global_norm",
    "make_optimizer",
    "make_schedule",
    "validate_hyperparameters",
]
