#!/usr/bin/env bash
# gpu/retrain.sh across two device calls, so that one run can outlast one call's 600 s.
#
# The device tool kills what a command leaves running, except a process in its own session, which runs on
# while the machine stays warm (30 s after a call). So:
#   start  SNAP_S  -- launches retrain.sh under setsid (its own OUT and WORK under /tmp/detached), waits
#                     SNAP_S seconds (or until it ends), then copies into $OUT what exists by then: the target
#                     and checker, and a snapshot bundle of every drafters run from its last checkpoint
#                     (<variant>-snap.tar), so that a lost second call still leaves a usable voice;
#   finish WAIT_S  -- called at once after (while the machine is warm): waits up to WAIT_S seconds for
#                     retrain.sh to end, then copies its results (or, if it has not ended, fresh snapshots).
# Every variable retrain.sh reads passes through (PACK, TARGETS, TARGET_S, DRAFTERS, DRAFT_S, TOTAL_S, ...).
# CPU test (smoke preset, tiny budgets):
#   PYTHON=/usr/bin/python3 PRESET=smoke CHECKER_S=20 TARGET_S=30 DRAFT_S=60 TOTAL_S=140 GEN_ARGS="--limit 64" \
#     THREADS=1 D=/tmp/detached-test OUT=/tmp/d-out1 bash native-models/gpu/detached.sh start 100
#   D=/tmp/detached-test OUT=/tmp/d-out2 bash native-models/gpu/detached.sh finish 120
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
D="${D:-/tmp/detached}"
mode="${1:?start SNAP_S | finish WAIT_S}"
secs="${2:?seconds}"
OUT="${OUT:?OUT must be set}"
mkdir -p "$OUT"

ended() { [ -f "$D/rc" ]; }

collect() {  # what exists now: finished files as they are, drafters runs still going as snapshots
  if ended; then
    echo "== retrain.sh ended with $(cat "$D/rc")"
    cp "$D/out/"* "$OUT/" 2>/dev/null
  else
    echo "== retrain.sh still running: snapshots"
    for f in target.pt checker.pt; do [ -f "$D/out/$f" ] && cp "$D/out/$f" "$OUT/"; done
    for run in "$D/work"/d-*; do
      [ -f "$run/target.pt" ] && [ -f "$run/prophet.pt" ] || continue
      "$PYTHON" native-models/gpu/bundle.py pack "$run" "$OUT/$(basename "$run" | sed 's/^d-//')-snap.tar"
    done
    mkdir -p "$D/snaplogs"
    for run in "$D/work"/*; do
      [ -f "$run/train.out" ] && cp "$run/train.out" "$D/snaplogs/$(basename "$run").train.out"
      [ -f "$run/log.jsonl" ] && cp "$run/log.jsonl" "$D/snaplogs/$(basename "$run").log.jsonl"
    done
    tar -cf "$OUT/snaplogs.tar" -C "$D/snaplogs" .
  fi
  cp "$D/retrain.log" "$OUT/" 2>/dev/null
  ls -la "$OUT"
}

wait_for() {  # until retrain.sh ends or $1 seconds pass
  local until=$(( $(date +%s) + $1 ))
  while ! ended && [ "$(date +%s)" -lt "$until" ]; do sleep 5; done
}

case "$mode" in
  start)
    rm -rf "$D"; mkdir -p "$D"
    setsid bash -c "OUT='$D/out' WORK='$D/work' bash native-models/gpu/retrain.sh > '$D/retrain.log' 2>&1; echo \$? > '$D/rc'" \
      < /dev/null > /dev/null 2>&1 &
    echo "== retrain.sh started under setsid (log $D/retrain.log)"
    wait_for "$secs"
    cat "$D/retrain.log"
    collect
    ;;
  finish)
    [ -d "$D" ] || { echo "detached.sh: $D is missing: the machine was not the one 'start' ran on" >&2; exit 2; }
    wait_for "$secs"
    tail -40 "$D/retrain.log"
    collect
    ended
    ;;
  *) echo "detached.sh: unknown mode $mode" >&2; exit 2 ;;
esac
