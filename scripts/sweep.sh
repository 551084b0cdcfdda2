#!/usr/bin/env bash
# Run a hyperparameter sweep (Optuna through Hydra) in the repository root.
# Results go to <repo>/mlruns (Optuna journal + MLflow store), where reproduce.sh and ui.sh look.
#   scripts/sweep.sh                                   # digits, 30 trials (~1 min)
#   scripts/sweep.sh hydra.sweeper.n_trials=10         # extra arguments: Hydra overrides
#   SEARCH=mnist scripts/sweep.sh hydra.sweeper.n_jobs=2
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ""   # "": not this script's arguments
cd "$NNEXP_ROOT"   # like main.sh: every script uses <repo>/mlruns
exec nnexp-train -m "hparams_search=${SEARCH:-digits}" "$@"
