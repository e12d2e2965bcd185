#!/usr/bin/env bash
# One-shot GPU self-distillation of the drafters (docs/voice-reading.md, "Self-distilled drafters").
#
# Run from the repository root on the lent GPU machine, with the target and both packs carried along:
#   run(command="CODE_COMMIT=<git rev-parse HEAD here> BUDGET_S=330 bash native-models/gpu/distill.sh",
#       carry=["native-models/gpu/pack", "native-models/gpu/pack-greedy", "native-models/gpu/target.pt"])
# Test here on CPU (same code path, tiny budget):
#   PYTHON=/usr/bin/python3 BUDGET_S=40 VARIANTS=wide OUT=/tmp/distill bash native-models/gpu/distill.sh
#
# 1. If pack-greedy lacks a finished train split, makes it on the GPU (self_distill.py: the target's
#    greedy readings of every train and val sentence).
# 2. Trains the variants below at once, each in its own process and folder $WORK/<variant>: the draft,
#    the prophet and the early-exit head, all on the target's greedy readings, the target frozen.
# 3. Bundles each variant into $OUT/<variant>.tar (gpu/bundle.py: the exit head alone, not the whole
#    target, so every bundle stays far below the 16 MiB a returned file may have).
# Then, here: /usr/bin/python3 native-models/gpu/bundle.py unpack <variant>.tar native-models/gpu/target.pt <folder>
#             /usr/bin/python3 native-models/train_t2s.py export --run <folder> --out <voice dir>
set -euo pipefail
cd "$(dirname "$0")/../.."
BUDGET_S="${BUDGET_S:-330}"
OUT="${OUT:-/tmp/distill}"
WORK="${WORK:-/tmp/distill-work}"
PYTHON="${PYTHON:-python3}"
VARIANTS="${VARIANTS:-wide,mid,narrow,narrow2}"
PACK=native-models/gpu/pack
GREEDY="${GREEDY:-native-models/gpu/pack-greedy}"
TARGET=native-models/gpu/target.pt
mkdir -p "$OUT"
for f in "$PACK/meta.json" "$TARGET"; do
  [ -f "$f" ] || { echo "distill.sh: $f is missing: carry it (see the header)" >&2; exit 2; }
done
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

if [ ! -f "$GREEDY/meta.json" ]; then
  echo "== greedy readings: $GREEDY has no meta.json, generating"
  "$PYTHON" -u native-models/self_distill.py --target "$TARGET" --pack "$PACK" --out "$GREEDY" --splits val,train \
    --batch 256 --chunk 2560 ${GEN_ARGS:-} 2>&1 | tr '\r' '\n' | awk 'NR % 20 == 0 || /sentences/'
fi
"$PYTHON" -c "import json,sys; print('greedy readings:', json.load(open(sys.argv[1])).get('self_distill'))" "$GREEDY/meta.json"

# Common settings: the gpu preset's optimiser and logging, the drafters stage alone, from the carried target.
# CODE_COMMIT: the commit of this tree (the lent machine has no git history), recorded in every checkpoint.
COMMON=(train --preset gpu --stages drafters --target_from "$TARGET" --pack "$GREEDY" --budget_s "$BUDGET_S"
        --code_commit "${CODE_COMMIT:-unknown}"
        --reserve_s 15 --threads 2 --distill_exit --prophet_unroll 4 --prophet_ce_weight 0.5 --draft_distill 0.5 --dropout 0)
declare -A ARGS=(
  [wide]="--prophet_d_model 256"
  [mid]="--prophet_d_model 192 --draft_d_model 128 --draft_n_heads 2"
  [narrow]="--prophet_d_model 128 --draft_d_model 192 --draft_n_layers 1"
  [narrow2]="--prophet_d_model 128 --prophet_n_layers 2 --draft_d_model 128 --draft_n_heads 2 --draft_n_layers 1"
  [ft]="--init_from native-models/gpu/init --lr 5e-4"
  [ftce]="--init_from native-models/gpu/init --lr 1e-3 --prophet_ce_weight 1.0 --draft_distill 0.3 --exit_distill 0.3"
  # A 2-block prophet grown from the 1-block one in init/ (its added block starts as a no-op, so training
  # begins at the shipped prophet's val CE, 1.187: checked on CPU). For it, put the shipped drafters in
  # init/ and the shipped target (with its distilled exit head) in target.pt, from
  # native-models/work/runs/distill-best. 2.5x needs greedy acceptance near 0.92 (docs/results.md).
  [deep]="--init_from native-models/gpu/init --prophet_n_layers 2 --lr 5e-4"
)
pids=()
for v in ${VARIANTS//,/ }; do
  mkdir -p "$WORK/$v"
  # shellcheck disable=SC2086  # ARGS values are flag lists
  "$PYTHON" -u native-models/train_t2s.py "${COMMON[@]}" --out "$WORK/$v" ${ARGS[$v]} ${TRAIN_ARGS:-} \
    > "$WORK/$v/train.out" 2>&1 &
  pids+=($!)
  echo "== $v: pid $!, args ${ARGS[$v]}"
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
for v in ${VARIANTS//,/ }; do
  echo "== $v"
  tail -2 "$WORK/$v/train.out"
  "$PYTHON" native-models/gpu/bundle.py pack "$WORK/$v" "$OUT/$v.tar" || status=1
done
ls -la "$OUT"
exit $status
