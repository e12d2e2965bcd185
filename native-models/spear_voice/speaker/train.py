"""
Trains the speaking network (model.py) on (units, vocoder frames) pairs made by units/make_units.py, or on
a pack of them (pack.py) on a machine without the work folder.

  python3 -m spear_voice.speaker.train                 # resumes from work/speaker/resume.pt if present
  python3 -m spear_voice.speaker.train --budget_s 1800 --threads 2
  python3 -m spear_voice.speaker.train --preset gpu --pack native-models/work/speaker-pack --out DIR --budget_s 360
  python3 -m spear_voice.speaker.train --frames native-models/work/units/frames-24000 --out DIR   # a 24 kHz speaker

Evaluates on the first eval_clips val clips at step 0 (the lookup alone, for a fresh model) and every
eval_interval steps, and keeps the weights with the lowest validation loss. Writes to --out (work/speaker/):
  ckpt.pt     the best weights so far, both configs, their step and validation loss (what export.py reads)
  resume.pt   the latest weights, optimiser, step, random state and best-so-far (what a second run resumes)
  log.jsonl   a line per log_interval steps (loss parts averaged over them, lr, seconds) and one per evaluation
Both checkpoints are rewritten atomically at every evaluation; budget_s bounds the whole run from the start of
main(), loading, evaluations and the last save included, so a run cut short still leaves its best weights.
"""
import argparse
import json
import math
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import WORK
from ..training import Budget, load_checkpoint, lr_at, save_checkpoint
from .features import UNITS
from .model import Speaker, SpeakerConfig
from .pack import read_prior, read_split


@dataclass
class TrainConfig:
    max_steps: int = 3000          # upper bound; on shared CPUs the time budget usually ends training first
    budget_s: int = 1500           # wall-clock budget (s) of the whole run; the cosine schedule runs on max(step, time) progress
    batch_size: int = 16           # clips per step (the gpu preset: 64)
    crop_units: int = 48           # units per clip crop (1.92 s, +-0.72 s receptive field inside); shorter clips are padded and masked
    lr: float = 2e-3               # AdamW peak
    min_lr: float = 1e-4           # cosine floor
    warmup: int = 100              # linear warm-up steps
    weight_decay: float = 0.01     # AdamW, every parameter
    grad_clip: float = 1.0         # max global gradient norm
    mel_weight: float = 1.0        # L1 on normalised log-mel
    f0_weight: float = 1.0         # L1 on normalised log f0 (all frames: the target is interpolated)
    vuv_weight: float = 0.5        # BCE on voicing
    dropout: float = 0.1           # residual-block dropout of a fresh model (a resumed one keeps its own); no-op at export
    unit_noise: float = 0.0        # share of input units replaced by random ones in training (targets kept): robustness to
                                   # the reading model's unit errors and a regulariser for many epochs on a pack's subset
    eval_interval: int = 100       # steps between validation passes (and checkpoints)
    eval_clips: int = 100          # val clips per validation pass (whole clips, one at a time, as the app runs them)
    log_interval: int = 10         # steps per training log line (one device sync each)
    max_clips: int = 0             # train clips to load (0 = all with units, or all in the pack)
    pack: str = ''                 # a pack folder (pack.py) to train from instead of work/units
    units: str = ''                # a units folder (units/make_units.py --out) instead of work/units: its {train,val}.jsonl,
                                   # frames/ and codebook.npz, whose size sets the unit count (a larger codebook)
    frames: str = ''               # frame targets to train on instead of work/units/frames: a folder with features.json
                                   # (speaker/targets.py: the clips' features at another sample rate); work/units only
    unit_map: str = ''             # JSON {"label": [group of each unit]}: train on merged units (research/coarse_units.py;
                                   # a fresh model gets one embedding per group); work/units only
    device: str = 'auto'           # auto (cuda if available), cpu or cuda
    threads: int = 2               # torch intra-op threads
    seed: int = 0                  # crops, unit noise and a fresh model's weights


PRESETS = {
    'cpu': {},
    # A GPU for minutes: larger batches, steps bounded by the budget alone, fewer (costlier) evaluations.
    'gpu': dict(batch_size=64, threads=4, max_steps=1_000_000, warmup=200, eval_interval=1000, log_interval=50),
}


def progress_at(step: int, budget: Budget, reserve_s: float, c: TrainConfig) -> float:
    """Fraction of training done: steps or wall-clock, whichever is further (the machine is shared)."""
    return max(step / c.max_steps, budget.progress(reserve_s))


# The frames of work/units/frames: the units' own 16 kHz analysis (features.UNITS, 40 bands).
UNIT_FEATURES = {**asdict(UNITS), 'n_mels': 40}


def frame_features(frames_dir: str) -> dict:
    """Geometry and band count of the frame targets: features.json of a targets.py folder, else the units' own."""
    return json.loads((Path(frames_dir) / 'features.json').read_text()) if frames_dir else dict(UNIT_FEATURES)


def load_split(split: str, limit: int = 0, label: np.ndarray | None = None, frames_dir: str = '', units_dir: str = ''):
    """[(id, units (U,) int64, frames (U*fpu, D) float32)] of `units_dir` (default work/units), in file order, clips
    with frames only (from `frames_dir` when given, else the units folder's frames/); with `label`, each unit
    replaced by its group."""
    clips = []
    root = Path(units_dir) if units_dir else WORK / 'units'
    folder = Path(frames_dir) if frames_dir else root / 'frames'
    for line in open(root / f'{split}.jsonl'):
        row = json.loads(line)
        frames = folder / f'{row["id"]}.npy'
        if frames.exists():
            units = np.array(row['units'], dtype=np.int64)
            clips.append((row['id'], units if label is None else label[units], np.load(frames)))
        if limit and len(clips) >= limit:
            break
    return clips


def data_prior(units: np.ndarray, frames: np.ndarray, mcfg: SpeakerConfig):
    """Normalisation and the lookup's start from training clips, concatenated: units (N,), frames (N*fpu, D).
    Per-dim mean/std (log f0 over voiced frames only); each unit's mean frames, normalised, voicing as the
    logit of its voiced share. -> mean (D,), std (D,), lookup (n_units, fpu*D) float32."""
    mean, std = frames.mean(0), frames.std(0) + 1e-3
    voiced = frames[:, -1] > 0.5
    mean[-2], std[-2] = frames[voiced, -2].mean(), frames[voiced, -2].std() + 1e-3
    mean[-1], std[-1] = 0.0, 1.0                                         # voicing is a logit target
    fpu, D = mcfg.frames_per_unit, mcfg.n_mels + 2
    sums, counts = np.zeros((mcfg.n_units, fpu, D)), np.zeros(mcfg.n_units)
    np.add.at(sums, units, frames.reshape(-1, fpu, D))
    np.add.at(counts, units, 1)
    means = (sums / np.maximum(counts, 1)[:, None, None] - mean) / std
    share = np.clip(sums[..., -1] / np.maximum(counts, 1)[:, None], 0.02, 0.98)
    means[..., -1] = np.log(share / (1 - share))
    means[counts == 0] = 0.0
    return mean, std, means.reshape(mcfg.n_units, -1).astype(np.float32)


class Clips:
    """Clips concatenated on one device: units (N,) int64, frame codes (N*fpu, D) uint8 (a pack) or float32
    (raw, levels 1), clip starts and lengths (n,) in units. Frames are lo + codes / levels * span."""

    def __init__(self, units, codes, lengths, lo, span, levels: int, device):
        self.units, self.codes, self.lengths = (torch.as_tensor(a).to(device) for a in (units, codes, lengths))
        self.starts = torch.cumsum(self.lengths, 0) - self.lengths
        self.lo, self.span = (torch.as_tensor(a, dtype=torch.float32).to(device) for a in (lo, span))
        self.levels = levels
        self.fpu = len(codes) // len(units)
        self.spans = list(zip(self.starts.tolist(), self.lengths.tolist()))   # host copies: no device sync per clip

    @staticmethod
    def from_pack(pack: Path, split: str, limit: int, device):
        s = read_split(pack / f'{split}.npz')
        n = min(limit, len(s['lengths'])) if limit else len(s['lengths'])
        u = int(s['lengths'][:n].sum())
        fpu = len(s['codes']) // len(s['units'])
        return Clips(s['units'][:u], s['codes'][:u * fpu], s['lengths'][:n], s['lo'], s['span'], s['levels'], device)

    @staticmethod
    def from_arrays(units, frames, lengths, device):
        return Clips(units, frames, lengths, np.zeros(frames.shape[1]), np.ones(frames.shape[1]), 1, device)

    def __len__(self):
        return len(self.lengths)

    def decode(self, codes):
        return self.lo + codes.float() / self.levels * self.span

    def clip(self, i: int):
        """Whole clip i: units (1, U), frames (1, U*fpu, D)."""
        s, n = self.spans[i]
        return self.units[s:s + n][None], self.decode(self.codes[s * self.fpu:(s + n) * self.fpu])[None]

    def batch(self, size: int, crop: int, gen: torch.Generator):
        """Random crops of `size` distinct clips -> units (B, crop), frames (B, crop*fpu, D), mask (B, crop);
        clips shorter than crop are padded with zeros and masked."""
        dev = self.units.device
        pick = torch.randperm(len(self), generator=gen, device=dev)[:size]
        n = self.lengths[pick]                                           # (B,)
        start = (torch.rand(size, generator=gen, device=dev) * ((n - crop).clamp(min=0) + 1)).long()
        pos = start[:, None] + torch.arange(crop, device=dev)           # (B, crop)
        mask = pos < n[:, None]
        at = self.starts[pick][:, None] + torch.minimum(pos, n[:, None] - 1)
        frame_at = (at[..., None] * self.fpu + torch.arange(self.fpu, device=dev)).flatten(1)   # (B, crop*fpu)
        frames = self.decode(self.codes[frame_at]) * mask.repeat_interleave(self.fpu, 1)[..., None]
        return self.units[at] * mask, frames, mask


def losses(model: Speaker, units, frames, mask, c: TrainConfig):
    """Masked loss parts (tensors); frames are raw features, normalised here with the model's buffers."""
    fpu = model.cfg.frames_per_unit
    pred = model(units, mask)                                            # (B, T, D)
    target = (frames - model.target_mean) / model.target_std
    m = mask.repeat_interleave(fpu, dim=1).float()                       # (B, T)
    n = m.sum().clamp(min=1)
    mel = ((pred[..., :-2] - target[..., :-2]).abs().mean(-1) * m).sum() / n
    f0 = ((pred[..., -2] - target[..., -2]).abs() * m).sum() / n
    vuv = (F.binary_cross_entropy_with_logits(pred[..., -1], frames[..., -1], reduction='none') * m).sum() / n
    total = c.mel_weight * mel + c.f0_weight * f0 + c.vuv_weight * vuv
    return total, torch.stack([mel, f0, vuv])


@torch.no_grad()
def evaluate(model, clips: Clips, c: TrainConfig):
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=clips.units.device)
    for i in range(len(clips)):                                          # whole clips, one at a time, as the app runs them
        units, frames = clips.clip(i)
        loss, parts = losses(model, units, frames, torch.ones_like(units, dtype=torch.bool), c)
        sums += torch.cat([loss[None], parts]).double()
    model.train()
    total, mel, f0, vuv = (sums / len(clips)).tolist()                   # one device sync per pass
    return total, {'mel': mel, 'f0': f0, 'vuv': vuv}


def pick_device(name: str) -> torch.device:
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    if name == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: torch.cuda.is_available() is False')
    return torch.device(name)


def main(argv: list[str] | None = None):
    t0 = time.time()
    p = argparse.ArgumentParser(prog='python3 -m spear_voice.speaker.train')
    p.add_argument('--out', default=str(WORK / 'speaker'))
    p.add_argument('--preset', choices=sorted(PRESETS), default='cpu')
    for k, v in asdict(TrainConfig()).items():
        p.add_argument(f'--{k}', type=type(v), default=None)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, resume_path = out / 'ckpt.pt', out / 'resume.pt'
    c = TrainConfig(**{**PRESETS[args.preset], **{k: getattr(args, k) for k in asdict(TrainConfig()) if getattr(args, k) is not None}})
    torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)
    device = pick_device(c.device)
    if device.type == 'cuda':
        torch.set_float32_matmul_precision('high')                       # TF32 matmuls (convolutions use TF32 by default)

    # what to continue from: resume.pt, or a checkpoint from before resume.pt existed (weights + optimiser in one)
    state = load_checkpoint(resume_path) if resume_path.exists() else None
    best_ckpt = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    if state is None and best_ckpt is not None:
        if 'optimizer' not in best_ckpt:
            raise SystemExit(f'{ckpt_path} holds best weights only and {resume_path} is missing: pass a fresh --out')
        state, best_ckpt = best_ckpt, None
    label = np.asarray(json.loads(Path(c.unit_map).read_text())['label'], dtype=np.int64) if c.unit_map else None
    # The groups travel in every checkpoint (export.py writes them to speaker.json): a map file edited
    # between a run and its resumption would otherwise relabel half a training run unnoticed.
    groups = None if label is None else [int(x) for x in label]
    if state and 'unit_groups' in state and state['unit_groups'] != groups:
        raise SystemExit(f'{resume_path} was trained on other unit groups than --unit_map {c.unit_map or "(none)"} gives')
    if c.pack and c.frames:
        raise SystemExit('--frames replaces work/units/frames; it does not apply to --pack')
    features = frame_features(c.frames)
    if state and state.get('features', UNIT_FEATURES) != features:
        raise SystemExit(f'{resume_path} was trained on other frame targets than --frames {c.frames or "(work/units/frames)"} gives')
    if state:
        mcfg = SpeakerConfig(**state['model_config'])
    else:
        # The unit count: the groups' with --unit_map, the codebook's with --units, else the default (work/units).
        count = {}
        if label is not None:
            count = {'n_units': int(label.max()) + 1}
        elif c.units:
            count = {'n_units': len(np.load(Path(c.units) / 'codebook.npz')['centroids'])}
        mcfg = SpeakerConfig(dropout=c.dropout, n_mels=features['n_mels'], **count)

    pack = Path(c.pack) if c.pack else None
    if pack and label is not None:
        raise SystemExit('--unit_map relabels work/units; it does not apply to --pack')
    if pack and c.units:
        raise SystemExit('--units and --pack are two sources of clips: give one')
    if pack:
        if not (pack / 'meta.json').exists():
            raise SystemExit(f'--pack {pack}: meta.json is missing (build it with python3 -m spear_voice.speaker.pack)')
        train = Clips.from_pack(pack, 'train', c.max_clips, device)
        val = Clips.from_pack(pack, 'val', c.eval_clips, device)
        if len(val) < c.eval_clips:
            print(f'note: the pack holds {len(val)} val clips; evaluating on those, not {c.eval_clips}', flush=True)
        prior = None if state else read_prior(pack)                      # computed over the FULL train set by pack.py
    else:
        rows = load_split('train', c.max_clips, label, c.frames, c.units)
        units, frames = np.concatenate([u for _, u, _ in rows]), np.concatenate([f for _, _, f in rows])
        train = Clips.from_arrays(units, frames, np.array([len(u) for _, u, _ in rows]), device)
        prior = None if state else data_prior(units, frames, mcfg)
        del rows, units, frames
        rows = load_split('val', c.eval_clips, label, c.frames, c.units)
        val = Clips.from_arrays(np.concatenate([u for _, u, _ in rows]), np.concatenate([f for _, _, f in rows]),
                                np.array([len(u) for _, u, _ in rows]), device)
    print(f'{len(train)} train clips ({int(train.lengths.sum())} units), {len(val)} val clips, on {device}', flush=True)
    if c.batch_size > len(train):
        raise SystemExit(f'--batch_size {c.batch_size} is more than the {len(train)} train clips')

    model = Speaker(mcfg)
    step, prior_elapsed, best_val, best_step = 0, 0.0, math.inf, 0
    gen = torch.Generator(device=device)
    gen.manual_seed(c.seed)
    if state:
        model.load_state_dict(state['model'])
        step, prior_elapsed = state['step'], state.get('elapsed', 0.0)
        best_val, best_step = state.get('best_val', math.inf), state.get('best_step', 0)
        if state.get('device') == device.type:
            gen.set_state(state['gen_state'])
        else:                                                            # another device's (or the old Python) random state
            gen.manual_seed(c.seed + step)
        print(f'resumed at step {step} (best val loss {best_val:.4f} at step {best_step})', flush=True)
    else:
        mean, std, lookup = prior
        if lookup.shape != tuple(model.lookup.weight.shape):
            raise SystemExit(f'prior lookup {lookup.shape} does not fit the model {tuple(model.lookup.weight.shape)}')
        model.target_mean.copy_(torch.from_numpy(mean))
        model.target_std.copy_(torch.from_numpy(std))
        model.lookup.weight.data.copy_(torch.from_numpy(lookup))
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay, betas=(0.9, 0.98))
    if state:
        opt.load_state_dict(state['optimizer'])
    best = {k: v.detach().clone() for k, v in (best_ckpt['model'] if best_ckpt else model.state_dict()).items()}
    best_parts = best_ckpt.get('val_parts', {}) if best_ckpt else {}
    del state, best_ckpt
    print(f'{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters', flush=True)
    budget = Budget(c.budget_s, spent_s=prior_elapsed, start=t0)        # the whole run, loading included; resumed runs go on

    def cpu(weights):
        return {k: v.detach().cpu() for k, v in weights.items()}

    def save():
        save_checkpoint(ckpt_path, {'model': cpu(best), 'step': best_step, 'val_loss': best_val, 'val_parts': best_parts,
                     'steps_run': step, 'model_config': asdict(mcfg), 'train_config': asdict(c), 'unit_groups': groups,
                     'features': features})
        save_checkpoint(resume_path, {'model': cpu(model.state_dict()), 'optimizer': opt.state_dict(), 'step': step, 'elapsed': budget.elapsed(),
                     'gen_state': gen.get_state(), 'device': device.type, 'best_val': best_val, 'best_step': best_step,
                     'model_config': asdict(mcfg), 'train_config': asdict(c), 'unit_groups': groups, 'features': features})

    log = open(out / 'log.jsonl', 'a')

    def eval_and_save():
        nonlocal best, best_val, best_step, best_parts
        val_loss, val_parts = evaluate(model, val, c)
        improved = val_loss < best_val
        if improved:
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_val, best_step, best_parts = val_loss, step, val_parts
        log.write(json.dumps({'step': step, 'val_loss': val_loss, **{f'val_{k}': v for k, v in val_parts.items()},
                              'best': improved, 'time': time.time() - t0}) + '\n')
        log.flush()
        print(f'step {step}: val loss {val_loss:.4f} mel {val_parts["mel"]:.4f} f0 {val_parts["f0"]:.4f} '
              f'vuv {val_parts["vuv"]:.4f}{" (best)" if improved else f" (best {best_val:.4f} at {best_step})"}', flush=True)
        save()

    # NOTE: timeout(1) and job schedulers stop a run with SIGTERM: finish the step, evaluate and save
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    t_eval = time.time()
    eval_and_save()                                                      # the starting point, and the cost of an evaluation
    reserve = 2 * (time.time() - t_eval) + 2.0                           # held back for the last evaluation and save
    last_eval, t_print = step, 0.0
    print_every = 0.0 if sys.stdout.isatty() else 10.0                   # seconds between progress lines in a log
    run_sums, run_steps, t_run, step_run0 = torch.zeros(4, dtype=torch.float64, device=device), 0, time.time(), step
    model.train()
    while not stop and (progress := progress_at(step, budget, reserve, c)) < 1.0:
        lr = lr_at(progress, lr=c.lr, min_lr=c.min_lr, step=step, warmup_steps=c.warmup)
        for group in opt.param_groups:
            group['lr'] = lr
        units, frames, mask = train.batch(c.batch_size, c.crop_units, gen)
        if c.unit_noise > 0:
            noise = torch.rand(units.shape, generator=gen, device=device) < c.unit_noise
            units = torch.where(noise, torch.randint(0, mcfg.n_units, units.shape, generator=gen, device=device), units)
        loss, parts = losses(model, units, frames, mask, c)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
        opt.step()
        step += 1
        run_sums += torch.cat([loss.detach()[None], parts.detach()]).double()
        run_steps += 1
        if step % c.log_interval == 0:
            total, mel, f0, vuv = (run_sums / run_steps).tolist()
            log.write(json.dumps({'step': step, 'loss': total, 'mel': mel, 'f0': f0, 'vuv': vuv, 'lr': lr,
                                  'time': time.time() - t0}) + '\n')
            run_sums.zero_()
            run_steps = 0
            if time.time() - t_print >= print_every:
                t_print = time.time()
                rate = (step - step_run0) / (t_print - t_run)
                print(f'step {step} ({100 * progress:.0f}%) loss {total:.4f} mel {mel:.4f} f0 {f0:.4f} vuv {vuv:.4f} '
                      f'lr {lr:.2e} {rate:.1f} steps/s {time.time() - t0:.0f}s', flush=True)
        if step % c.eval_interval == 0:
            eval_and_save()
            last_eval = step
    if last_eval != step:
        eval_and_save()
    log.close()
    print(f'done at step {step} in {time.time() - t0:.0f}s ({(step - step_run0) / (time.time() - t_run):.1f} steps/s '
          f'with evaluations): best val loss {best_val:.4f} at step {best_step} {best_parts}', flush=True)


if __name__ == '__main__':
    main()
