"""
Trains the reading check's unit reader (model.py) with CTC on the teacher's units of a reader pack's train
sentences. Scoring a reading's units against the phones it was meant to say flags readings that skip, repeat
or garble (docs/voice-reading.md#the-reading-check).

  python3 -m spear_voice.checker.train [--pack native-models/work/pack] [--out native-models/work/checker] [--budget_s 900]

Writes to --out: ckpt.pt (the best weights by validation loss, with both configs: what export.py reads),
resume.pt (the latest weights, optimiser and counters: --resume continues from it) and log.jsonl.
"""
import argparse
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import WORK
from ..training import Budget, lr_at, restore, save_checkpoint
from .data import batch, load, phone_map
from .model import CheckerConfig, UnitReader


@dataclass
class CheckerTrainConfig:
    pack: str = str(WORK / 'pack')          # a reader pack (spear_voice.train_t2s pack): its teacher units and phonemes
    out: str = str(WORK / 'checker')        # ckpt.pt, resume.pt, log.jsonl
    budget_s: float = 900.0                 # wall-clock seconds of training and evaluation (a resumed run goes on counting)
    batch: int = 32                         # sentences per step
    lr: float = 2e-3                        # AdamW peak; cosine to 0 over the budget
    warmup_steps: int = 200                 # linear warm-up
    threads: int = 2                        # CPU intra-op threads
    eval_every: int = 200                   # steps between validation passes (and checkpoints)
    device: str = 'auto'                    # auto: cuda when there is one, else cpu
    seed: int = 0                           # weights and batch draws
    resume: bool = False                    # continue from out/resume.pt


@torch.no_grad()
def evaluate(model: UnitReader, rows, device) -> float:
    """CTC loss on `rows`, in nats per phone."""
    model.eval()
    total = n = 0
    for i in range(0, len(rows), 64):
        units, in_len, labels, lab_len = batch(rows[i:i + 64])
        log_probs = model(units.to(device)).transpose(0, 1).float().cpu()  # (T, B, C)
        total += F.ctc_loss(log_probs, labels, in_len, lab_len, blank=model.cfg.n_phones, reduction='sum', zero_infinity=True).item()
        n += int(lab_len.sum())
    model.train()
    return total / n


def train_checker(c: CheckerTrainConfig) -> float:
    """Train until the budget is spent; returns the best validation loss (nats per phone)."""
    device = torch.device(('cuda' if torch.cuda.is_available() else 'cpu') if c.device == 'auto' else c.device)
    torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)
    out, pack = Path(c.out), Path(c.pack)
    out.mkdir(parents=True, exist_ok=True)
    meta = json.loads((pack / 'meta.json').read_text())
    lut, phones = phone_map(meta['phoneme_inventory'])
    train, val = load(pack, 'train', lut), load(pack, 'val', lut)
    cfg = CheckerConfig(n_units=meta['vocab']['units']['count'], n_phones=len(phones))
    model = UnitReader(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=0.01)
    rng = np.random.default_rng(c.seed)
    step, spent_s, best = 0, 0.0, math.inf
    resume_path = out / 'resume.pt'
    if c.resume and resume_path.exists():
        state = restore(resume_path, model, opt)
        step, spent_s, best = state['step'], state['elapsed_s'], state['best']
        rng.bit_generator.state = state['rng']
        print(f'resumed at step {step}, {spent_s:.0f} s of {c.budget_s:.0f} s', flush=True)
    budget = Budget(c.budget_s, spent_s=spent_s)
    loss = torch.tensor(math.nan)
    log = open(out / 'log.jsonl', 'a')

    def eval_and_save():
        nonlocal best
        v = evaluate(model, val, device)
        log.write(json.dumps({'step': step, 'loss': loss.item(), 'val_nats_per_phone': v, 'time': budget.elapsed()}) + '\n')
        log.flush()
        print(f'step {step} loss {loss.item():.3f} val {v:.3f} nats/phone {budget.elapsed():.0f}s', flush=True)
        weights = {k: t.cpu() for k, t in model.state_dict().items()}
        if v < best:
            best = v
            save_checkpoint(out / 'ckpt.pt', {'model': weights, 'config': asdict(cfg), 'phones': phones, 'lut': lut.tolist(),
                                              'step': step, 'val_nats_per_phone': v, 'train_config': asdict(c)})
        save_checkpoint(resume_path, {'model': weights, 'optimizer': opt.state_dict(), 'step': step, 'elapsed_s': budget.elapsed(),
                                      'best': best, 'rng': rng.bit_generator.state, 'train_config': asdict(c)})

    while not budget.spent():
        lr = lr_at(budget.progress(), lr=c.lr, min_lr=0.0, step=step, warmup_steps=c.warmup_steps)
        for g in opt.param_groups:
            g['lr'] = lr
        pick = rng.choice(len(train), min(c.batch, len(train)), replace=False)  # distinct sentences
        units, in_len, labels, lab_len = (t.to(device) for t in batch([train[i] for i in pick]))
        log_probs = model(units).transpose(0, 1)                            # (T, B, C)
        loss = F.ctc_loss(log_probs, labels, in_len, lab_len, blank=cfg.n_phones, reduction='sum', zero_infinity=True) / lab_len.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % c.eval_every == 0:
            eval_and_save()
    if step % c.eval_every != 0 or not (out / 'ckpt.pt').exists():
        eval_and_save()
    log.close()
    print(f'done: {step} steps, best val {best:.3f} nats/phone', flush=True)
    return best


def main(argv: list[str] | None = None):
    ap = argparse.ArgumentParser(prog='python3 -m spear_voice.checker.train', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in fields(CheckerTrainConfig):
        if f.type is bool:
            ap.add_argument(f'--{f.name}', action='store_true')
        else:
            ap.add_argument(f'--{f.name}', type=type(f.default), default=f.default)
    args = ap.parse_args(argv)
    train_checker(CheckerTrainConfig(**vars(args)))


if __name__ == '__main__':
    main()
