"""Does a reading's length flag the reader's errors? Pipeline and resynthesis word errors per sentence,
grouped by the pipeline's unit count over the teacher's (a skipped phrase shortens a reading).

    /usr/bin/python3 native-models/eval_length.py --text-out /tmp/test.txt
    node bin/spear.mjs synth --file /tmp/test.txt -o /tmp/test.wav --units-out /tmp/test-units.json -q
    /usr/bin/python3 native-models/eval_length.py native-models/work/reports/eval-s3/eval.json /tmp/test-units.json

--text-out writes the test sentences in `spear eval`'s order (sorted by id), one paragraph each, so the
synth's sentences line up with the report's transcripts; the script checks that they do.
"""

import argparse
import json
from pathlib import Path

from speaker.asr import edit_distance, normalise

BANDS = ((0.0, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.05), (1.05, 1.2), (1.2, float("inf")))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("eval_json", type=Path, nargs="?", help="spear eval's eval.json (its transcripts)")
    parser.add_argument("units_json", type=Path, nargs="?", help="spear synth --units-out of the same sentences, same order")
    parser.add_argument("--work", type=Path, default=Path("native-models/work"), help="holds corpus/ and units/ (teacher units)")
    parser.add_argument("--text-out", type=Path, help="write the test sentences for spear synth and stop")
    args = parser.parse_args()
    if args.text_out:
        test = sorted(map(json.loads, (args.work / "corpus/test.jsonl").read_text().splitlines()), key=lambda r: r["id"])
        args.text_out.write_text("\n\n".join(r["text"] for r in test) + "\n")
        return
    if not (args.eval_json and args.units_json):
        parser.error("give eval.json and the units JSON, or --text-out")
    transcripts = json.loads(args.eval_json.read_text())["transcripts"]
    readings = json.loads(args.units_json.read_text())["sentences"]
    if len(readings) != len(transcripts):
        raise SystemExit(f"{args.units_json}: {len(readings)} sentences, {args.eval_json} has {len(transcripts)}")
    teacher = {r["id"]: r["units"] for r in map(json.loads, (args.work / "units/test.jsonl").read_text().splitlines())}
    rows = []
    for t, r in zip(transcripts, readings):
        if normalise(t["text"]) != normalise(r["text"]):
            raise SystemExit(f"sentence {t['id']}: the synth's text differs from the report's; use the report's order")
        ref = normalise(t["text"])
        rows.append((len(r["units"]) / max(1, len(teacher[t["id"]])), edit_distance(ref, normalise(t["pipeline"])),
                     edit_distance(ref, normalise(t["resynthesis"])), len(ref)))
    print("| pipeline units / teacher units | sentences | words | pipeline WER | resynthesis WER | pipeline − resynthesis errors |")
    print("| --- | --- | --- | --- | --- | --- |")
    for lo, hi in BANDS:
        band = [x for x in rows if lo <= x[0] < hi]
        if band:
            n, p, s = sum(x[3] for x in band), sum(x[1] for x in band), sum(x[2] for x in band)
            print(f"| {lo:.2f}–{hi:.2f} | {len(band)} | {n} | {p / n:.3f} | {s / n:.3f} | {p - s} |")


if __name__ == "__main__":
    main()
