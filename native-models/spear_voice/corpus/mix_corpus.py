"""A corpus and units folder that mixes a sample of one corpus's train sentences with another's, for
`spear_voice.train_t2s pack` (docs/text-and-corpus.md: the LM-sampled everyday sentences).

    python3 -m spear_voice.corpus.mix_corpus --base native-models/work/corpus-37k \\
        --base-units native-models/work/units --base-sample 16000 --add native-models/work/lm --out native-models/work/mix-lm
    python3 -m spear_voice.train_t2s pack --corpus native-models/work/mix-lm/corpus \\
        --units native-models/work/mix-lm/units --n-units 1024 --unit-rate 25 --out native-models/work/pack-mix-lm

Validation and test come from the base, unchanged (held out everywhere); train is a seeded
random sample of the base's train sentences that have units (all of them with --base-sample 0) plus
every train sentence of --add (a folder with corpus/train.jsonl and units/train.jsonl) that has units.
"""
import argparse
import json
import random
from pathlib import Path

from ..t2s.data import read_jsonl, write_atomic


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, required=True, help="corpus folder: {train,val,test}.jsonl")
    p.add_argument("--base-units", type=Path, required=True, help="units folder: {train,val,test}.jsonl")
    p.add_argument("--base-sample", type=int, default=0, help="train sentences taken from the base (0: all)")
    p.add_argument("--add", type=Path, required=True, help="folder with corpus/train.jsonl and units/train.jsonl")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    for split in ("val", "test"):
        write_jsonl(args.out / f"corpus/{split}.jsonl", read_jsonl(args.base / f"{split}.jsonl"))
        write_jsonl(args.out / f"units/{split}.jsonl", read_jsonl(args.base_units / f"{split}.jsonl"))
    base_units = {r["id"]: r for r in read_jsonl(args.base_units / "train.jsonl")}
    base = [r for r in read_jsonl(args.base / "train.jsonl") if r["id"] in base_units]
    if args.base_sample:
        base = random.Random(args.seed).sample(base, min(args.base_sample, len(base)))
    add_units = {r["id"]: r for r in read_jsonl(args.add / "units/train.jsonl")}
    added = [r for r in read_jsonl(args.add / "corpus/train.jsonl") if r["id"] in add_units]
    held_out = {r["id"] for split in ("val", "test") for r in read_jsonl(args.base / f"{split}.jsonl")}
    clash = [r["id"] for r in base + added if r["id"] in held_out]
    if clash:
        raise ValueError(f"train sentences also held out: {clash[:5]}")
    train = base + added
    write_jsonl(args.out / "corpus/train.jsonl", train)
    write_jsonl(args.out / "units/train.jsonl", [base_units.get(r["id"]) or add_units[r["id"]] for r in train])
    print(f"{args.out}: train {len(base)} from {args.base} + {len(added)} from {args.add}; val and test from the base")


if __name__ == "__main__":
    main()
