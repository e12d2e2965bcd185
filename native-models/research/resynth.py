"""
Resynthesis ceiling of the speaking stage: test clips' teacher audio -> units (the voice's codebook)
-> the app's speaker (speak.ts, one thread) -> pocketsphinx WER, against the teacher audio's WER.

  /usr/bin/python3 native-models/research/resynth.py --n 100 [--speaker DIR] [--name resynthesis]

A speaker at another rate than 16 kHz is heard by pocketsphinx resampled to 16 kHz (spear_voice/speaker/asr.py).
Writes native-models/work/reports/<name>.{json,md} and the spoken clips to native-models/work/<name>/.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.speaker.asr import corpus_wer, transcribe  # noqa: E402
from spear_voice.units.make_units import Codebook, clip_features, unit_vectors  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / 'native-models/work'

p = argparse.ArgumentParser()
p.add_argument('--n', type=int, default=100, help='test sentences (the first n with audio)')
p.add_argument('--speaker', default=str(ROOT / 'native-models/voice/speaker'))
p.add_argument('--name', default='resynthesis', help='name of the report and of the folder of spoken clips')
args = p.parse_args()

book = Codebook.load(Path(args.speaker) / 'codebook.npz')
rows = [json.loads(l) for l in open(WORK / 'corpus/test.jsonl')]
rows = [r for r in rows if (WORK / f'wav/{r["id"]}.wav').exists()][:args.n]
out = WORK / args.name
out.mkdir(parents=True, exist_ok=True)
with open(out / 'units.jsonl', 'w') as f:
    for r in rows:
        units = book.assign(unit_vectors(clip_features(WORK / f'wav/{r["id"]}.wav', book.cfg), book.cfg))
        f.write(json.dumps({'id': r['id'], 'units': units.tolist()}) + '\n')
speak = subprocess.run(['node', '--import', 'tsx', 'native-models/tools/speaker/speak.ts', args.speaker, str(out / 'units.jsonl'),
                        str(out / 'wav')], cwd=ROOT, capture_output=True, text=True, check=True)
timing = json.loads(speak.stdout.strip().splitlines()[-1])
t = time.time()
teacher = [(r['text'], transcribe(WORK / f'wav/{r["id"]}.wav')) for r in rows]
resynth = [(r['text'], transcribe(out / f'wav/{r["id"]}.wav')) for r in rows]
manifest = json.load(open(Path(args.speaker) / 'speaker.json'))
report = {
    'sentences': len(rows),
    'teacher_wer': corpus_wer(teacher),
    'resynthesis_wer': corpus_wer(resynth),
    'speak_timing': timing,
    'speaker': {'files': manifest['files'], 'training': manifest.get('training')},
    'examples': [{'id': r['id'], 'text': r['text'], 'teacher': a, 'resynthesis': b}
                 for r, (_, a), (_, b) in zip(rows, teacher, resynth)],
}
(WORK / 'reports').mkdir(parents=True, exist_ok=True)
json.dump(report, open(WORK / f'reports/{args.name}.json', 'w'), indent=1)
with open(WORK / f'reports/{args.name}.md', 'w') as f:
    f.write(f'# Resynthesis ({len(rows)} test sentences)\n\n')
    f.write('| audio | pocketsphinx WER |\n| --- | --- |\n')
    f.write(f'| teacher (Festival HTS slt) | {report["teacher_wer"]:.3f} |\n')
    f.write(f'| teacher -> units -> speaker | {report["resynthesis_wer"]:.3f} |\n\n')
    f.write(f'speak(): {timing["audio_s"]:.1f} s of audio in {timing["speak_s"]:.2f} s on one thread '
            f'(real-time factor {timing["speak_rtf"]:.4f}; network alone {timing["network_rtf"]:.4f})\n\n')
    f.write('| id | text | teacher heard | resynthesis heard |\n| --- | --- | --- | --- |\n')
    for e in report['examples'][:10]:
        f.write(f'| {e["id"]} | {e["text"]} | {e["teacher"]} | {e["resynthesis"]} |\n')
print(open(WORK / f'reports/{args.name}.md').read())
