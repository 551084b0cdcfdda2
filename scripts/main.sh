#!/usr/bin/env bash
# Quickstart, command 1: set up (venv + install) on first use, then run the main job: the default
# hyperparameter sweep on the bundled digits (about a minute on 2 cores). Results land in
# <repo>/mlruns (MLflow store + Optuna journal) and <repo>/multirun/.
# Extra arguments are Hydra overrides, e.g. hydra.sweeper.n_trials=50 hydra.sweeper.n_jobs=2.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ""   # "": not this script's arguments
cd "$NNEXP_ROOT"
nnexp-train -m hparams_search=digits "$@"
echo
echo "Next: nnexp studies | nnexp best --study digits | nnexp reproduce --study digits | nnexp ui"
echo "      (after: source .venv/bin/activate)"
