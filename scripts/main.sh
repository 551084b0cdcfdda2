#!/usr/bin/env bash
# Quickstart, command 1: set up (venv + install) on first use, then run the main job.
# Extra arguments are Hydra overrides passed to nnexp-train.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ""
cd "$NNEXP_ROOT"
exec nnexp-train "$@"
