#!/bin/sh
# Start (or resume) the teacher-audio render in the background, niced, logging to work/render.log.
# Usage: sh native-models/tools/data/render-background.sh [after-pid]
#   after-pid: wait for that process (an earlier render) to exit first.
set -eu
cd "$(dirname "$0")/../../.."
mkdir -p native-models/work
nohup sh -c '
  if [ -n "${1:-}" ]; then while kill -0 "$1" 2>/dev/null; do sleep 20; done; fi
  exec nice -n 10 node --import tsx native-models/tools/data/corpus.ts --steps render --workers 2
' render-background "${1:-}" >> native-models/work/render.log 2>&1 < /dev/null &
echo "render started in the background (pid $!); follow it with: tail -f native-models/work/render.log"
