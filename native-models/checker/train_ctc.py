"""
A unit reader for checking readings: semantic units (25 Hz) -> phones, trained with CTC on the teacher's
units of the train sentences. Scoring a reading's units against the phones it was meant to say flags
readings that skip, repeat or garble (docs/voice-reading.md#the-reading-check).

  /usr/bin/python3 native-models/checker/train_ctc.py [--pack native-models/gpu/pack] [--out native-models/work/checker] [--budget_s 900]

Labels are the phonemes without stress, word boundaries or punctuation pauses (39 phones); the output runs
at 50 Hz (each unit read twice) so a label sequence always fits.
"""
import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from speaker.model import ResBlock  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CheckerConfig:
    n_units: int = 1024
    n_phones: int = 39          # labels; CTC blank is index n_phones
    d: int = 192
    unit_dilations: tuple = (1, 2, 4, 1, 2)
    frame_layers: int = 2
    dropout: float = 0.1


class UnitReader(nn.Module):
    def __init__(self, cfg: CheckerConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.n_units, cfg.d)
        self.unit_blocks = nn.ModuleList(ResBlock(cfg.d, 5, d, cfg.dropout) for d in cfg.unit_dilations)
        self.up = nn.Linear(cfg.d, 2 * cfg.d)
        self.frame_blocks = nn.ModuleList(ResBlock(cfg.d, 5, 1, cfg.dropout) for _ in range(cfg.frame_layers))
        self.norm = nn.LayerNorm(cfg.d)
        self.head = nn.Linear(cfg.d, cfg.n_phones + 1)

    def forward(self, units):
        """units (B, U) -> log-probabilities (B, 2U, n_phones + 1)."""
        B, U = units.shape
        x = self.embed(units).transpose(1, 2)
        for b in self.unit_blocks:
            x = b(x)
        x = self.up(x.transpose(1, 2)).reshape(B, 2 * U, -1).transpose(1, 2)
        for b in self.frame_blocks:
            x = b(x)
        return self.head(self.norm(x.transpose(1, 2))).log_softmax(-1)


def phone_map(inventory):
    """Inventory index -> phone label (stress dropped) or -1 (word boundary, pauses)."""
    phones = sorted({p.rstrip('012') for p in inventory if p[0].isalpha()})
    return np.array([phones.index(p.rstrip('012')) if p[0].isalpha() else -1 for p in inventory]), phones


def load(pack: Path, split: str, lut):
    meta = json.load(open(pack / 'meta.json'))
    po, uo, uc = meta['vocab']['phonemes']['offset'], meta['vocab']['units']['offset'], meta['vocab']['units']['count']
    ids = (pack / f'{split}.ids.txt').read_text().split()
    tokens, offsets, seps = (np.load(pack / f'{split}.{k}.npy') for k in ('tokens', 'offsets', 'sep'))
    rows = []
    for i, clip in enumerate(ids):
        row = tokens[offsets[i]:offsets[i + 1]].astype(np.int64)
        ph = lut[row[1:seps[i]] - po]
        u = row[seps[i] + 1:]
        u = u[(u >= uo) & (u < uo + uc)] - uo
        rows.append((clip, u, ph[ph >= 0]))
    return rows


def batch(rows):
    U = max(len(u) for _, u, _ in rows)
    units = torch.zeros(len(rows), U, dtype=torch.int64)
    for b, (_, u, _) in enumerate(rows):
        units[b, :len(u)] = torch.from_numpy(u)
    in_len = torch.tensor([2 * len(u) for _, u, _ in rows])
    labels = torch.from_numpy(np.concatenate([p for _, _, p in rows]))
    lab_len = torch.tensor([len(p) for _, _, p in rows])
    return units, in_len, labels, lab_len


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pack', default=str(ROOT / 'native-models/gpu/pack'))
    ap.add_argument('--out', default=str(ROOT / 'native-models/work/checker'))
    ap.add_argument('--budget_s', type=float, default=900)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--eval_every', type=int, default=200, help='steps between validation passes (and checkpoints)')
    ap.add_argument('--device', default='auto', help='auto: cuda when there is one, else cpu')
    args = ap.parse_args()
    device = torch.device(('cuda' if torch.cuda.is_available() else 'cpu') if args.device == 'auto' else args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = json.load(open(Path(args.pack) / 'meta.json'))
    lut, phones = phone_map(meta['phoneme_inventory'])
    train, val = load(Path(args.pack), 'train', lut), load(Path(args.pack), 'val', lut)
    cfg = CheckerConfig(n_units=meta['vocab']['units']['count'], n_phones=len(phones))
    model = UnitReader(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    rng = np.random.default_rng(0)
    t0, step, best, loss = time.time(), 0, math.inf, torch.tensor(math.nan)
    log = open(out / 'log.jsonl', 'a')

    def evaluate():
        model.eval()
        tot = n = 0
        with torch.no_grad():
            for i in range(0, len(val), 64):
                units, il, lab, ll = batch(val[i:i + 64])
                lp = model(units.to(device)).transpose(0, 1).float().cpu()
                tot += F.ctc_loss(lp, lab, il, ll, blank=cfg.n_phones, reduction='sum', zero_infinity=True).item()
                n += int(ll.sum())
        model.train()
        return tot / n                                                   # nats per phone

    def eval_and_save():
        nonlocal best
        v = evaluate()
        log.write(json.dumps({'step': step, 'loss': loss.item(), 'val_nats_per_phone': v, 'time': time.time() - t0}) + '\n')
        log.flush()
        print(f'step {step} loss {loss.item():.3f} val {v:.3f} nats/phone {time.time() - t0:.0f}s', flush=True)
        if v < best:
            best = v
            torch.save({'model': {k: t.cpu() for k, t in model.state_dict().items()}, 'config': asdict(cfg), 'phones': phones, 'lut': lut.tolist(),
                        'step': step, 'val_nats_per_phone': v, 'train_config': vars(args)}, out / 'ckpt.pt')

    while time.time() - t0 < args.budget_s:
        progress = (time.time() - t0) / args.budget_s
        for g in opt.param_groups:
            g['lr'] = args.lr * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * progress))
        pick = rng.choice(len(train), args.batch, replace=False)
        units, il, lab, ll = (t.to(device) for t in batch([train[i] for i in pick]))
        lp = model(units).transpose(0, 1)                                # (T, B, C)
        loss = F.ctc_loss(lp, lab, il, ll, blank=cfg.n_phones, reduction='sum', zero_infinity=True) / ll.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % args.eval_every == 0:
            eval_and_save()
    if step % args.eval_every != 0:
        eval_and_save()
    print(f'done: {step} steps, best val {best:.3f} nats/phone', flush=True)


if __name__ == '__main__':
    main()
