#!/usr/bin/env bash
# Open the MLflow UI on the tracking home <repo>/mlruns/mlflow.db (or
# $MLFLOW_TRACKING_URI), bound to 127.0.0.1. Ctrl-C stops it.
#   scripts/ui.sh              # http://127.0.0.1:5000
#   scripts/ui.sh --port 5050
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ""   # "": not this script's arguments
cd "$NNEXP_ROOT"   # like main.sh: every script uses <repo>/mlruns
exec nnexp ui "$@"
