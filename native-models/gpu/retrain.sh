#!/usr/bin/env bash
# One-shot GPU retraining of the whole reader on a (larger) pack: target variants, the best of them,
# its greedy readings, then the drafters self-distilled on those readings (docs/voice-reading.md#training).
#
# Run from the repository root on the lent GPU machine, with the pack and the shipped drafters carried:
#   run(command="CODE_COMMIT=<git rev-parse HEAD here> CHECKER_S=230 bash native-models/gpu/retrain.sh",
#       carry=["native-models/gpu/pack", "native-models/gpu/init"], timeout_s=600)
# Test here on CPU (same code path, tiny model and budgets, 64 readings):
#   PYTHON=/usr/bin/python3 PRESET=smoke CHECKER_S=30 TARGET_S=40 DRAFT_S=40 GEN_ARGS="--limit 64" THREADS=1 \
#     OUT=/tmp/retrain WORK=/tmp/retrain-work bash native-models/gpu/retrain.sh
#
# 1. Trains the TARGETS variants at once (train_t2s.py --stages target, TARGET_S seconds each, keeping
#    the weights with the best validation CE), and copies the best one's target.pt into $OUT.
# 2. Generates its greedy readings of every val and train sentence (self_distill.py).
# 3. Trains the DRAFTERS variants at once on them (the exit head, the draft, the prophet; DRAFT_S seconds),
#    each bundled into $OUT/<variant>.tar (gpu/bundle.py: exit head, draft, prophet, logs).
# With TARGET_FROM=<target.pt> steps 0-1 are skipped: the drafters of that target are trained (again);
# gpu/distill.sh is that mode. GREEDY=<pack> with a meta.json skips step 2; TRAIN_ARGS adds flags to every
# drafters variant.
# 0. With CHECKER_S > 0, also trains the reading check's unit reader (checker/train_ctc.py) beside the targets.
# Returned (at most 8 files): target.pt (float16, 12 MB), one .tar per drafters variant, checker.pt, logs.tar.
# Longer than one call (600 s): gpu/detached.sh runs this script across two calls (docs/voice-reading.md#training).
# Then, here: /usr/bin/python3 native-models/gpu/bundle.py unpack $OUT/<variant>.tar $OUT/target.pt <folder>
#             /usr/bin/python3 native-models/train_t2s.py export --run <folder> --out <voice dir>
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-/tmp/retrain}"
WORK="${WORK:-/tmp/retrain-work}"
PACK="${PACK:-native-models/gpu/pack}"
INIT="${INIT:-native-models/gpu/init}"
PRESET="${PRESET:-gpu}"
TARGET_S="${TARGET_S:-230}"
DRAFT_S="${DRAFT_S:-200}"
TOTAL_S="${TOTAL_S:-560}"  # the whole script's wall-clock aim, from its start
THREADS="${THREADS:-4}"
GEN_BATCH="${GEN_BATCH:-2048}"
TARGETS="${TARGETS:-drop1,drop2}"
DRAFTERS="${DRAFTERS:-init,deep}"
GREEDY="${GREEDY:-$WORK/greedy}"  # the greedy readings' pack: made here unless it already has a meta.json
mkdir -p "$OUT" "$WORK"
[ -f "$PACK/meta.json" ] || { echo "retrain.sh: $PACK/meta.json is missing: carry the pack (see the header)" >&2; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
"$PYTHON" -c "import json,sys; m=json.load(open(sys.argv[1])); print('pack:', {k: v['sentences'] for k, v in m['splits'].items()}, 'context', m['context'])" "$PACK/meta.json"
started=$(date +%s)
stamp() { echo "== $(( $(date +%s) - started )) s: $*"; }

# shellcheck disable=SC2034  # read through ${TARGET_ARGS[$v]}
declare -A TARGET_ARGS=(
  [drop1]="--dropout 0.1"
  [drop2]="--dropout 0.2"
  [drop3]="--dropout 0.3"
  [ft]="--dropout 0.1 --target_init ${TARGET_INIT:-native-models/gpu/s5/target.pt} --lr 5e-4"  # fine-tune a trained target (carry it)
)
if [ -n "${TARGET_FROM:-}" ]; then  # a trained target (its exit head included): drafters only, nothing returned for it
  [ -f "$TARGET_FROM" ] || { echo "retrain.sh: $TARGET_FROM is missing: carry it (see the header)" >&2; exit 2; }
  TARGET_PT="$TARGET_FROM"
  mkdir -p "$WORK/logs"
  stamp "target from $TARGET_FROM"
else
TARGET_PT="$OUT/target.pt"
pids=()
if [ "${CHECKER_S:-0}" != 0 ]; then  # the reading check's unit reader, on the same pack, beside the targets
  mkdir -p "$WORK/checker"
  "$PYTHON" -u native-models/checker/train_ctc.py --pack "$PACK" --out "$WORK/checker" --budget_s "$CHECKER_S" --batch 64 \
    --eval_every 500 --threads 2 > "$WORK/checker/train.out" 2>&1 &
  checker_pid=$!
  stamp "checker: pid $checker_pid"
fi
for v in ${TARGETS//,/ }; do
  mkdir -p "$WORK/$v"
  # shellcheck disable=SC2086  # flag lists
  "$PYTHON" -u native-models/train_t2s.py train --preset "$PRESET" --stages target --pack "$PACK" --out "$WORK/$v" \
    --budget_s "$TARGET_S" --target_share 1 --reserve_s 10 --threads "$THREADS" --code_commit "${CODE_COMMIT:-unknown}" \
    ${TARGET_ARGS[$v]} > "$WORK/$v/train.out" 2>&1 &
  pids+=($!)
  stamp "target $v: pid $!, ${TARGET_ARGS[$v]}"
done
for p in "${pids[@]}"; do wait "$p" || true; done
mkdir -p "$WORK/logs"
for v in ${TARGETS//,/ }; do
  tail -1 "$WORK/$v/train.out"
  for f in eval.json log.jsonl config.json train.out; do [ -f "$WORK/$v/$f" ] && cp "$WORK/$v/$f" "$WORK/logs/target-$v.$f"; done
done
if [ -n "${checker_pid:-}" ]; then
  wait "$checker_pid" || true
  tail -2 "$WORK/checker/train.out"
  cp "$WORK/checker/train.out" "$WORK/logs/checker.train.out"; cp "$WORK/checker/log.jsonl" "$WORK/logs/checker.log.jsonl" || true
  [ -f "$WORK/checker/ckpt.pt" ] && cp "$WORK/checker/ckpt.pt" "$OUT/checker.pt"
fi
best=$("$PYTHON" - "$WORK" "$TARGETS" <<'EOF'
import json, sys
from pathlib import Path
scores = {}
for v in sys.argv[2].split(","):
    e = Path(sys.argv[1], v, "eval.json")
    if e.exists() and Path(sys.argv[1], v, "target.pt").exists():
        scores[v] = json.loads(e.read_text())["target"]["main_ce"]
print(min(scores, key=scores.get) if scores else "", end="")
print(f"target validation CE: {scores}", file=sys.stderr)
EOF
)
[ -n "$best" ] || { echo "retrain.sh: no target variant finished" >&2; exit 1; }
cp "$WORK/$best/target.pt" "$TARGET_PT"
stamp "best target: $best"

fi

if [ ! -f "$GREEDY/meta.json" ]; then
  # shellcheck disable=SC2086  # GEN_ARGS is a flag list
  "$PYTHON" -u native-models/self_distill.py --target "$TARGET_PT" --pack "$PACK" --out "$GREEDY" --splits val,train \
    --batch "$GEN_BATCH" --chunk $(( GEN_BATCH * 4 )) --threads "$THREADS" ${GEN_ARGS:-} 2>&1 | tr '\r' '\n' | grep -v "rows/s$" || true
  [ -f "$GREEDY/meta.json" ] || { echo "retrain.sh: no greedy readings" >&2; exit 1; }
fi
stamp "greedy readings: $GREEDY"

# The drafters get DRAFT_S, or less when the run so far leaves less of TOTAL_S (bundling needs ~20 s).
left=$(( TOTAL_S - ($(date +%s) - started) - 25 ))
if [ "$left" -lt "$DRAFT_S" ]; then
  [ "$left" -ge 40 ] || echo "retrain.sh: only $left s left for the drafters; giving them 40" >&2
  DRAFT_S=$(( left > 40 ? left : 40 ))
fi
stamp "drafters budget: $DRAFT_S s"
COMMON=(train --preset "$PRESET" --stages drafters --target_from "$TARGET_PT" --pack "$GREEDY" --budget_s "$DRAFT_S"
        --code_commit "${CODE_COMMIT:-unknown}" --reserve_s 15 --threads "$THREADS" --distill_exit --prophet_unroll 4
        --prophet_ce_weight 0.5 --draft_distill 0.5 --dropout 0)
# shellcheck disable=SC2034
declare -A DRAFTER_ARGS=(
  [init]="--init_from $INIT --lr 1e-3"
  [deep]="--init_from $INIT --lr 1e-3 --prophet_n_layers 2"  # a 2-block prophet grown from the shipped one
  [fresh]=""
  [more]="--init_from $INIT --lr 5e-4"  # with TARGET_FROM: more training for drafters already made for that target
  # distill.sh's variants: from scratch at several widths, and fine-tuned (ft is more's flags)
  [wide]="--prophet_d_model 256"
  [mid]="--prophet_d_model 192 --draft_d_model 128 --draft_n_heads 2"
  [narrow]="--prophet_d_model 128 --draft_d_model 192 --draft_n_layers 1"
  [narrow2]="--prophet_d_model 128 --prophet_n_layers 2 --draft_d_model 128 --draft_n_heads 2 --draft_n_layers 1"
  [ft]="--init_from $INIT --lr 5e-4"
  [ftce]="--init_from $INIT --lr 1e-3 --prophet_ce_weight 1.0 --draft_distill 0.3 --exit_distill 0.3"
)
pids=()
for v in ${DRAFTERS//,/ }; do
  mkdir -p "$WORK/d-$v"
  # shellcheck disable=SC2086
  "$PYTHON" -u native-models/train_t2s.py "${COMMON[@]}" --out "$WORK/d-$v" ${DRAFTER_ARGS[$v]} ${TRAIN_ARGS:-} > "$WORK/d-$v/train.out" 2>&1 &
  pids+=($!)
  stamp "drafters $v: pid $!, ${DRAFTER_ARGS[$v]}"
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
for v in ${DRAFTERS//,/ }; do
  echo "== drafters $v"
  tail -2 "$WORK/d-$v/train.out"
  "$PYTHON" native-models/gpu/bundle.py pack "$WORK/d-$v" "$OUT/$v.tar" || status=1
done
cp "$GREEDY/meta.json" "$WORK/logs/greedy-meta.json"
tar -cf "$OUT/logs.tar" -C "$WORK/logs" .
stamp "done"
ls -la "$OUT"
exit $status
