"""
Semantic units: k-means over frame features of the teacher audio, one unit per `frames_per_unit`
10 ms frames (4 = 25 Hz, the Spear-TTS rate; the 25-vs-50 Hz measurement is in docs/voice-audio.md).

  python3 -m spear_voice.units.make_units            # fit once (if no codebook), then quantise what has audio
  python3 -m spear_voice.units.make_units --follow   # ... and keep going until the render has finished

Resumable: the codebook is fitted once (on the first `fit_utterances` train clips with audio) and then
frozen; each split's units file is appended to and ids already there are skipped. Outputs
(native-models/work/units/):
  {train,val,test}.jsonl   {"id": ..., "units": [0-based unit ids]}  (no end token)
  codebook.npz             centroids, normalisation, config (copied into the voice by the speaker export)
  frames/<id>.npy          (T, n_mels+2) float32 vocoder features of the clip, the speaker's targets
"""
import argparse
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.fft import dct

from .. import WORK
from ..speaker.features import HOP, VocoderFeatureConfig, pad_to_units, read_wav, vocoder_features


@dataclass
class UnitConfig:
    frames_per_unit: int = 4      # 10 ms frames per unit: 4 = 25 Hz (Spear-TTS, WhisperSpeech), 2 = 50 Hz
    n_units: int = 1024           # k-means vocabulary: 1024 beat 512 on centroid resynthesis WER (0.37 vs 0.46, docs/voice-audio.md)
    n_mels: int = 40              # log-mel bands, shared with the source-filter vocoder's envelope
    n_mfcc: int = 20              # cepstra kept (c0 = level included): phonetic content without harmonics
    pitch_weight: float = 0.5     # scale of the normalised (log f0, voicing) dims (v1 had 2.0 and deltas: see deltas)
    deltas: bool = False          # +-2-frame cepstral deltas; dropping them and pitch weight 2.0 -> 0.5 took centroid resynthesis WER 0.371 -> 0.257 (docs/voice-audio.md)
    summary: str = 'stack'        # 'stack': the unit's frames side by side; 'mean': their mean and their last-minus-first
    fit_utterances: int = 2000    # train clips the codebook is fitted on (~190k unit vectors at 25 Hz)
    batch_size: int = 4096        # MiniBatchKMeans batch
    seed: int = 0                 # k-means init and batch order


def frame_features(vf: np.ndarray, cfg: UnitConfig) -> np.ndarray:
    """(T, n_mels+2) vocoder features -> (T, n_mfcc [+ n_mfcc deltas] + 2): MFCC, (deltas,) log f0, voicing."""
    mfcc = dct(vf[:, :cfg.n_mels], type=2, norm='ortho', axis=1)[:, :cfg.n_mfcc]
    if not cfg.deltas:
        return np.concatenate([mfcc, vf[:, cfg.n_mels:]], axis=1).astype(np.float32)
    padded = np.pad(mfcc, ((2, 2), (0, 0)), mode='edge')
    # regression deltas over +-2 frames (HTK): sum n (c[t+n] - c[t-n]) / (2 sum n^2)
    delta = (padded[3:-1] - padded[1:-3] + 2 * (padded[4:] - padded[:-4])) / 10.0
    return np.concatenate([mfcc, delta, vf[:, cfg.n_mels:]], axis=1).astype(np.float32)


def unit_vectors(vf: np.ndarray, cfg: UnitConfig) -> np.ndarray:
    """(T, ...) -> (T / frames_per_unit, frames_per_unit * frame dim): the frames of one unit stacked."""
    ff = frame_features(vf, cfg)
    if cfg.summary == 'mean':
        g = ff.reshape(len(ff) // cfg.frames_per_unit, cfg.frames_per_unit, -1)
        return np.concatenate([g.mean(1), g[:, -1] - g[:, 0]], axis=1)
    return ff.reshape(len(ff) // cfg.frames_per_unit, -1)


def clip_features(wav_path, cfg: UnitConfig) -> np.ndarray:
    x = pad_to_units(read_wav(wav_path), cfg.frames_per_unit * HOP)
    return vocoder_features(x, VocoderFeatureConfig(n_mels=cfg.n_mels))


class Codebook:
    """Normalisation + centroids; `assign` maps unit vectors to 0-based unit ids."""

    def __init__(self, mean, std, weight, centroids, cfg: UnitConfig):
        self.mean, self.std, self.weight, self.centroids, self.cfg = mean, std, weight, centroids, cfg
        self.c2 = (centroids ** 2).sum(1)

    def normalise(self, v):
        return (v - self.mean) / self.std * self.weight

    def assign(self, v: np.ndarray) -> np.ndarray:
        z = self.normalise(v)                                            # (N, dim)
        return np.argmin(self.c2[None, :] - 2 * z @ self.centroids.T, axis=1)

    def save(self, path):
        np.savez(path, mean=self.mean, std=self.std, weight=self.weight, centroids=self.centroids,
                 config=json.dumps(asdict(self.cfg)))

    @staticmethod
    def load(path):
        d = np.load(path)
        return Codebook(d['mean'], d['std'], d['weight'], d['centroids'], UnitConfig(**json.loads(str(d['config']))))


def fit_codebook(ids, cfg: UnitConfig, frames_dir: Path) -> Codebook:
    from sklearn.cluster import MiniBatchKMeans
    vectors = []
    for i, cid in enumerate(ids):
        vf = load_or_extract(cid, cfg, frames_dir)
        vectors.append(unit_vectors(vf, cfg))
        if i % 200 == 0:
            print(f'fit: features {i}/{len(ids)}', flush=True)
    v = np.concatenate(vectors)                                          # (N, dim)
    mean, std = v.mean(0), v.std(0) + 1e-5
    groups = cfg.frames_per_unit if cfg.summary == 'stack' else 2
    weight = np.ones(v.shape[1] // groups, dtype=np.float32)
    weight[-2:] = cfg.pitch_weight
    weight = np.tile(weight, groups)
    z = (v - mean) / std * weight
    print(f'fit: k-means k={cfg.n_units} on {z.shape}', flush=True)
    t = time.time()
    km = MiniBatchKMeans(n_clusters=cfg.n_units, batch_size=cfg.batch_size, random_state=cfg.seed,
                         n_init=3, max_iter=100, reassignment_ratio=0.01).fit(z)
    print(f'fit: done in {time.time() - t:.0f} s, inertia/vector {km.inertia_ / len(z):.2f}', flush=True)
    return Codebook(mean.astype(np.float32), std.astype(np.float32), weight, km.cluster_centers_.astype(np.float32), cfg)


def load_or_extract(cid: str, cfg: UnitConfig, frames_dir: Path) -> np.ndarray:
    path = frames_dir / f'{cid}.npy'
    if path.exists():
        return np.load(path)
    vf = clip_features(WORK / f'wav/{cid}.wav', cfg)
    tmp = frames_dir / f'{cid}.tmp.npy'
    np.save(tmp, vf)
    os.replace(tmp, path)
    return vf


def split_ids(split):
    return [json.loads(line)['id'] for line in open(WORK / f'corpus/{split}.jsonl')]


def render_running() -> bool:
    try:
        pid = int((WORK / 'render.pid').read_text().strip())
        os.kill(pid, 0)
        return True
    except (OSError, ValueError):
        return False


def quantise(split: str, book: Codebook, frames_dir: Path, out_dir: Path) -> tuple[int, int]:
    """Appends units for every clip of the split that has audio and no units yet; returns (done, missing)."""
    out = out_dir / f'{split}.jsonl'
    ids = split_ids(split)
    wanted = set(ids)
    kept, dirty = [], False
    if out.exists():
        text = out.read_text()
        dirty = bool(text) and not text.endswith('\n')
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:                                 # a line cut by an interrupted run
                dirty = True
                continue
            if row['id'] in wanted:
                kept.append(line + '\n')
            else:                                                        # the corpus was rebuilt: the clip left the split
                dirty = True
    if dirty:
        out.with_suffix('.tmp').write_text(''.join(kept))
        os.replace(out.with_suffix('.tmp'), out)
    done = {json.loads(line)['id'] for line in kept}
    missing = 0
    with open(out, 'a') as f:
        for cid in ids:
            if cid in done:
                continue
            if not (WORK / f'wav/{cid}.wav').exists():
                missing += 1
                continue
            units = book.assign(unit_vectors(load_or_extract(cid, book.cfg, frames_dir), book.cfg))
            f.write(json.dumps({'id': cid, 'units': units.tolist()}) + '\n')
            f.flush()
            done.add(cid)
    return len(done), missing


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', default=str(WORK / 'units'), help='output directory')
    p.add_argument('--follow', action='store_true', help='poll until the render has finished and every clip has units')
    p.add_argument('--splits', default='val,test,train')
    for k, v in asdict(UnitConfig()).items():
        p.add_argument(f'--{k}', type=type(v), default=v)
    args = p.parse_args()
    cfg = UnitConfig(**{k: getattr(args, k) for k in asdict(UnitConfig())})
    out_dir = Path(args.out)
    frames_dir = out_dir / 'frames'
    frames_dir.mkdir(parents=True, exist_ok=True)
    book_path = out_dir / 'codebook.npz'
    if book_path.exists():
        book = Codebook.load(book_path)
        if asdict(book.cfg) != asdict(cfg):
            print(f'using the frozen codebook {book_path} with config {asdict(book.cfg)}', flush=True)
    else:
        fit_ids = [c for c in split_ids('train') if (WORK / f'wav/{c}.wav').exists()][:cfg.fit_utterances]
        book = fit_codebook(fit_ids, cfg, frames_dir)
        book.save(out_dir / 'codebook.tmp.npz')
        os.replace(out_dir / 'codebook.tmp.npz', book_path)
    while True:
        running = render_running()
        total_missing = 0
        for split in args.splits.split(','):
            done, missing = quantise(split, book, frames_dir, out_dir)
            total_missing += missing
            print(f'{split}: {done} clips have units, {missing} lack audio', flush=True)
        if not args.follow or total_missing == 0 or not running:
            break
        time.sleep(30)


if __name__ == '__main__':
    main()
