# Sourced by the scripts in this folder: make the project's virtual environment
# (.venv at the repo root) and install nnexp into it, once per change of pyproject.toml.
# Usage: source scripts/_venv.sh [extra]   (extra: "test" installs the test extra too)
set -euo pipefail
NNEXP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NNEXP_VENV="${NNEXP_VENV:-$NNEXP_ROOT/.venv}"
_extra="${1:-}"
_python="${PYTHON:-python3}"

if ! "$_python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "nnexp needs Python >= 3.10; '$_python' is $("$_python" --version 2>&1). Set PYTHON=/path/to/python3.1x." >&2
  exit 1
fi
if [ ! -x "$NNEXP_VENV/bin/python" ]; then
  echo "[nnexp] creating virtual environment in $NNEXP_VENV" >&2
  "$_python" -m venv "$NNEXP_VENV"
fi
_spec="$NNEXP_ROOT"
[ -n "$_extra" ] && _spec="$NNEXP_ROOT[$_extra]"
_stamp="$NNEXP_VENV/.nnexp-install-$(sha256sum "$NNEXP_ROOT/pyproject.toml" | cut -c1-16)-${_extra:-base}"
if [ ! -f "$_stamp" ]; then
  echo "[nnexp] installing nnexp${_extra:+[$_extra]} and its dependencies (about a minute on a fresh machine)" >&2
  "$NNEXP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$_spec"
  touch "$_stamp"
fi
export PATH="$NNEXP_VENV/bin:$PATH"
# Datasets shipped beside the checkout (../shared/data) are used when nothing else is set.
if [ -z "${NNEXP_DATA_DIR:-}" ] && [ -d "$NNEXP_ROOT/../shared/data" ]; then
  export NNEXP_DATA_DIR="$(cd "$NNEXP_ROOT/../shared/data" && pwd)"
fi
