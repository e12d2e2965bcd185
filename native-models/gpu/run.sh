#!/usr/bin/env bash
# One-shot GPU training of the reading decoder and its drafters (docs/voice-reading.md).
#
# Run from the repository root on the lent GPU machine, with the data pack carried along:
#   run(command="BUDGET_S=420 bash native-models/gpu/run.sh", carry=["native-models/gpu/pack"], timeout_s=540)
# Test here on CPU (same code path, a tiny budget):
#   BUDGET_S=60 OUT=/tmp/gpuout bash native-models/gpu/run.sh
#
# BUDGET_S bounds the whole training (target, then draft + prophet) in wall-clock seconds, evals and
# saves included (train_t2s.py's gpu preset keeps reserve_s of it back for start-up and the last save).
# Everything lands in $OUT, rewritten about once a minute, so a run cut short still returns checkpoints:
#   target.pt  draft.pt  prophet.pt   float16 weights + config (each < 16 MB)
#   log.jsonl  eval.json  config.json  train.out
# Then, on a machine with node and onnx (here): put the three .pt files, eval.json and log.jsonl in one
# folder and run
#   /usr/bin/python3 native-models/train_t2s.py export --run <that folder> --out native-models/voice
# Extra train_t2s.py flags may be passed in TRAIN_ARGS (e.g. TRAIN_ARGS="--target_share 0.5").
set -euo pipefail
cd "$(dirname "$0")/../.."
BUDGET_S="${BUDGET_S:-420}"
OUT="${OUT:-/tmp/gpuout}"
PYTHON="${PYTHON:-python3}"
PACK=native-models/gpu/pack
mkdir -p "$OUT"
if [ ! -f "$PACK/meta.json" ]; then
  echo "run.sh: $PACK/meta.json is missing: build the pack first (train_t2s.py pack --out $PACK) and carry it" >&2
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$PYTHON" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
# shellcheck disable=SC2086  # TRAIN_ARGS is a list of flags
"$PYTHON" -u native-models/train_t2s.py train --preset gpu --pack "$PACK" --out "$OUT" --budget_s "$BUDGET_S" \
  ${TRAIN_ARGS:-} 2>&1 | tee "$OUT/train.out"
ls -la "$OUT"
