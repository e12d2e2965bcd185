"""Acceptance per draft depth for the drafters the target stage trains: the early-exit head (with or without
recycling) and the seed prophet. Depth d is the d-th token drafted after a step start c: the exit head at
c + d with the feature of c recycled, the seed prophet's output d after [bos, x_{c+1} .. x_{c+d}]; both predict
x_{c+d+1} and are compared with the target's p at c + d. Steps are cut every `depth` tokens from the sep (the
first step start); teacher-forced like evaluate's proxies: top-1 agreement (greedy α) and Σ min(p, q)
(α at temperature 1, Leviathan et al. 2023, 3.1)."""

import numpy as np
import torch

from ..t2s.data import collate
from ..t2s.model import default_positions
from ..t2s.recycle import fixed_sources, recycled_features
from .config import TrainConfig


@torch.no_grad()
def evaluate_depths(target, recycle, seed_prophet, split, cfg: TrainConfig, device) -> dict:
    """{"exit_top1_d": [per depth 1..recycle_max_depth], "exit_accept_d": [...], and with a seed prophet
    "seed_prophet_top1_d", "seed_prophet_accept_d" (depths 1..steps-1), "seed_prophet_ce": its mean CE per step}."""
    models = [m for m in (target, recycle, seed_prophet) if m is not None]
    for m in models:
        m.eval()
    G = cfg.recycle_max_depth
    K = cfg.seed_prophet_steps
    sums = {"exit_top1": np.zeros(G), "exit_accept": np.zeros(G), "exit_n": np.zeros(G),
            "sp_top1": np.zeros(K), "sp_accept": np.zeros(K), "sp_n": np.zeros(K), "sp_ce": np.zeros(K)}
    rows = np.arange(min(len(split), cfg.eval_sentences))
    rows = rows[np.argsort(split.lengths[rows])]
    start = 0
    while start < len(rows):
        count = 1  # rows sorted by length: grow the batch while its padded size fits batch_tokens
        while start + count < len(rows) and int(split.lengths[rows[start + count]]) * (count + 1) <= cfg.batch_tokens:
            count += 1
        ids, mask = (torch.from_numpy(a).to(device) for a in collate(split, rows[start:start + count]))  # (B, T)
        start += count
        B, T = ids.shape
        positions, past_len = default_positions(ids)
        hidden, _ = target.trunk(ids, positions, past_len)  # (B, T, D)
        logits, feature, _ = target.rest(hidden, positions, past_len)  # (B, T, V), (B, T, D)
        p = logits.float().softmax(-1)  # (B, T, V)

        sep = mask.float().argmax(1)  # (B,) the first loss position: the sep
        src = fixed_sources(sep, T, G)  # (B, T)
        exit_in = hidden if recycle is None else recycle(hidden, recycled_features(feature, src))
        q = target.exit_head(exit_in, positions, past_len)[0].float().softmax(-1)  # (B, T, V)
        depth = torch.arange(T, device=device)[None, :] - src  # (B, T)
        ok = mask & (src >= 0)
        accept = torch.minimum(p, q).sum(-1)  # (B, T)
        top1 = (p.argmax(-1) == q.argmax(-1)).float()  # (B, T)
        for d in range(1, G + 1):
            at = ok & (depth == d)
            sums["exit_top1"][d - 1] += float(top1[at].sum())
            sums["exit_accept"][d - 1] += float(accept[at].sum())
            sums["exit_n"][d - 1] += int(at.sum())

        if seed_prophet is not None:
            sp_logits, targets, real = seed_prophet.windows(feature, ids, mask, K)  # (N, K, V), (N, K), (N, K)
            t_index = torch.nonzero(mask)  # (N, 2): (row, start t) of each window, in windows' order
            for j in range(K):
                r = real[:, j]
                qj = sp_logits[:, j][r].float()  # (n, V) predicts x_{t+1+j}
                sums["sp_ce"][j] += float(torch.nn.functional.cross_entropy(qj, targets[:, j][r], reduction="sum"))
                sums["sp_n"][j] += int(r.sum())
                pj = p[t_index[r, 0], t_index[r, 1] + j]  # (n, V) the target's p at t + j
                qj = qj.softmax(-1)
                sums["sp_top1"][j] += float((pj.argmax(-1) == qj.argmax(-1)).sum())
                sums["sp_accept"][j] += float(torch.minimum(pj, qj).sum())
    for m in models:
        m.train()
    out = {"exit_top1_d": (sums["exit_top1"] / sums["exit_n"]).round(4).tolist(),
           "exit_accept_d": (sums["exit_accept"] / sums["exit_n"]).round(4).tolist()}
    if seed_prophet is not None:  # output 0 predicts x_{t+1}, which the target gives: depths are outputs 1..K-1
        out["seed_prophet_ce"] = (sums["sp_ce"] / sums["sp_n"]).round(4).tolist()
        out["seed_prophet_top1_d"] = (sums["sp_top1"] / sums["sp_n"])[1:].round(4).tolist()
        out["seed_prophet_accept_d"] = (sums["sp_accept"] / sums["sp_n"])[1:].round(4).tolist()
    return out
