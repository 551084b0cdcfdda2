#!/usr/bin/env bash
# Run a hyperparameter sweep (Optuna through Hydra) from the current directory.
# Results go to ./mlruns (Optuna journal + MLflow store) of the directory you run it from.
#   scripts/sweep.sh                                   # digits, 30 trials (~1 min)
#   scripts/sweep.sh hydra.sweeper.n_trials=10         # extra arguments: Hydra overrides
#   SEARCH=mnist scripts/sweep.sh hydra.sweeper.n_jobs=2
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec nnexp-train -m "hparams_search=${SEARCH:-digits}" "$@"
