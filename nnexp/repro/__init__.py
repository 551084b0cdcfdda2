"""Turn a finished sweep into a verified, reproducible, servable model.

``studies`` finds studies and trials in an Optuna storage, ``source`` reads back what a run
recorded in MLflow, ``config`` makes that record a re-runnable config, ``compare`` judges a
reproduction against its original, ``reproduce`` re-trains and links the runs, ``registry``
puts the reproduced model into the MLflow Model Registry. ``nnexp.cli.main`` is the front end.
"""

from nnexp.repro.errors import Refusal

__all__ = ["Refusal"]
