"""The reading check's data, read from a reader pack (t2s/data.py's format): each sentence's teacher units and
its phones (the phonemes without stress, word boundaries or punctuation pauses)."""

import json
from pathlib import Path

import numpy as np
import torch


def phone_map(inventory):
    """Inventory index -> phone label (stress dropped) or -1 (word boundary, pauses)."""
    phones = sorted({p.rstrip('012') for p in inventory if p[0].isalpha()})
    return np.array([phones.index(p.rstrip('012')) if p[0].isalpha() else -1 for p in inventory]), phones


def load(pack: Path, split: str, lut):
    """[(sentence id, units (U,) int64, phones (P,) int64)] of a pack's split; `lut` from phone_map."""
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
    """Rows padded into one batch: units (B, U), input lengths (B,) in frames, labels (sum of P,), label lengths (B,)."""
    U = max(len(u) for _, u, _ in rows)
    units = torch.zeros(len(rows), U, dtype=torch.int64)
    for b, (_, u, _) in enumerate(rows):
        units[b, :len(u)] = torch.from_numpy(u)
    in_len = torch.tensor([2 * len(u) for _, u, _ in rows])
    labels = torch.from_numpy(np.concatenate([p for _, _, p in rows]))
    lab_len = torch.tensor([len(p) for _, _, p in rows])
    return units, in_len, labels, lab_len
