"""Recycling for the early-exit head: the target's last cached final feature summed back into the exit head's input.

Early-exit drafting runs the trunk and the exit head on each drafted token; the target's deep feature h_c of
the step's start c (the last position the full target scored) is already cached, and the drafts at c+1, c+2, ...
have only the shallow trunk. Recycling (AlphaFold 2's, Jumper et al. 2021: the previous pass's embedding summed
into the next pass's input, without a gradient through it) adds Linear(h_c) to the exit head's input at every
drafted position: exit_head(trunk(x)_i + W h_c) for i in c+1 .. c+γ. W starts at zero, so an exit head with
recycling starts as the one without.

Training sees random step boundaries (random crops of the sequence into steps of 1..max_depth tokens,
`crop_sources`): each position reads the feature of the step start before it, at the depth a decoding step
would have there; the first crop of a row reads zeros (the prefill has no earlier feature).
"""

import torch
import torch.nn as nn

from .model import TargetConfig


class ExitRecycle(nn.Module):
    def __init__(self, cfg: TargetConfig):
        super().__init__()
        self.cfg = cfg
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        nn.init.zeros_(self.proj.weight)

    def forward(self, hidden, recycled):  # (B, T, D) exit-layer hidden, (B, T, D) features of step starts
        return hidden + self.proj(recycled.detach())


def crop_sources(batch: int, length: int, max_depth: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random step boundaries → src (B, T) int64: the step start c each position i reads (-1: none, the first
    crop), so that depth i - c is 1..max_depth. Crop lengths are uniform in 1..max_depth."""
    lengths = torch.randint(1, max_depth + 1, (batch, length), generator=generator)  # (B, T) crops, enough to cover T
    ends = lengths.cumsum(1) - 1  # (B, T) last position of each crop, increasing
    i = torch.arange(length)[None, :].expand(batch, length).contiguous()  # (B, T)
    k = torch.searchsorted(ends, i)  # (B, T) number of crop ends before i
    prev = ends.gather(1, (k - 1).clamp(min=0))  # (B, T) the last crop end before i
    return torch.where(k > 0, prev, torch.full_like(prev, -1))


def fixed_sources(starts: torch.Tensor, length: int, depth: int) -> torch.Tensor:
    """Steps of exactly `depth` tokens from each row's first step start starts (B,) → src (B, T) as
    crop_sources gives (-1 at and before the row's start)."""
    i = torch.arange(length, device=starts.device)[None, :]  # (1, T)
    rel = i - starts[:, None]  # (B, T)
    src = starts[:, None] + torch.div(rel - 1, depth, rounding_mode="floor") * depth  # (B, T)
    return torch.where(rel >= 1, src, torch.full_like(src, -1))


def recycled_features(features, src):
    """features (B, T, D), src (B, T) → (B, T, D): features[b, src[b, i]], zeros where src is -1."""
    padded = torch.cat([features.new_zeros(features.shape[0], 1, features.shape[2]), features], dim=1)  # (B, T+1, D)
    index = (src + 1).to(features.device)[..., None].expand(-1, -1, features.shape[2])  # (B, T, D)
    return padded.gather(1, index)
