"""
25 Hz vs 50 Hz units, measured: for each rate, fit a codebook on train clips, quantise val clips, and
resynthesise them with no network at all: each unit is replaced by the mean vocoder frames of its
cluster (fit set), vocoded by the TypeScript source-filter vocoder, transcribed by pocketsphinx.
A floor on what a speaking network (which sees context) can do from those units.

  /usr/bin/python3 native-models/research/compare_rates.py --n 20 --fit 800
  /usr/bin/python3 native-models/research/compare_rates.py --n 100 --rates 4 --variant '{"pitch_weight": 0}' --tag nopitch --teacher_pitch

--teacher_pitch resynthesises with the cluster means' envelope but the clip's own log f0 and voicing: how
much the units say about the spectrum alone (the speaking network predicts pitch from context).

Writes native-models/work/reports/unit-rates.{json,md}.
"""
import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.speaker.asr import corpus_wer, transcribe  # noqa: E402
from spear_voice.speaker.features import write_feature_file  # noqa: E402
from spear_voice.units.make_units import (WORK, UnitConfig, fit_codebook, load_or_extract, split_ids,  # noqa: E402
                              unit_vectors)

ROOT = WORK.parents[1]
p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=20)
p.add_argument('--fit', type=int, default=800)
p.add_argument('--rates', default='4,2', help='frames per unit to compare')
p.add_argument('--n_units', type=int, default=UnitConfig.n_units)
p.add_argument('--variant', default='', help='UnitConfig overrides as JSON, e.g. {"deltas": false}')
p.add_argument('--tag', default='', help='label of this variant in the report')
p.add_argument('--teacher_pitch', action='store_true', help="keep each clip's own log f0 and voicing (envelope from the units)")
p.add_argument('--jobs', type=int, default=2, help='pocketsphinx processes at once')
p.add_argument('--with_teacher', action='store_true', help="also transcribe the clips' teacher audio (the reference row)")
args = p.parse_args()

frames_dir = WORK / 'units/frames'          # features are padded to 25 Hz units, a multiple of both rates
frames_dir.mkdir(parents=True, exist_ok=True)
base = UnitConfig(n_units=args.n_units)
variant = json.loads(args.variant) if args.variant else {}
fit_ids = [c for c in split_ids('train') if (WORK / f'wav/{c}.wav').exists()][:args.fit]
val = [json.loads(l) for l in open(WORK / 'corpus/val.jsonl')]
val = [r for r in val if (WORK / f'wav/{r["id"]}.wav').exists()][:args.n]
results = {'fit_utterances': len(fit_ids), 'sentences': len(val)}
if args.with_teacher:
    with ThreadPoolExecutor(args.jobs) as pool:
        heard = list(pool.map(lambda r: transcribe(WORK / f'wav/{r["id"]}.wav'), val))
    wer = corpus_wer([(r['text'], h) for r, h in zip(val, heard)])
    results[f'teacher audio, {len(val)} val'] = {'centroid_resynthesis_wer': wer, 'sentences': len(val), 'unit_entropy_bits': 0.0,
                                                'bits_per_second': 0.0, 'hypotheses': heard}
    print(f'teacher audio: WER {wer:.3f}', flush=True)
for fpu in [int(r) for r in args.rates.split(',')]:
    cfg = replace(base, frames_per_unit=fpu, **variant)
    book = fit_codebook(fit_ids, cfg, frames_dir)
    # cluster means of the vocoder frames (frames_per_unit x (n_mels+2)) over the fit set
    D = cfg.n_mels + 2
    sums = np.zeros((cfg.n_units, fpu * D))
    counts = np.zeros(cfg.n_units)
    for cid in fit_ids:
        vf = load_or_extract(cid, base, frames_dir)
        u = book.assign(unit_vectors(vf, cfg))
        np.add.at(sums, u, vf.reshape(-1, fpu * D))
        np.add.at(counts, u, 1)
    means = sums / np.maximum(counts, 1)[:, None]
    out = WORK / f'unit-rates/{fpu}{args.tag}{"-teacher-pitch" if args.teacher_pitch else ""}'
    (out / 'feat').mkdir(parents=True, exist_ok=True)
    used = []
    for r in val:
        vf = load_or_extract(r['id'], base, frames_dir)
        u = book.assign(unit_vectors(vf, cfg))
        used.append(u)
        frames = means[u].reshape(-1, D)
        if args.teacher_pitch:
            frames[:, -2:] = vf[:, -2:]
        write_feature_file(out / f'feat/{r["id"]}.feat', frames)
    log = subprocess.run(['node', '--import', 'tsx', 'native-models/tools/speaker/vocode.ts', '--vocoder', 'source-filter',
                          str(out / 'feat'), str(out / 'wav')], cwd=ROOT, capture_output=True, text=True, check=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        pairs = list(zip([r['text'] for r in val], pool.map(lambda r: transcribe(out / f'wav/{r["id"]}.wav'), val)))
    u = np.concatenate(used)
    hist = np.bincount(u, minlength=cfg.n_units) / len(u)
    entropy = float(-(hist[hist > 0] * np.log2(hist[hist > 0])).sum())
    rate = 100 / fpu
    key = f'{rate:g} Hz, {cfg.n_units} units{", " + args.tag if args.tag else ""}{", teacher pitch" if args.teacher_pitch else ""}'
    results[key] = {'config': asdict(cfg), 'centroid_resynthesis_wer': corpus_wer(pairs), 'sentences': len(val),
                               'unit_entropy_bits': entropy, 'bits_per_second': entropy * rate,
                               'hypotheses': [h for _, h in pairs]}
    print(f'{rate:g} Hz, {cfg.n_units} units: centroid resynthesis WER {corpus_wer(pairs):.3f}, entropy {entropy:.2f} bits/unit', flush=True)
(WORK / 'reports').mkdir(parents=True, exist_ok=True)
report = WORK / 'reports/unit-rates.json'
if report.exists():                         # keep earlier comparisons (other vocabulary sizes)
    results = {**json.load(open(report)), **results}
json.dump(results, open(report, 'w'), indent=1)
with open(WORK / 'reports/unit-rates.md', 'w') as f:
    f.write(f'# Unit rate: centroid resynthesis ({len(val)} val sentences, codebooks fitted on {len(fit_ids)} train clips)\n\n')
    f.write('| units | val clips | WER | entropy bits/unit | bits/s |\n| --- | --- | --- | --- | --- |\n')
    for k, v in results.items():
        if isinstance(v, dict):
            f.write(f'| {k} | {v.get("sentences", 20)} | {v["centroid_resynthesis_wer"]:.3f} | {v["unit_entropy_bits"]:.2f} | '
                    f'{v["bits_per_second"]:.0f} |\n')
