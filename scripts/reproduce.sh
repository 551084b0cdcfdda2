#!/usr/bin/env bash
# Re-train the best trial of a sweep from scratch, verify it and register it
# (reads <repo>/mlruns, where sweep.sh and main.sh record).
#   scripts/reproduce.sh                               # study digits, registers model "digits-mlp"
#   STUDY=mnist MODEL=mnist-mlp scripts/reproduce.sh
#   scripts/reproduce.sh --trial 7 --tolerance 0.005   # extra arguments go to `nnexp reproduce`
# Exit status: 0 verified, 1 mismatch, 2 refused (the message says why).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" ""   # "": not this script's arguments
cd "$NNEXP_ROOT"   # like main.sh: every script uses <repo>/mlruns
study="${STUDY:-digits}"
nnexp studies
nnexp best --study "$study"
exec nnexp reproduce --study "$study" --register "${MODEL:-$study-mlp}" "$@"
