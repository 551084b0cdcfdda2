#!/usr/bin/env bash
# The whole suite, several times in a row, on a fresh clone of HEAD while another process keeps
# one core busy: what "the suite never depends on luck" is checked with. Each run is `.ci/run`
# (ruff, then every test, slow ones included) in the clone, with this checkout's ../shared
# beside it; the clone's venv is made once by the first run.
#   scripts/suite_under_load.sh            # 3 runs; logs and a summary in a temporary folder
#   RUNS=5 WORK=/tmp/soak scripts/suite_under_load.sh
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
WORK="${WORK:-$(mktemp -d /tmp/nnexp-soak-XXXXXX)}"
mkdir -p "$WORK"
rm -rf "$WORK/clone"
mkdir -p "$WORK/clone"
git clone -q "$ROOT" "$WORK/clone/main"
[ -d "$ROOT/../shared" ] && ln -s "$(cd "$ROOT/../shared" && pwd)" "$WORK/clone/shared"
cd "$WORK/clone/main" || exit 1
summary="$WORK/summary.txt"
echo "commit $(git log -1 --format=%h), $RUNS runs, one core kept busy; started $(date -u +%FT%TZ)" | tee -a "$summary"
python3 -c 'while True: pass' &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT
failed=0
for i in $(seq 1 "$RUNS"); do
  start=$(date +%s)
  bash .ci/run > "$WORK/run$i.log" 2>&1
  rc=$?
  [ "$rc" -ne 0 ] && failed=$((failed + 1))
  result=$(grep -E '^=+ .*(passed|failed).* =+$' "$WORK/run$i.log" | tail -1)
  echo "run $i: exit $rc, $(( $(date +%s) - start )) s, $result" | tee -a "$summary"
done
echo "ended $(date -u +%FT%TZ): $failed of $RUNS runs failed (logs: $WORK/run*.log)" | tee -a "$summary"
[ "$failed" -eq 0 ]
