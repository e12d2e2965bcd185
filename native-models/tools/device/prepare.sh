#!/usr/bin/env bash
# The training pack for run.sh's train stage, made on this CPU machine (the GPU machine has no Festival):
# the corpus with everyday prose, its teacher audio, its units in the shipped speaker's codebook, and the pack
# native-models/work/pack-everyday, which pack.sh then carries. Every step resumes where it stopped.
#
#   native-models/tools/device/prepare.sh [--steps select,render,units,pack]
#
#   select  corpus.ts --everyday --steps gather,select $CORPUS_ARGS: rewrites native-models/work/corpus/
#           {train,val,test}.jsonl (docs/text-and-corpus.md; the held-out splits follow the new selection)
#   render  Festival's teacher audio of every sentence into native-models/work/wav, skipping clips already there
#           (about 15 sentences/s on 2 cores: over an hour for 70,000 sentences)
#   units   the clips' units in the shipped speaker's codebook (native-models/voice/speaker/codebook.npz), so the
#           retrained reader speaks through the shipped speaker; into work/units when its codebook is that one
#           (or it has none yet), else into work/units-everyday
#   pack    spear_voice.train_t2s pack → native-models/work/pack-everyday
#
# CORPUS_ARGS (default: the shipped target's caps, --target-train 80000 --eval-until-train 10000
# --extra-caps 200,4000,32) and WORKERS (render processes, default 2) change the first two steps.
set -euo pipefail
cd "$(dirname "$0")/../../.."
STEPS=select,render,units,pack
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS=$2; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "prepare.sh: unknown option $1 (--steps select,render,units,pack)" >&2; exit 2 ;;
  esac
  shift
done
for step in ${STEPS//,/ }; do
  case "$step" in select | render | units | pack) ;; *) echo "prepare.sh: unknown step $step (select, render, units, pack)" >&2; exit 2 ;; esac
done
wants() { [[ ",$STEPS," == *",$1,"* ]]; }
CORPUS_ARGS=${CORPUS_ARGS:---target-train 80000 --eval-until-train 10000 --extra-caps 200,4000,32}
WORK=native-models/work
SHIPPED_CODEBOOK=native-models/voice/speaker/codebook.npz
PYTHON=/usr/bin/python3

if wants select; then
  # shellcheck disable=SC2086 # CORPUS_ARGS is a list of options
  node --import tsx native-models/tools/data/corpus.ts --everyday --steps gather,select $CORPUS_ARGS
fi

if wants render; then
  node --import tsx native-models/tools/data/corpus.ts --steps render --workers "${WORKERS:-2}"
fi

if wants units; then
  UNITS=$WORK/units
  if [ -f "$UNITS/codebook.npz" ] && ! cmp -s "$UNITS/codebook.npz" "$SHIPPED_CODEBOOK"; then
    UNITS=$WORK/units-everyday
    echo "prepare: $WORK/units/codebook.npz is not the shipped speaker's; units go to $UNITS"
  fi
  mkdir -p "$UNITS"
  [ -f "$UNITS/codebook.npz" ] || cp "$SHIPPED_CODEBOOK" "$UNITS/codebook.npz"
  (cd native-models && "$PYTHON" -m spear_voice.units.make_units --out "$PWD/../$UNITS")
  echo "$UNITS" >"$WORK/.pack-everyday-units"
fi

if wants pack; then
  UNITS=$(cat "$WORK/.pack-everyday-units" 2>/dev/null || echo "$WORK/units")
  [ -f "$UNITS/train.jsonl" ] || { echo "prepare: $UNITS/train.jsonl is missing: run the units step first" >&2; exit 1; }
  cmp -s "$UNITS/codebook.npz" "$SHIPPED_CODEBOOK" || { echo "prepare: $UNITS is not in the shipped speaker's codebook" >&2; exit 1; }
  (cd native-models && "$PYTHON" -m spear_voice.train_t2s pack --corpus work/corpus --units "${UNITS#native-models/}" \
    --n-units 1024 --out work/pack-everyday)
  echo "prepare: native-models/work/pack-everyday is ready; native-models/tools/device/pack.sh carries it"
fi
