"""
The neural speaker's data: the teacher (Festival, HTS voice cmu_us_slt_arctic_hts, 32 kHz) reads texts; each clip
is resampled in Python to 24 kHz (the target) and 16 kHz (the units), and its units are quantised with a frozen
codebook by spear_voice/units/make_units.py's own functions. No sox and no node: this runs on the lent GPU
machine with a carried Festival (native-models/tools/device/pack.sh, `festival`).

  python3 -m spear_voice.speaker.teacher --texts TEXTS.jsonl --out DIR [--festival ROOT] [--codebook FILE]
                                         [--workers 16] [--limit N] [--seconds S] [--n-val 32]

TEXTS.jsonl: one {"id": ..., "text": ...} a line (the corpus' rows). DIR gets wav24/<id>.wav, train.jsonl and
val.jsonl ({"id", "units"}: the last --n-val rendered clips are val), and teacher.json (counts, timings).
--festival ROOT runs a carried copy (ROOT/bin/festival with its own loader and libraries in ROOT/lib and its data
in ROOT/share/festival), without it the system's `festival`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from .. import REPO_ROOT

TEACHER_RATE = 32000      # Festival's HTS slt voice
TARGET_RATE = 24000       # the neural speaker's rate
UNIT_RATE_AUDIO = 16000   # the units' features are computed at 16 kHz (speaker/features.py)
VOICE = 'voice_cmu_us_slt_arctic_hts'
BATCH = 16                # sentences per Festival process (render.ts' BATCH: loading the voice costs more than one sentence)
SHIPPED_CODEBOOK = REPO_ROOT / 'native-models/voice/speaker/codebook.npz'


def festival_command(root: Path | None) -> list:
    """The command that runs Festival: a carried copy through its own dynamic loader, so that none of the
    machine's libraries (not even its libc) and none of its /usr/share/festival are used; else the system's."""
    if root is None:
        return ['festival']
    root = Path(root).resolve()
    data = f'{root}/share/festival/'
    return [str(root / 'lib/ld-linux-x86-64.so.2'), '--library-path', str(root / 'lib'), str(root / 'bin/festival'),
            '--libdir', data, '--datadir', data]


def scheme_string(text: str) -> str:
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def read_pcm(path: Path) -> tuple:
    with wave.open(str(path), 'rb') as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f'{path}: want 16-bit mono')
        return np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float64) / 32768.0, w.getframerate()


def write_pcm(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype('<i2')
    tmp = path.with_name(path.name + '.tmp')
    with wave.open(str(tmp), 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Polyphase resampling (scipy's Kaiser-windowed FIR): 32 → 24 kHz is 3/4, 32 → 16 kHz is 1/2."""
    g = np.gcd(rate, to)
    return resample_poly(x, to // g, rate // g)


def render_batch(jobs: list, out: str, festival: list, codebook: str) -> list:
    """One Festival process reads `jobs` [(id, text)]; each clip → wav24/<id>.wav and its units. Returns
    [{"id", "units"}] of the clips that came out (a sentence Festival cannot read is left out)."""
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    from ..units.make_units import Codebook, clip_features, unit_vectors  # the units exactly as make_units makes them
    book = Codebook.load(codebook)
    out = Path(out)
    rows = []
    with tempfile.TemporaryDirectory(prefix='teacher-') as tmp:
        tmp = Path(tmp)
        lines = [f'({VOICE})'] + [f"(utt.save.wave (utt.synth (Utterance Text {scheme_string(text)})) {scheme_string(str(tmp / f'{i}.wav'))} 'riff)"
                                  for i, (_, text) in enumerate(jobs)]
        (tmp / 'batch.scm').write_text('\n'.join(lines) + '\n')
        ran = subprocess.run([*festival, '--batch', str(tmp / 'batch.scm')], capture_output=True, text=True, timeout=600)
        if not (tmp / '0.wav').exists():  # Festival did not start, or failed on the batch's first sentence
            print(f'teacher: {jobs[0][0]} (+{len(jobs) - 1}): Festival exit {ran.returncode}: '
                  f'{" ".join(ran.stderr.split())[-300:]}', file=sys.stderr, flush=True)
        for i, (cid, _) in enumerate(jobs):
            raw = tmp / f'{i}.wav'
            if not raw.exists():
                continue
            x, rate = read_pcm(raw)
            write_pcm(out / 'wav24' / f'{cid}.wav', resample(x, rate, TARGET_RATE), TARGET_RATE)
            wav16 = tmp / f'{i}.16k.wav'
            write_pcm(wav16, resample(x, rate, UNIT_RATE_AUDIO), UNIT_RATE_AUDIO)
            units = book.assign(unit_vectors(clip_features(wav16, book.cfg), book.cfg))
            rows.append({'id': cid, 'units': [int(u) for u in units]})
    return rows


def render_all(texts: list, out: Path, festival: list, codebook: Path, workers: int, seconds: float | None,
               n_val: int, log=print) -> dict:
    """Renders `texts` [(id, text)] in batches on `workers` processes until done or `seconds` have passed (batches
    already started finish); writes train.jsonl, val.jsonl and teacher.json. Returns teacher.json's content."""
    (out / 'wav24').mkdir(parents=True, exist_ok=True)
    start = time.time()
    deadline = start + seconds if seconds else None
    batches = [texts[i:i + BATCH] for i in range(0, len(texts), BATCH)]
    rows, last_log = [], start
    with ProcessPoolExecutor(workers) as pool:
        pending, queue = set(), iter(batches)
        while True:
            while len(pending) < workers and (deadline is None or time.time() < deadline):
                batch = next(queue, None)
                if batch is None:
                    break
                pending.add(pool.submit(render_batch, batch, str(out), festival, str(codebook)))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                rows.extend(future.result())
            if time.time() - last_log >= 10:
                log(f'teacher: {len(rows)} clips in {time.time() - start:.0f} s')
                last_log = time.time()
    if not rows:
        raise SystemExit(f'teacher: none of {len(texts)} texts came out of {festival[0]} (see the messages above)')
    rows.sort(key=lambda r: r['id'])
    val, train = rows[-n_val:] if n_val else [], rows[:-n_val] if n_val else rows
    for name, split in (('train', train), ('val', val)):
        (out / f'{name}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in split))
    units = sum(len(r['units']) for r in rows)
    info = {'texts': len(texts), 'clips': len(rows), 'train': len(train), 'val': len(val), 'units': units,
            'hours': round(units / 25 / 3600, 3), 'seconds': round(time.time() - start, 1), 'workers': workers,
            'festival': festival[0], 'codebook': str(codebook)}
    (out / 'teacher.json').write_text(json.dumps(info, indent=1) + '\n')
    log(f'teacher: {info}')
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--texts', type=Path, required=True)
    ap.add_argument('--out', type=Path, required=True)
    ap.add_argument('--festival', type=Path, help='a carried Festival (pack.sh); default: the system one')
    ap.add_argument('--codebook', type=Path, default=SHIPPED_CODEBOOK)
    ap.add_argument('--workers', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--limit', type=int, help='the first N texts only')
    ap.add_argument('--seconds', type=float, help='start no batch after this many seconds')
    ap.add_argument('--n-val', type=int, default=32)
    args = ap.parse_args(argv)
    texts = [(r['id'], r['text']) for r in map(json.loads, args.texts.read_text().splitlines()) if r.get('text')]
    if args.limit:
        texts = texts[:args.limit]
    render_all(texts, args.out, festival_command(args.festival), args.codebook, args.workers, args.seconds, args.n_val)


if __name__ == '__main__':
    main()
