"""The seed's prophet: a separate small decoder that reads the target's last hidden state and drafts ahead.

At a drafting step that starts after position t, the target has scored x_{<=t} and holds its final feature
h_t (the LM head's input). The seed's prophet is its own decoder, with its own token embedding, blocks, norm
and LM head; its sequence within one step is

    [start(h_t), embed(x_{t+1}), embed(x_{t+2}), ...]   at its own positions 0, 1, 2, ...

where start = a linear projection of h_t to its width, written where the input id is `bos` (the start token),
and its output at position j predicts x_{t+1+j}. The target supplies x_{t+1} itself (its sample from p(h_t)),
so the step's first call reads [bos, x_{t+1}] and drafting γ tokens takes γ calls that grow the prophet's own
cache, which lives within the step and is dropped when the next step starts from a new h_t.

Training is teacher-forced over every start t at once (windows of `steps` tokens), and joint with the target:
the prophet's cross-entropy reaches the target through h_t scaled by a weight (`grad_scale`); weight 0 trains
the prophet on a detached h_t and leaves the target as it would be without it. ProphetNet (Qi et al. 2020)
predicts several future tokens from one state with a linear head per step; this is a small decoder instead.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import SPECIAL
from .model import Block, DecoderConfig, RMSNorm, default_positions, init_weights, run_blocks


class SeedProphet(nn.Module):
    """cfg.d_model is the prophet's own width, cfg.feature_dim the target's (the width of h_t)."""

    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        assert cfg.feature_dim > 0, "feature_dim: the width of the target's hidden state"
        self.cfg = cfg
        self.start = nn.Linear(cfg.feature_dim, cfg.d_model, bias=False)  # h_t → the start token
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        init_weights(self, cfg.n_layers)

    @classmethod
    def for_target(cls, target_cfg: DecoderConfig, d_model: int, n_layers: int, n_heads: int) -> "SeedProphet":
        return cls(DecoderConfig(vocab_size=target_cfg.vocab_size, context=target_cfg.context, d_model=d_model,
                                 n_heads=n_heads, n_layers=n_layers, rope_base=target_cfg.rope_base,
                                 norm_eps=target_cfg.norm_eps, feature_dim=target_cfg.d_model))

    def forward(self, hidden, ids, positions=None, past_len=None, past=None):
        """hidden (B, 1, F) or (B, T, F): the target's h_t; ids (B, T), where `bos` stands for the start token start(h_t)
        → logits (B, T, V), new cache. A step's first call reads [bos, x_{t+1}] at positions 0, 1 with an
        empty cache; later calls read the drafts at their positions and ignore `hidden`."""
        if positions is None:
            positions, past_len = default_positions(ids)
        x = self.embed(ids)  # (B, T, D)
        # NOTE: where on float operands with a broadcast condition; ONNX Runtime has no bool-input Where.
        x = torch.where((ids == SPECIAL["bos"])[..., None], self.start(hidden).to(x.dtype), x)  # (B, T, D)
        x, new = run_blocks(self.blocks, self.cfg, x, positions, past_len, past)
        return self.lm_head(self.norm(x)), new

    def windows(self, features, ids, mask, steps: int):
        """Teacher-forced training over every start t with mask[:, t] (a loss position of the target).

        features (B, T, F) the target's final features; ids (B, T); mask (B, T) bool, True where the next
        token is a unit or eos → logits (N, steps, V), the tokens they predict (N, steps) and where those
        are real (N, steps) bool. Window n starting at t reads [start(h_t), x_{t+1} .. x_{t+steps-1}] and
        its output j predicts x_{t+1+j}, real while t+j is still a loss position."""
        B, T = ids.shape
        pad_ids = F.pad(ids, (0, steps), value=0)  # (B, T+steps)
        pad_mask = F.pad(mask, (0, steps), value=False)  # (B, T+steps)
        future = pad_ids.unfold(1, steps, 1)[:, 1:T + 1]  # (B, T, steps): x_{t+1} .. x_{t+steps}
        real = pad_mask.unfold(1, steps, 1)[:, :T]  # (B, T, steps): mask at t .. t+steps-1
        starts = mask  # (B, T)
        h = features[starts][:, None]  # (N, 1, F)
        targets = future[starts]  # (N, steps)
        inputs = torch.cat([torch.full_like(targets[:, :1], SPECIAL["bos"]), targets[:, :-1]], dim=1)  # (N, steps)
        logits, _ = self(h, inputs)  # (N, steps, V)
        return logits, targets, real[starts]


def grad_scale(x, weight: float):
    """x in the forward pass; its gradient times `weight` in the backward pass (0: detached)."""
    if weight == 0:
        return x.detach()
    return x.detach() + weight * (x - x.detach())


def seed_prophet_loss(prophet: SeedProphet, features, ids, mask, steps: int, weight: float, share: float = 1.0) -> dict:
    """The prophet's mean cross-entropy per step (each of the `steps` outputs weighs the same) on the target's
    features, whose gradient reaches the target times `weight`, over a random `share` of the start positions
    (its windows cost `steps` tokens each). Returns the loss and the CE of each step (`step1` predicts x_{t+1},
    which the target also does; `step2` is the first drafted token)."""
    if share < 1:
        mask = mask & (torch.rand(mask.shape, device=mask.device) < share)
    logits, targets, real = prophet.windows(grad_scale(features, weight), ids, mask, steps)
    ces = [F.cross_entropy(logits[:, j][real[:, j]].float(), targets[:, j][real[:, j]]) for j in range(steps)]
    return {"loss": torch.stack(ces).mean(), **{f"step{j + 1}": ce for j, ce in enumerate(ces)}}
