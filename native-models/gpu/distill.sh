#!/usr/bin/env bash
# One-shot GPU self-distillation of the drafters (docs/voice-reading.md#training).
#
# Run from the repository root on the lent GPU machine, with the target and both packs carried along:
#   run(command="CODE_COMMIT=<git rev-parse HEAD here> BUDGET_S=330 bash native-models/gpu/distill.sh",
#       carry=["native-models/gpu/pack", "native-models/gpu/pack-greedy", "native-models/gpu/target.pt"])
# Test here on CPU (same code path, tiny budget):
#   PYTHON=/usr/bin/python3 BUDGET_S=40 VARIANTS=wide OUT=/tmp/distill bash native-models/gpu/distill.sh
#
# It is gpu/retrain.sh's drafters-only mode (TARGET_FROM), with these defaults:
# 1. If pack-greedy has no meta.json, makes it on the GPU (self_distill.py: the target's greedy readings of
#    every train and val sentence).
# 2. Trains the VARIANTS (retrain.sh's DRAFTER_ARGS: wide, mid, narrow, narrow2, ft, ftce, deep …) at once,
#    each in its own process, BUDGET_S seconds each: the draft, the prophet and the early-exit head, all on
#    the target's greedy readings, the target frozen.
# 3. Bundles each variant into $OUT/<variant>.tar (gpu/bundle.py: the exit head alone, not the whole
#    target, so every bundle stays far below the 16 MiB a returned file may have), and the logs into logs.tar.
# Then, here: /usr/bin/python3 native-models/gpu/bundle.py unpack <variant>.tar native-models/gpu/target.pt <folder>
#             /usr/bin/python3 native-models/train_t2s.py export --run <folder> --out <voice dir>
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET_FROM="${TARGET:-native-models/gpu/target.pt}" DRAFTERS="${VARIANTS:-wide,mid,narrow,narrow2}" \
  DRAFT_S="${BUDGET_S:-330}" TOTAL_S=1000000 THREADS=2 GEN_BATCH=256 \
  GREEDY="${GREEDY:-native-models/gpu/pack-greedy}" OUT="${OUT:-/tmp/distill}" WORK="${WORK:-/tmp/distill-work}" \
  exec bash native-models/gpu/retrain.sh
