"""
Packs the speaking network's training data into one small folder (default native-models/work/speaker-pack/), for
a machine that has the repository and this folder but not the corpus, its audio or its units:

  meta.json    counts, selection, quantisation and its measured error
  prior.npz    target_mean, target_std (D,) and lookup (n_units, frames_per_unit * D): train.py's data_prior
               over ALL train clips, so a run on the pack normalises and starts exactly as a full-data run
  train.npz    the first n train clips, as train.py --max_clips n picks them: all of them, or as many as fit
               --max_mb
  val.npz      the first --val_clips val clips (train.py's evaluation uses the first eval_clips)

A split holds ids (n,), lengths (n,) int32 (units per clip), units (sum of lengths,) int16, and the frames
(sum of lengths * frames_per_unit, D) quantised per dimension: code = round((x - lo) / span * levels), stored
as the (D, frames) code matrix's differences along time modulo 256 (zlib then packs them 15 % smaller than
the codes), with lo and span (D,) float32. Decoding is lo + code / levels * span: voicing (0 or 1) comes back
exactly; 8 bits cost 0.007 of a normalised log-mel's standard deviation on average (measured: meta.json).

  python3 -m spear_voice.speaker.pack [--max_mb 36]     # 30 s, 3.4 GB of memory; prints size, counts, error
"""
import argparse
import json
import zlib
from pathlib import Path

import numpy as np

from .. import WORK

PACK = WORK / 'speaker-pack'


def quantise(frames: np.ndarray, bits: int):
    """(F, D) float32 -> codes (F, D) uint8, lo (D,), span (D,) float32."""
    levels = 2 ** bits - 1
    lo, span = frames.min(0), frames.max(0) - frames.min(0)
    span = np.where(span > 0, span, 1.0).astype(np.float32)
    codes = np.rint((frames - lo) / span * levels).clip(0, levels).astype(np.uint8)
    return codes, lo.astype(np.float32), span


def dequantise(codes: np.ndarray, lo: np.ndarray, span: np.ndarray, levels: int) -> np.ndarray:
    return lo + codes.astype(np.float32) / levels * span          # train.py's Clips.decode, on the device


def time_deltas(codes: np.ndarray) -> np.ndarray:
    """(F, D) codes -> (D, F) differences along time, modulo 256 (uint8 arithmetic wraps)."""
    d = codes.T.copy()                                                    # (D, F), C order
    d[:, 1:] -= codes.T[:, :-1]
    return d


def write_split(path: Path, ids, units: np.ndarray, lengths: np.ndarray, codes, lo, span, bits: int):
    np.savez_compressed(path, ids=np.array(ids), lengths=lengths.astype(np.int32), units=units.astype(np.int16),
                        frame_deltas=time_deltas(codes), lo=lo, span=span, levels=np.int32(2 ** bits - 1))


def read_split(path: Path) -> dict:
    """A split as numpy arrays: ids, lengths, units (int64), codes (F, D) uint8, lo, span, levels."""
    z = np.load(path)
    codes = np.cumsum(z['frame_deltas'], axis=1, dtype=np.uint8).T   # (F, D); the sum wraps modulo 256 like the deltas
    return {'ids': z['ids'], 'lengths': z['lengths'].astype(np.int64), 'units': z['units'].astype(np.int64),
            'codes': np.ascontiguousarray(codes), 'lo': z['lo'], 'span': z['span'], 'levels': int(z['levels'])}


def read_prior(pack: Path):
    z = np.load(pack / 'prior.npz')
    return z['target_mean'], z['target_std'], z['lookup']


def quantisation_error(frames, codes, lo, span, bits, std) -> dict:
    """Mean and max |x - decoded| in the model's normalised units (divided by target_std)."""
    err = np.abs(dequantise(codes, lo, span, 2 ** bits - 1) - frames) / std
    return {'mel_mean': float(err[:, :-2].mean()), 'mel_max': float(err[:, :-2].max()),
            'f0_mean': float(err[:, -2].mean()), 'f0_max': float(err[:, -2].max()), 'vuv_max': float(err[:, -1].max())}


def main():
    from .model import SpeakerConfig
    from .train import TrainConfig, data_prior, load_split  # train.py reads packs with this module's read_split

    p = argparse.ArgumentParser(prog='python3 -m spear_voice.speaker.pack')
    p.add_argument('--out', default=str(PACK))
    p.add_argument('--max_mb', type=float, default=0.0, help='the whole folder, in 1e6 bytes (0: every train clip)')
    p.add_argument('--val_clips', type=int, default=TrainConfig.eval_clips, help="train.py's eval_clips")
    p.add_argument('--bits', type=int, default=8, help='quantisation of each frame dimension (at most 8)')
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mcfg = SpeakerConfig()
    fpu = mcfg.frames_per_unit

    train = load_split('train')                                           # every train clip with frames, in file order
    units = np.concatenate([u for _, u, _ in train])
    frames = np.concatenate([f for _, _, f in train])                    # (F, D) float32
    mean, std, lookup = data_prior(units, frames, mcfg)
    np.savez_compressed(out / 'prior.npz', target_mean=mean, target_std=std, lookup=lookup)
    print(f'prior from all {len(train)} train clips ({len(units)} units)', flush=True)

    val = load_split('val', args.val_clips)
    val_units, val_frames = np.concatenate([u for _, u, _ in val]), np.concatenate([f for _, _, f in val])
    val_codes, val_lo, val_span = quantise(val_frames, args.bits)
    write_split(out / 'val.npz', [i for i, _, _ in val], val_units, np.array([len(u) for _, u, _ in val]),
                val_codes, val_lo, val_span, args.bits)

    # first n train clips that fit: estimate each clip's compressed size in chunks, then write and trim
    codes, lo, span = quantise(frames, args.bits)
    lengths = np.array([len(u) for _, u, _ in train])
    unit_end = np.cumsum(lengths)
    used = sum(f.stat().st_size for f in [out / 'prior.npz', out / 'val.npz']) + 4096     # + meta.json
    budget = args.max_mb * 1e6 - used if args.max_mb > 0 else float('inf')
    chunk, sizes = 250, []
    for a in range(0, len(train), chunk):
        u0, u1 = unit_end[a] - lengths[a], unit_end[min(a + chunk, len(train)) - 1]
        nbytes = len(zlib.compress(time_deltas(codes[u0 * fpu:u1 * fpu]).tobytes(), 6))
        nbytes += len(zlib.compress(units[u0:u1].astype(np.int16).tobytes(), 6))
        sizes += [nbytes * l / (u1 - u0) for l in lengths[a:a + chunk]]  # spread over the chunk's clips by length
    n = int(np.searchsorted(np.cumsum(sizes), budget * 0.995)) if budget < float('inf') else len(train)
    while True:
        u1 = unit_end[n - 1]
        write_split(out / 'train.npz', [i for i, _, _ in train[:n]], units[:u1], lengths[:n], codes[:u1 * fpu], lo, span,
                    args.bits)
        over = (out / 'train.npz').stat().st_size - budget
        if over <= 0:
            break
        n -= int(np.ceil(over / np.mean(sizes[:n]) * 1.02)) + 1

    err = {'train': quantisation_error(frames[:u1 * fpu], codes[:u1 * fpu], lo, span, args.bits, std),
           'val': quantisation_error(val_frames, val_codes, val_lo, val_span, args.bits, std)}
    meta = {'format': 'spear-speaker-pack/1', 'bits': args.bits,
            'train_clips': n, 'train_clips_all': len(train), 'train_units': int(u1), 'val_clips': len(val),
            'selection': 'the first clips of work/units/{train,val}.jsonl that have frames, in file order',
            'prior': f'train.py data_prior over all {len(train)} train clips',
            'model': {'n_units': mcfg.n_units, 'frames_per_unit': fpu, 'dims': int(frames.shape[1])},
            'quantisation_error': err}
    (out / 'meta.json').write_text(json.dumps(meta, indent=1) + '\n')
    total = sum(f.stat().st_size for f in out.iterdir())
    print(f'wrote {out}: {total / 1e6:.2f} MB; train {n} of {len(train)} clips ({u1} units, '
          f'{u1 * 0.04 / 3600:.2f} h), val {len(val)} clips; ' +
          ', '.join(f'{f.name} {f.stat().st_size / 1e6:.2f} MB' for f in sorted(out.iterdir())))
    print('quantisation error, |x - decoded| / target_std: ' + json.dumps(err))


if __name__ == '__main__':
    main()
