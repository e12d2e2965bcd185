"""
Trains the speaking network (model.py) on (units, vocoder frames) pairs made by units/make_units.py.

  /usr/bin/python3 native-models/speaker/train.py                 # resumes from work/speaker/ckpt.pt if present
  /usr/bin/python3 native-models/speaker/train.py --budget_s 1800 --threads 2

Logs one JSON line per step to work/speaker/log.jsonl (loss parts, lr, seconds) and a validation line
every eval_interval steps; checkpoints (weights, optimiser, step, both configs) to work/speaker/ckpt.pt.
"""
import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from speaker.model import Speaker, SpeakerConfig  # noqa: E402

WORK = Path(__file__).resolve().parents[2] / 'native-models/work'


@dataclass
class TrainConfig:
    max_steps: int = 3000          # upper bound; on shared CPUs the time budget usually ends training first
    budget_s: int = 1500           # wall-clock budget (s): the cosine schedule runs on max(step, time) progress
    batch_size: int = 16           # clips per step
    crop_units: int = 48           # units per clip crop (1.92 s, +-0.72 s receptive field inside); shorter clips are padded and masked
    lr: float = 2e-3               # AdamW peak
    min_lr: float = 1e-4           # cosine floor
    warmup: int = 100              # linear warm-up steps
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    mel_weight: float = 1.0        # L1 on normalised log-mel
    f0_weight: float = 1.0         # L1 on normalised log f0 (all frames: the target is interpolated)
    vuv_weight: float = 0.5        # BCE on voicing
    eval_interval: int = 100       # steps between validation passes (and checkpoints)
    eval_clips: int = 100          # val clips per validation pass
    max_clips: int = 0             # train clips to load (0 = all with units)
    threads: int = 2               # torch intra-op threads
    seed: int = 0


def progress_at(step: int, elapsed: float, c: TrainConfig) -> float:
    """Fraction of training done: steps or wall-clock, whichever is further (the machine is shared)."""
    return max(step / c.max_steps, elapsed / c.budget_s if c.budget_s else 0.0)


def lr_at(step: int, progress: float, c: TrainConfig) -> float:
    if step < c.warmup:
        return c.lr * (step + 1) / c.warmup
    return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def load_split(split: str, limit: int = 0):
    clips = []
    for line in open(WORK / f'units/{split}.jsonl'):
        row = json.loads(line)
        frames = WORK / f'units/frames/{row["id"]}.npy'
        if frames.exists():
            clips.append((np.array(row['units'], dtype=np.int64), np.load(frames)))
        if limit and len(clips) >= limit:
            break
    return clips


def batch_of(clips, crop: int, fpu: int, rng: random.Random):
    """Random crops -> units (B, crop), frames (B, crop*fpu, D), mask (B, crop)."""
    B, D = len(clips), clips[0][1].shape[1]
    units = np.zeros((B, crop), dtype=np.int64)
    frames = np.zeros((B, crop * fpu, D), dtype=np.float32)
    mask = np.zeros((B, crop), dtype=bool)
    for b, (u, f) in enumerate(clips):
        start = rng.randint(0, max(0, len(u) - crop))
        n = min(crop, len(u) - start)
        units[b, :n] = u[start:start + n]
        frames[b, :n * fpu] = f[start * fpu:(start + n) * fpu]
        mask[b, :n] = True
    return torch.from_numpy(units), torch.from_numpy(frames), torch.from_numpy(mask)


def losses(model: Speaker, units, frames, mask, c: TrainConfig):
    """Masked loss parts; frames are raw features, normalised here with the model's buffers."""
    fpu = model.cfg.frames_per_unit
    pred = model(units, mask)                                            # (B, T, D)
    target = (frames - model.target_mean) / model.target_std
    m = mask.repeat_interleave(fpu, dim=1).float()                       # (B, T)
    n = m.sum().clamp(min=1)
    mel = ((pred[..., :-2] - target[..., :-2]).abs().mean(-1) * m).sum() / n
    f0 = ((pred[..., -2] - target[..., -2]).abs() * m).sum() / n
    vuv = (F.binary_cross_entropy_with_logits(pred[..., -1], frames[..., -1], reduction='none') * m).sum() / n
    total = c.mel_weight * mel + c.f0_weight * f0 + c.vuv_weight * vuv
    return total, {'mel': mel.item(), 'f0': f0.item(), 'vuv': vuv.item()}


@torch.no_grad()
def evaluate(model, clips, c: TrainConfig):
    model.eval()
    parts, total = {'mel': 0.0, 'f0': 0.0, 'vuv': 0.0}, 0.0
    for u, f in clips:                                                   # whole clips, one at a time, as the app runs them
        loss, p = losses(model, torch.from_numpy(u)[None], torch.from_numpy(f)[None], torch.ones(1, len(u), dtype=torch.bool), c)
        total += loss.item()
        for k in parts:
            parts[k] += p[k]
    model.train()
    return total / len(clips), {k: v / len(clips) for k, v in parts.items()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', default=str(WORK / 'speaker'))
    for k, v in asdict(TrainConfig()).items():
        p.add_argument(f'--{k}', type=type(v), default=v)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / 'ckpt.pt'
    c = TrainConfig(**{k: getattr(args, k) for k in asdict(TrainConfig())})
    torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)
    rng = random.Random(c.seed)

    ckpt = torch.load(ckpt_path) if ckpt_path.exists() else None
    mcfg = SpeakerConfig(**ckpt['model_config']) if ckpt else SpeakerConfig()
    train = load_split('train', c.max_clips)
    val = load_split('val', c.eval_clips)
    print(f'{len(train)} train clips, {len(val)} val clips', flush=True)
    model = Speaker(mcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay, betas=(0.9, 0.98))
    step, prior_elapsed = 0, 0.0
    if ckpt:
        model.load_state_dict(ckpt['model'])
        opt.load_state_dict(ckpt['optimizer'])
        step = ckpt['step']
        prior_elapsed = ckpt.get('elapsed', 0.0)
        rng.setstate(ckpt['rng'])
        print(f'resumed at step {step}', flush=True)
    else:
        # normalisation from the training frames: per-dim mean/std (log f0 over voiced frames only)
        allf = np.concatenate([f for _, f in train])
        mean, std = allf.mean(0), allf.std(0) + 1e-3
        voiced = allf[:, -1] > 0.5
        mean[-2], std[-2] = allf[voiced, -2].mean(), allf[voiced, -2].std() + 1e-3
        mean[-1], std[-1] = 0.0, 1.0                                     # voicing is a logit target
        model.target_mean.copy_(torch.from_numpy(mean))
        model.target_std.copy_(torch.from_numpy(std))
        # lookup prior: each unit's mean frames (normalised; voicing as the logit of its voiced share)
        fpu, D = mcfg.frames_per_unit, mcfg.n_mels + 2
        sums, counts = np.zeros((mcfg.n_units, fpu, D)), np.zeros(mcfg.n_units)
        for u, f in train:
            np.add.at(sums, u, f.reshape(-1, fpu, D))
            np.add.at(counts, u, 1)
        means = (sums / np.maximum(counts, 1)[:, None, None] - mean) / std
        share = np.clip(sums[..., -1] / np.maximum(counts, 1)[:, None], 0.02, 0.98)
        means[..., -1] = np.log(share / (1 - share))
        means[counts == 0] = 0.0
        model.lookup.weight.data.copy_(torch.from_numpy(means.reshape(mcfg.n_units, -1)).float())
    print(f'{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters', flush=True)

    def save():
        torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'step': step, 'rng': rng.getstate(),
                    'elapsed': prior_elapsed + time.time() - t0,
                    'model_config': asdict(mcfg), 'train_config': asdict(c)}, out / 'ckpt.tmp.pt')
        os.replace(out / 'ckpt.tmp.pt', ckpt_path)

    log = open(out / 'log.jsonl', 'a')
    model.train()
    t0 = time.time()
    while (progress := progress_at(step, prior_elapsed + time.time() - t0, c)) < 1.0:
        lr = lr_at(step, progress, c)
        for group in opt.param_groups:
            group['lr'] = lr
        units, frames, mask = batch_of(rng.sample(train, c.batch_size), c.crop_units, mcfg.frames_per_unit, rng)
        loss, parts = losses(model, units, frames, mask, c)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
        opt.step()
        step += 1
        log.write(json.dumps({'step': step, 'loss': loss.item(), **parts, 'lr': lr, 'time': time.time() - t0}) + '\n')
        if step % 10 == 0:
            log.flush()
            print(f'step {step} ({100 * progress:.0f}%) loss {loss.item():.4f} mel {parts["mel"]:.4f} f0 {parts["f0"]:.4f} '
                  f'vuv {parts["vuv"]:.4f} lr {lr:.2e} {time.time() - t0:.0f}s', flush=True)
        if step % c.eval_interval == 0:
            val_loss, val_parts = evaluate(model, val, c)
            log.write(json.dumps({'step': step, 'val_loss': val_loss, **{f'val_{k}': v for k, v in val_parts.items()}}) + '\n')
            log.flush()
            print(f'step {step}: val loss {val_loss:.4f} {val_parts}', flush=True)
            save()
    val_loss, val_parts = evaluate(model, val, c)
    log.write(json.dumps({'step': step, 'val_loss': val_loss, **{f'val_{k}': v for k, v in val_parts.items()}}) + '\n')
    print(f'done at step {step}: val loss {val_loss:.4f} {val_parts}', flush=True)
    save()


if __name__ == '__main__':
    main()
