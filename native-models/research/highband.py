"""
The high band of the studio's audio: the share of each audio's energy above 9 kHz, on the first n test
sentences, for
  - the teacher at 24 kHz (work/wav-24000, corpus.ts --rates 16000,24000),
  - resynthesis: the teacher's 16 kHz audio -> units (the speaker's codebook) -> the app's speak() (speak.ts),
  - the pipeline: `spear synth` of each sentence's text by the voice with this speaker (one thread).
Shares are pooled (the sentences' energy above 9 kHz over their total energy), and given as a fraction of
the teacher's. Audio at 16 kHz has nothing above its 8 kHz Nyquist frequency: its share is 0.

  /usr/bin/python3 native-models/research/highband.py --speaker native-models/voice/speaker [--n 20] [--name NAME]

Writes native-models/work/reports/NAME.{json,md} (default highband-<speaker folder name>) and the audio to work/NAME/.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.units.make_units import Codebook, clip_features, unit_vectors  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / 'native-models/work'
VOICE = ROOT / 'native-models/voice'
CUT_HZ = 9000.0


def band_energy(path: Path) -> tuple[float, float]:
    """(energy above CUT_HZ, total energy) of a 16-bit mono WAV, from one FFT of the whole file."""
    with wave.open(str(path), 'rb') as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float64) / 32768.0
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    return float(power[freqs > CUT_HZ].sum()), float(power.sum())


def pooled_share(paths) -> float:
    e = np.array([band_energy(p) for p in paths])
    return float(e[:, 0].sum() / e[:, 1].sum())


def voice_with(speaker: Path, into: Path) -> Path:
    """A voice folder that is the shipped voice with `speaker` as its speaker/, made of hard links.
    NOTE: not symbolic links: ONNX Runtime refuses external weights that resolve outside the model's folder."""
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(VOICE, into, copy_function=os.link, ignore=lambda d, names: ['speaker'] if Path(d) == VOICE else [])
    shutil.copytree(speaker, into / 'speaker', copy_function=os.link)
    return into


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--speaker', default=str(VOICE / 'speaker'))
    p.add_argument('--n', type=int, default=20, help='test sentences (the first n with audio at both rates)')
    p.add_argument('--name', default='', help='name of the report and of the folder of audio')
    args = p.parse_args()
    speaker = Path(args.speaker)
    book = Codebook.load(speaker / 'codebook.npz')
    rows = [json.loads(line) for line in open(WORK / 'corpus/test.jsonl')]
    rows = [r for r in rows if (WORK / f'wav/{r["id"]}.wav').exists() and (WORK / f'wav-24000/{r["id"]}.wav').exists()][:args.n]
    name = args.name or f'highband-{speaker.resolve().name}'
    out = WORK / name
    (out / 'pipeline').mkdir(parents=True, exist_ok=True)
    with open(out / 'units.jsonl', 'w') as f:
        for r in rows:
            units = book.assign(unit_vectors(clip_features(WORK / f'wav/{r["id"]}.wav', book.cfg), book.cfg))
            f.write(json.dumps({'id': r['id'], 'units': units.tolist()}) + '\n')
    subprocess.run(['node', '--import', 'tsx', 'native-models/tools/speaker/speak.ts', str(speaker), str(out / 'units.jsonl'),
                    str(out / 'resynthesis')], cwd=ROOT, capture_output=True, check=True)
    first_audio_ms = []
    voice = voice_with(speaker, out / 'voice')                          # on the voice's file system, for the hard links
    try:
        for r in rows:
            stats = out / 'stats.json'
            subprocess.run(['node', 'bin/spear.mjs', 'synth', r['text'], '-o', str(out / f'pipeline/{r["id"]}.wav'), '--voice', str(voice),
                            '--threads', '1', '--quiet', '--stats-out', str(stats)], cwd=ROOT, check=True)
            first_audio_ms.append(json.loads(stats.read_text()).get('timeToFirstAudioMs'))
    finally:
        shutil.rmtree(voice)
    teacher = pooled_share(WORK / f'wav-24000/{r["id"]}.wav' for r in rows)
    resynthesis = pooled_share(out / f'resynthesis/{r["id"]}.wav' for r in rows)
    pipeline = pooled_share(out / f'pipeline/{r["id"]}.wav' for r in rows)
    manifest = json.loads((speaker / 'speaker.json').read_text())
    report = {'sentences': len(rows), 'cut_hz': CUT_HZ, 'speaker': str(speaker), 'sample_rate': manifest['sample_rate'],
              'share_above_cut': {'teacher_24k': teacher, 'resynthesis': resynthesis, 'pipeline': pipeline},
              'of_teacher': {'resynthesis': resynthesis / teacher, 'pipeline': pipeline / teacher},
              'first_audio_ms': first_audio_ms}
    (WORK / 'reports').mkdir(parents=True, exist_ok=True)
    (WORK / f'reports/{name}.json').write_text(json.dumps(report, indent=1) + '\n')
    md = (f'# Energy above {CUT_HZ / 1000:g} kHz ({len(rows)} test sentences, speaker {speaker}, {manifest["sample_rate"]} Hz)\n\n'
          '| audio | share of energy | of the teacher\'s |\n| --- | --- | --- |\n'
          f'| teacher (Festival HTS slt, 24 kHz) | {teacher:.2e} | 1 |\n'
          f'| teacher -> units -> speaker (resynthesis) | {resynthesis:.2e} | {resynthesis / teacher:.2f} |\n'
          f'| text -> `spear synth` (pipeline) | {pipeline:.2e} | {pipeline / teacher:.2f} |\n')
    (WORK / f'reports/{name}.md').write_text(md)
    print(md)


if __name__ == '__main__':
    main()
