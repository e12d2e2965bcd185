"""EAGLE as drafting runs it, on whole sequences: `eagle_unrolled` feeds it its own predicted features
`steps` deep, with the attention pattern the engine's drafting has (training-time test, HASS / EAGLE-3), and
`check_eagle_unrolled` proves that it equals drafting through the cached API, step by step."""

import copy

import torch

from ..t2s.model import Eagle, default_positions, rotary, shift_features


def eagle_unrolled(eagle: Eagle, ids, features, steps: int, noise: float, window: tuple[int, int] | None = None):
    """EAGLE on whole sequences as the engine drafts with it, `steps` deep.

    ids (B, T); features (B, T, D) the target's final features → per step s = 1..steps: logits (B, T, V),
    predicted feature (B, T, D). Step s at position i is the s-th token of a draft that began at
    p0 = i - s + 1: its input is EAGLE's own step s-1 prediction at i - 1 (step 1: the target's
    feature, plus noise), and it attends to step 1's keys at j <= p0 (the engine's committed cache, built
    from true features) and to step k's key at p0 + k - 1 for 1 < k <= s, the earlier drafted positions
    (the training-time-test pattern of HASS / EAGLE-3). window=(keep, w), for analysis only: step 1's keys
    are limited to the first `keep` positions (the prompt) and the last `w` committed ones."""
    cfg = eagle.cfg
    B, T = ids.shape
    positions, _ = default_positions(ids)
    cos, sin = rotary(positions, cfg.head_dim, cfg.rope_base)
    emb = eagle.embed(ids)  # (B, T, D)
    prev = shift_features(features)  # (B, T, D)
    if noise > 0:
        prev = prev + noise * prev.pow(2).mean(-1, keepdim=True).sqrt() * torch.randn_like(prev)
    i = torch.arange(T, device=ids.device)[:, None]  # (T, 1) query position
    j = torch.arange(T, device=ids.device)[None, :]  # (1, T) key position within one step's keys
    past = None  # per block: keys, values of all earlier steps (B, (s-1) T, H*Dh)
    outs = []
    for s in range(1, steps + 1):
        first = j <= i - s + 1
        if window is not None:
            first = first & ((j < window[0]) | (j > i - s + 1 - window[1]))
        parts = [first] + [j == i - s + k for k in range(2, s + 1)]  # step 1's keys, then steps 2..s
        mask = torch.cat(parts, dim=1)[None]  # (1, T, s T)
        x = eagle.fc(torch.cat([prev, emb], dim=-1))  # (B, T, D)
        new = []
        for b, block in enumerate(eagle.blocks):
            empty = x.new_zeros(B, 0, cfg.d_model)
            x, kv = block(x, cos, sin, mask, past[b] if past else (empty, empty))
            new.append(kv)
        past = [(torch.cat([p[0], n[0]], 1), torch.cat([p[1], n[1]], 1)) for p, n in zip(past, new)] if past else new
        feature = eagle.norm(x if eagle.up is None else eagle.up(x))  # (B, T, D)
        outs.append((eagle.lm_head(feature), feature))
        prev = shift_features(feature)
    return outs


@torch.no_grad()
def check_eagle_unrolled(eagle: Eagle, steps: int) -> float:
    """eagle_unrolled equals drafting through the cached API (the engine's way) at every step; returns
    the max abs difference of the logits. On a CPU copy: TF32 matmuls on a GPU differ by more than 1e-4."""
    eagle, device = copy.deepcopy(eagle).cpu(), torch.device("cpu")
    gen = torch.Generator().manual_seed(0)
    T, D = 12, eagle.feature_dim
    ids = torch.randint(0, eagle.cfg.vocab_size, (2, T), generator=gen).to(device)
    features = torch.randn(2, T, D, generator=gen).to(device)
    eagle.eval()
    outs = eagle_unrolled(eagle, ids, features, steps, noise=0.0)
    worst = 0.0
    for p0 in (3, 7):
        logits, feature, cache = eagle(ids[:, :p0 + 1], shift_features(features)[:, :p0 + 1])
        worst = max(worst, float((logits[:, p0] - outs[0][0][:, p0]).abs().max()))
        for s in range(2, steps + 1):
            pos = p0 + s - 1
            positions = torch.full((2, 1), pos, device=device)
            past_len = torch.full((2,), pos, device=device)
            logits, feature_new, new = eagle(ids[:, pos:pos + 1], feature[:, -1:], positions, past_len, cache)
            cache = [(torch.cat([c[0], n[0]], 1), torch.cat([c[1], n[1]], 1)) for c, n in zip(cache, new)]
            feature = feature_new
            worst = max(worst, float((logits[:, 0] - outs[s - 1][0][:, pos]).abs().max()))
    if worst > 1e-4:
        raise RuntimeError(f"eagle_unrolled differs from cached drafting by {worst:.2e}")
    return worst
