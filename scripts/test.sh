#!/usr/bin/env bash
# Quickstart, command 2: set up (venv + install with the test extra) on first use, then run
# the whole test suite, slow end-to-end tests included. Extra arguments go to pytest
# (e.g. `-m "not slow"` for the fast ones only).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" test
cd "$NNEXP_ROOT"
exec python -m pytest "$@"
