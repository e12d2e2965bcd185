"""
Frame targets for a speaker at another sample rate than the units: the vocoder features of the clips'
audio at that rate (work/wav-<rate>/, rendered from the same Festival output as work/wav/: corpus.ts
--rates 16000,24000), one file per clip that has units, exactly 4 frames per unit.

  python3 -m spear_voice.speaker.targets --rate 24000     # -> work/units/frames-24000/

The units themselves stay those of the 16 kHz audio (units/make_units.py), so the reader, trained on
them, speaks through the new speaker unchanged. Outputs:
  frames-<rate>/<id>.npy      (4 * units, n_mels + 2) float32 at the rate's geometry (features.GEOMETRIES)
  frames-<rate>/features.json the geometry and band count, which train.py carries into the checkpoint
Resumable: clips whose .npy exists are skipped.
"""
import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import WORK
from .features import GEOMETRIES, N_MELS, VocoderFeatureConfig, read_wav, vocoder_features


def clip_targets(wav: Path, n_units: int, rate: int, frames_per_unit: int = 4) -> np.ndarray:
    """(n_units * frames_per_unit, n_mels + 2): the clip cut or zero-padded to exactly n_units units."""
    g = GEOMETRIES[rate]
    x = read_wav(wav, rate)
    n = n_units * frames_per_unit * g.hop
    x = np.pad(x[:n], (0, max(0, n - len(x))))                          # sox's length may differ by a sample
    return vocoder_features(x, VocoderFeatureConfig(n_mels=N_MELS[rate]), g)


def main():
    p = argparse.ArgumentParser(prog='python3 -m spear_voice.speaker.targets')
    p.add_argument('--rate', type=int, default=24000, choices=sorted(GEOMETRIES))
    p.add_argument('--units', default=str(WORK / 'units'), help='units folder (make_units.py)')
    p.add_argument('--wav', default='', help='audio at --rate (default work/wav-<rate>)')
    p.add_argument('--splits', default='val,test,train')
    args = p.parse_args()
    units_dir = Path(args.units)
    wav_dir = Path(args.wav or WORK / f'wav-{args.rate}')
    out = units_dir / f'frames-{args.rate}'
    out.mkdir(parents=True, exist_ok=True)
    meta = {**asdict(GEOMETRIES[args.rate]), 'n_mels': N_MELS[args.rate]}
    (out / 'features.json').write_text(json.dumps(meta, indent=1) + '\n')
    for split in args.splits.split(','):
        done = missing = 0
        for line in open(units_dir / f'{split}.jsonl'):
            row = json.loads(line)
            path, wav = out / f'{row["id"]}.npy', wav_dir / f'{row["id"]}.wav'
            if path.exists():
                done += 1
                continue
            if not wav.exists():
                missing += 1
                continue
            tmp = out / f'{row["id"]}.tmp.npy'
            np.save(tmp, clip_targets(wav, len(row['units']), args.rate))
            os.replace(tmp, path)
            done += 1
        print(f'{split}: {done} clips have {args.rate} Hz targets, {missing} lack audio', flush=True)


if __name__ == '__main__':
    main()
