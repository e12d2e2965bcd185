"""
Oracle vocoder comparison: the ceiling of each TypeScript vocoder when fed features extracted from the
teacher audio itself (teacher -> features -> vocoder -> pocketsphinx WER), against the teacher's WER.

  /usr/bin/python3 native-models/research/oracle.py --n 20

Writes native-models/work/reports/oracle-vocoders.{json,md}.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.speaker.asr import corpus_wer, transcribe  # noqa: E402
from spear_voice.speaker.features import (VocoderFeatureConfig, pad_to_units, read_wav,  # noqa: E402
                              vocoder_features, write_feature_file)

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / 'native-models/work'

p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=20, help='val sentences (the first n with audio)')
p.add_argument('--variants', default='source-filter:40,source-filter:80,griffin-lim:80',
               help='vocoder:n_mels, comma separated')
args = p.parse_args()

rows = [json.loads(l) for l in open(WORK / 'corpus/val.jsonl')]
rows = [r for r in rows if (WORK / f'wav/{r["id"]}.wav').exists()][:args.n]
out = WORK / 'oracle'
results = {'sentences': len(rows), 'ids': [r['id'] for r in rows]}
teacher = [(r['text'], transcribe(WORK / f'wav/{r["id"]}.wav')) for r in rows]
results['teacher'] = {'wer': corpus_wer(teacher)}
print(f'teacher: WER {results["teacher"]["wer"]:.3f}', flush=True)
for variant in args.variants.split(','):
    vocoder, n_mels = variant.split(':')
    feat_dir, wav_dir = out / f'feat-{n_mels}', out / f'wav-{vocoder}-{n_mels}'
    feat_dir.mkdir(parents=True, exist_ok=True)
    for r in rows:
        x = pad_to_units(read_wav(WORK / f'wav/{r["id"]}.wav'), 640)
        write_feature_file(feat_dir / f'{r["id"]}.feat', vocoder_features(x, VocoderFeatureConfig(n_mels=int(n_mels))))
    log = subprocess.run(['node', '--import', 'tsx', 'native-models/tools/speaker/vocode.ts', '--vocoder', vocoder,
                          str(feat_dir), str(wav_dir)], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    pairs = [(r['text'], transcribe(wav_dir / f'{r["id"]}.wav')) for r in rows]
    results[variant] = {'wer': corpus_wer(pairs), 'vocoder_log': log.strip(),
                        'hypotheses': [h for _, h in pairs]}
    print(f'{variant}: WER {results[variant]["wer"]:.3f}  ({log.strip()})', flush=True)

(WORK / 'reports').mkdir(parents=True, exist_ok=True)
report = WORK / 'reports/oracle-vocoders.json'
if report.exists():                            # keep variants measured by earlier runs on the same clips
    earlier = json.load(open(report))
    if earlier.get('ids') == results['ids']:
        results = {**earlier, **results}
json.dump(results, open(report, 'w'), indent=1)
with open(WORK / 'reports/oracle-vocoders.md', 'w') as f:
    f.write(f'# Oracle vocoders ({len(rows)} val sentences)\n\n| audio | WER |\n| --- | --- |\n')
    f.write(f'| teacher | {results["teacher"]["wer"]:.3f} |\n')
    for variant, r in results.items():
        if isinstance(r, dict) and variant != 'teacher':
            f.write(f'| {variant} (oracle features) | {r["wer"]:.3f} |\n')
