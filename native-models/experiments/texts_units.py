"""The teacher's units of a work folder made by texts_corpus.mts --render, with the frozen codebook.

    /usr/bin/python3 native-models/experiments/texts_units.py DIR [--codebook native-models/work/units/codebook.npz]

Reads DIR/corpus/test.jsonl and DIR/wav/<id>.wav; writes DIR/units/test.jsonl ({"id", "units"}, as
make_units.py does for the corpus), so that `spear eval --work DIR` can score teacher, resynthesis and
pipeline audio on those texts.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from units.make_units import WORK, Codebook, clip_features, unit_vectors  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", type=Path)
    p.add_argument("--codebook", type=Path, default=WORK / "units/codebook.npz")
    args = p.parse_args()
    book = Codebook.load(args.codebook)
    (args.dir / "units").mkdir(exist_ok=True)
    rows = [json.loads(line) for line in open(args.dir / "corpus/test.jsonl")]
    lines = []
    for r in rows:
        units = book.assign(unit_vectors(clip_features(args.dir / f"wav/{r['id']}.wav", book.cfg), book.cfg))
        lines.append(json.dumps({"id": r["id"], "units": units.tolist()}))
    tmp = args.dir / "units/test.jsonl.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(args.dir / "units/test.jsonl")
    print(f"{args.dir}/units/test.jsonl: {len(lines)} sentences")


if __name__ == "__main__":
    main()
