"""
Trains the neural speaker (speaker/neural.py) on pairs of teacher audio at 24 kHz and its units.

  python3 -m spear_voice.speaker.neural_train --preset cpu-smoke --data DIR --out DIR [--budget-s 120] [--resume]
                                              [--set field=value ...]

DIR (the data; speaker/teacher.py writes it): train.jsonl and val.jsonl, one {"id": ..., "units": [...]} a line
(units of the clip's 16 kHz audio in the shipped codebook, as spear_voice/units/make_units.py makes them), and
wav24/<id>.wav, the same clip at 24 kHz (16-bit mono). A clip of U units is U · 960 samples at 24 kHz, zero-padded.

Presets: `cpu-smoke` (a tiny model, a few dozen steps on one CPU thread) and `gpu` (the shipped size, bf16
autocast, discriminators after a warm-up). The run is budgeted in seconds (training.Budget): the learning rate
follows max(steps / max_steps, seconds / budget); ckpt.pt is written atomically every `ckpt_every_s` and at the
end, with the optimisers, so `--resume` continues a run where it stopped.
"""
import argparse
import dataclasses
import json
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..training import Budget, load_checkpoint, lr_at, save_checkpoint
from .neural import (Discriminators, NeuralConfig, NeuralSpeaker, SpectralLosses, discriminator_loss,
                     generator_adversarial_loss, parameter_count)

CKPT_FORMAT = 'spear-neural-speaker-ckpt/1'


@dataclass
class NeuralTrainConfig:
    preset: str = 'gpu'
    # the model (speaker/neural.py NeuralConfig; the rest of it is fixed by the 24 kHz, 25 Hz contract)
    dim: int = 384                # backbone width
    intermediate: int = 1152      # ConvNeXt MLP width
    n_layers: int = 8             # ConvNeXt blocks
    # batches
    batch_size: int = 32          # segments per step
    segment_units: int = 48       # units per segment (1.92 s); shorter clips are zero-padded
    # optimisation (Vocos: AdamW 5e-4, betas (0.8, 0.9), cosine decay)
    lr: float = 5e-4
    min_lr: float = 5e-5
    warmup_steps: int = 200
    betas: tuple = (0.8, 0.9)
    weight_decay: float = 0.01
    grad_clip: float = 10.0       # on the generator's gradient norm; the discriminators are not clipped
    # losses
    mel_weight: float = 45.0      # HiFi-GAN / Vocos' weight of the mel L1 against the adversarial terms
    stft_weight: float = 1.0      # multi-resolution STFT (spectral convergence + log-magnitude L1)
    adversarial: bool = True      # multi-period and multi-resolution discriminators
    adv_start: float = 0.25       # share of the run before the discriminators join (the warm-up on spectral losses)
    adv_weight: float = 1.0
    fm_weight: float = 2.0        # feature matching (HiFi-GAN)
    # the run
    budget_s: float = 300.0       # wall-clock seconds of this run, resumes included
    reserve_s: float = 15.0       # of the budget, held back for the last validation and checkpoint
    max_steps: int = 0            # 0: the budget alone ends the run
    bf16: bool = True             # bf16 autocast on CUDA (the inverse STFT and the losses stay float32)
    log_every: int = 50           # steps between log lines
    eval_every_s: float = 60.0    # seconds between validations
    ckpt_every_s: float = 60.0    # seconds between checkpoints
    n_val: int = 16               # validation clips (whole utterances, at most val_units units each)
    val_units: int = 200
    threads: int = 1              # torch threads on the CPU
    seed: int = 0


PRESETS = {
    'gpu': NeuralTrainConfig(),
    'cpu-smoke': NeuralTrainConfig(preset='cpu-smoke', dim=32, intermediate=64, n_layers=2, batch_size=4, segment_units=8,
                                   warmup_steps=5, adversarial=False, budget_s=120.0, reserve_s=5.0, log_every=5,
                                   eval_every_s=30.0, ckpt_every_s=30.0, n_val=2, val_units=50),
}


def model_config(cfg: NeuralTrainConfig) -> NeuralConfig:
    return NeuralConfig(dim=cfg.dim, intermediate=cfg.intermediate, n_layers=cfg.n_layers)


# ----------------------------------------------------------------------------------------------------
# Data


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """16-bit mono PCM at `sample_rate` → int16 samples."""
    with wave.open(str(path), 'rb') as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != sample_rate:
            raise ValueError(f'{path}: want 16-bit mono at {sample_rate} Hz, got {w.getnchannels()} channels, '
                             f'{8 * w.getsampwidth()}-bit, {w.getframerate()} Hz')
        return np.frombuffer(w.readframes(w.getnframes()), dtype='<i2')


def load_split(data: Path, split: str, mc: NeuralConfig, limit: int | None = None) -> list:
    """[(units int64 (U,), samples int16 (U · samples_per_unit,))] of a split's clips that have audio."""
    clips = []
    path = data / f'{split}.jsonl'
    if not path.exists():
        return clips
    for line in path.read_text().splitlines():
        row = json.loads(line)
        wav = data / 'wav24' / f"{row['id']}.wav"
        if not wav.exists() or not row['units']:
            continue
        units = np.asarray(row['units'], dtype=np.int64)
        samples = read_wav(wav, mc.sample_rate)[:len(units) * mc.samples_per_unit]
        clips.append((units, np.pad(samples, (0, len(units) * mc.samples_per_unit - len(samples)))))
        if limit and len(clips) >= limit:
            break
    return clips


def sample_batch(clips: list, cfg: NeuralTrainConfig, mc: NeuralConfig, rng: np.random.Generator) -> tuple:
    """(units (B, S) int64, audio (B, S · samples_per_unit) float32) of random unit-aligned segments."""
    S, spu = cfg.segment_units, mc.samples_per_unit
    units = np.zeros((cfg.batch_size, S), dtype=np.int64)
    audio = np.zeros((cfg.batch_size, S * spu), dtype=np.float32)
    for b, i in enumerate(rng.integers(0, len(clips), cfg.batch_size)):
        u, x = clips[i]
        start = int(rng.integers(0, max(1, len(u) - S + 1)))
        seg = u[start:start + S]
        units[b, :len(seg)] = seg
        units[b, len(seg):] = seg[-1]  # a short clip's last unit (its trailing silence) fills the segment
        audio[b, :len(seg) * spu] = x[start * spu:(start + len(seg)) * spu] / 32768.0
    return torch.from_numpy(units), torch.from_numpy(audio)


# ----------------------------------------------------------------------------------------------------
# The loop


@torch.no_grad()
def validate(model, clips: list, losses: SpectralLosses, device) -> dict:
    """Mean mel L1 and multi-resolution STFT loss over whole validation clips."""
    model.eval()
    mel, stft = [], []
    for units, samples in clips:
        u = torch.from_numpy(units)[None].to(device)
        real = torch.from_numpy(samples.astype(np.float32) / 32768.0)[None].to(device)
        parts = losses(model(u).float(), real)
        mel.append(float(parts['mel']))
        stft.append(float(parts['stft']))
    model.train()
    return {'mel_l1': round(float(np.mean(mel)), 4), 'stft': round(float(np.mean(stft)), 4)} if mel else {}


def autocast_problem(model, disc, losses, batch, device, autocast: dict) -> str | None:
    """One forward and backward pass of everything under `autocast`, no step taken: None, or what failed."""
    units, real = (t.to(device) for t in batch)
    try:
        with torch.autocast(**autocast):
            fake = model(units)
        loss = losses(fake, real)['mel']  # the losses run outside autocast, as in the loop
        if disc is not None:
            with torch.autocast(**autocast):
                loss = loss + discriminator_loss(disc(real), disc(fake))
        loss.backward()
        return None
    except RuntimeError as error:
        return ' '.join(str(error).split())[:200]
    finally:
        model.zero_grad(set_to_none=True)
        if disc is not None:
            disc.zero_grad(set_to_none=True)


def train(cfg: NeuralTrainConfig, data: Path, out: Path, resume: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.type == 'cpu':
        torch.set_num_threads(cfg.threads)
    else:  # TF32 for what autocast leaves in float32 (the losses' STFTs, the inverse STFT)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(cfg.seed)
    mc = model_config(cfg)
    t0 = time.time()  # the budget counts from here: loading the data and starting CUDA are part of the run
    clips = load_split(data, 'train', mc)
    val_clips = [(u[:cfg.val_units], x[:cfg.val_units * mc.samples_per_unit]) for u, x in load_split(data, 'val', mc, cfg.n_val)]
    if not clips:
        raise SystemExit(f'{data}: no training clips (train.jsonl with wav24/<id>.wav)')
    hours = sum(len(x) for _, x in clips) / mc.sample_rate / 3600
    print(f'data: {len(clips)} train clips ({hours:.2f} h), {len(val_clips)} val clips, loaded in {time.time() - t0:.1f} s', flush=True)

    model = NeuralSpeaker(mc).to(device)
    losses = SpectralLosses(mc.sample_rate).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    disc = Discriminators().to(device) if cfg.adversarial else None
    opt_d = torch.optim.AdamW(disc.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay) if disc else None
    step, spent, history = 0, 0.0, []
    ckpt_path = out / 'ckpt.pt'
    if resume and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path)
        model.load_state_dict(ckpt['model'])
        opt.load_state_dict(ckpt['optimizer'])
        if disc is not None and ckpt.get('disc') is not None:
            disc.load_state_dict(ckpt['disc'])
            opt_d.load_state_dict(ckpt['opt_d'])
        step, spent, history = ckpt['step'], ckpt['spent_s'], ckpt.get('history', [])
        print(f'resumed {ckpt_path} at step {step}, {spent:.0f} s spent', flush=True)
    budget = Budget(cfg.budget_s, spent_s=spent, start=t0)
    print(f'model: {parameter_count(model) / 1e6:.2f} M parameters; discriminators: '
          + (f'{parameter_count(disc) / 1e6:.2f} M from {cfg.adv_start:.0%} of the run' if disc else 'off'), flush=True)
    autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=cfg.bf16 and device.type == 'cuda')
    rng = np.random.default_rng(cfg.seed + step)
    if autocast['enabled']:
        problem = autocast_problem(model, disc, losses, sample_batch(clips, cfg, mc, rng), device, autocast)
        if problem:  # reported here and in train.json; the run goes on in float32 (TF32 matmuls)
            print(f'bf16 autocast failed on a probe batch ({problem}): training in float32', flush=True)
            autocast['enabled'] = False

    def checkpoint(val: dict) -> None:
        save_checkpoint(ckpt_path, {
            'format': CKPT_FORMAT, 'train_config': asdict(cfg), 'model_config': asdict(mc), 'model': model.state_dict(),
            'optimizer': opt.state_dict(), 'disc': disc.state_dict() if disc else None, 'opt_d': opt_d.state_dict() if disc else None,
            'step': step, 'spent_s': budget.elapsed(), 'val': val, 'history': history,
            'data': {'train_clips': len(clips), 'train_hours': round(hours, 3)}})

    def progress() -> float:
        return max(budget.progress(cfg.reserve_s), step / cfg.max_steps if cfg.max_steps else 0.0)

    last_eval = last_ckpt = time.time()
    val = {}
    t_log, mark = time.time(), step
    while progress() < 1.0:
        p = progress()
        for group in opt.param_groups + (opt_d.param_groups if opt_d else []):
            group['lr'] = lr_at(p, lr=cfg.lr, min_lr=cfg.min_lr, step=step, warmup_steps=cfg.warmup_steps)
        units, real = (t.to(device, non_blocking=True) for t in sample_batch(clips, cfg, mc, rng))
        with torch.autocast(**autocast):
            fake = model(units)                                          # (B, N) float32
        adversarial = disc is not None and p >= cfg.adv_start
        parts = {}
        if adversarial:
            with torch.autocast(**autocast):
                d_loss = discriminator_loss(disc(real), disc(fake.detach()))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            parts['disc'] = d_loss.detach()
        spectral = losses(fake, real)
        loss = cfg.mel_weight * spectral['mel'] + cfg.stft_weight * spectral['stft']
        parts.update(spectral)
        if adversarial:
            with torch.autocast(**autocast):
                with torch.no_grad():
                    real_outs = disc(real)
                adv, fm = generator_adversarial_loss(real_outs, disc(fake))
            loss = loss + cfg.adv_weight * adv + cfg.fm_weight * fm
            parts.update(adv=adv.detach(), fm=fm.detach())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        parts['grad_norm'] = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        if step % cfg.log_every == 0:
            rate = (step - mark) / max(1e-9, time.time() - t_log)
            t_log, mark = time.time(), step
            shown = ' '.join(f'{k} {float(v):.4f}' for k, v in parts.items())
            print(f'step {step} ({budget.elapsed():.0f} s, {rate:.1f} steps/s, lr {opt.param_groups[0]["lr"]:.2e}): {shown}', flush=True)
        if time.time() - last_eval >= cfg.eval_every_s:
            val = validate(model, val_clips, losses, device)
            history.append({'step': step, 'elapsed_s': round(budget.elapsed(), 1), **val})
            print(f'val at step {step}: {val}', flush=True)
            last_eval = time.time()
        if time.time() - last_ckpt >= cfg.ckpt_every_s:
            checkpoint(val)
            last_ckpt = time.time()
    val = validate(model, val_clips, losses, device)
    history.append({'step': step, 'elapsed_s': round(budget.elapsed(), 1), **val})
    checkpoint(val)
    summary = {'steps': step, 'elapsed_s': round(budget.elapsed(), 1), 'val': val, 'bf16': autocast['enabled'], 'train_clips': len(clips),
               'train_hours': round(hours, 3), 'device': torch.cuda.get_device_name(0) if device.type == 'cuda' else 'cpu'}
    (out / 'train.json').write_text(json.dumps({**summary, 'config': asdict(cfg), 'history': history}, indent=1) + '\n')
    print(f'done: {summary}', flush=True)
    return summary


def parse_sets(cfg: NeuralTrainConfig, sets: list) -> NeuralTrainConfig:
    """`field=value` overrides, typed by the field's default."""
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    changes = {}
    for item in sets:
        name, _, value = item.partition('=')
        if name not in fields:
            raise SystemExit(f'--set {item}: no field {name!r} in NeuralTrainConfig')
        default = getattr(cfg, name)
        if isinstance(default, bool):
            changes[name] = value.lower() in ('1', 'true', 'yes')
        elif isinstance(default, tuple):
            changes[name] = tuple(float(v) for v in value.split(','))
        else:
            changes[name] = type(default)(value)
    return dataclasses.replace(cfg, **changes)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--preset', choices=sorted(PRESETS), default='cpu-smoke')
    ap.add_argument('--data', type=Path, required=True)
    ap.add_argument('--out', type=Path, required=True)
    ap.add_argument('--budget-s', type=float, help="seconds of training (default: the preset's)")
    ap.add_argument('--resume', action='store_true', help='continue from OUT/ckpt.pt')
    ap.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE')
    args = ap.parse_args(argv)
    cfg = parse_sets(PRESETS[args.preset], args.set)
    if args.budget_s is not None:
        cfg = dataclasses.replace(cfg, budget_s=args.budget_s)
    train(cfg, args.data, args.out, resume=args.resume)


if __name__ == '__main__':
    main()
