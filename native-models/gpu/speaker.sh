#!/usr/bin/env bash
# One-shot GPU training of the speaking network (docs/voice-audio.md#the-speaker-network).
#
# Build the pack here first (git-ignored, sized to fit the 64 MiB the tool sends): /usr/bin/python3 native-models/speaker/pack.py
# Run from the repository root on the lent GPU machine, with the pack carried along:
#   run(command="BUDGET_S=360 bash native-models/gpu/speaker.sh", carry=["native-models/gpu/speaker-pack"], timeout_s=450)
# Test here on CPU (same code path, a tiny budget):
#   rm -rf /tmp/spk-smoke; PYTHON=/usr/bin/python3 THREADS=1 BUDGET_S=90 OUT=/tmp/spk-smoke bash native-models/gpu/speaker.sh
#
# BUDGET_S bounds the whole training in wall-clock seconds, loading, evaluations and the last save included
# (Python's start and torch's import come on top, a few seconds). Everything lands in $OUT, rewritten at every
# evaluation, so a run cut short still returns the best weights so far:
#   ckpt.pt     best weights by validation loss + configs (5 MB): what export.py reads
#   resume.pt   latest weights + optimiser (15 MB): train.py --out <that folder> continues from it
#   log.jsonl   train.out
# Then, here: /usr/bin/python3 native-models/speaker/export.py --ckpt <folder>/ckpt.pt --out <voice folder>
# Environment: PYTHON (python3), OUT, BUDGET_S (360), BATCH (64), THREADS (4), DEVICE (auto), and
# TRAIN_ARGS for any other train.py flag (e.g. TRAIN_ARGS="--dropout 0.2 --unit_noise 0.05").
set -euo pipefail
cd "$(dirname "$0")/../.."
BUDGET_S="${BUDGET_S:-360}"
OUT="${OUT:-/tmp/speaker-gpu}"
PYTHON="${PYTHON:-python3}"
PACK=native-models/gpu/speaker-pack
if [ ! -f "$PACK/meta.json" ]; then
  echo "speaker.sh: $PACK/meta.json is missing: build the pack first (native-models/speaker/pack.py) and carry it" >&2
  exit 2
fi
mkdir -p "$OUT"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$PYTHON" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)"
# shellcheck disable=SC2086  # TRAIN_ARGS is a list of flags
"$PYTHON" -u native-models/speaker/train.py --pack "$PACK" --device "${DEVICE:-auto}" --out "$OUT" \
  --budget_s "$BUDGET_S" --batch_size "${BATCH:-64}" --threads "${THREADS:-4}" --max_steps 1000000 \
  --warmup 200 --eval_interval 1000 --log_interval 50 ${TRAIN_ARGS:-} 2>&1 | tee "$OUT/train.out"
ls -la "$OUT"
