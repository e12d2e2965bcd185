"""The teacher's units of a work folder made by tools/data/texts_corpus.mts --render, with the frozen codebook.

    python3 -m spear_voice.units.texts_units DIR [--split test] [--codebook native-models/work/units/codebook.npz]

Reads DIR/corpus/<split>.jsonl and DIR/wav/<id>.wav; writes DIR/units/<split>.jsonl ({"id", "units"}, as
make_units.py does for the corpus): the test split lets `spear eval --work DIR` score teacher, resynthesis
and pipeline audio on those texts; the train split adds training sentences (`spear_voice.train_t2s pack`). A
sentence whose audio is missing (a failed render) is left out and counted.
"""
import argparse
import json
from pathlib import Path

from .. import WORK
from ..t2s.data import read_jsonl, write_atomic
from .make_units import Codebook, clip_features, unit_vectors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", type=Path)
    p.add_argument("--split", default="test")
    p.add_argument("--codebook", type=Path, default=WORK / "units/codebook.npz")
    args = p.parse_args()
    book = Codebook.load(args.codebook)
    (args.dir / "units").mkdir(exist_ok=True)
    rows = read_jsonl(args.dir / f"corpus/{args.split}.jsonl")
    lines, missing = [], 0
    for i, r in enumerate(rows):
        wav = args.dir / f"wav/{r['id']}.wav"
        if not wav.exists():
            missing += 1
            continue
        units = book.assign(unit_vectors(clip_features(wav, book.cfg), book.cfg))
        lines.append(json.dumps({"id": r["id"], "units": units.tolist()}))
        if (i + 1) % 1000 == 0:
            print(f"{i + 1}/{len(rows)}", flush=True)
    out = args.dir / f"units/{args.split}.jsonl"
    write_atomic(out, "\n".join(lines) + "\n")
    print(f"{out}: {len(lines)} sentences ({missing} without audio)")


if __name__ == "__main__":
    main()
