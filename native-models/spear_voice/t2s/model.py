"""The target decoder, its early-exit head, the small draft decoder and the EAGLE drafter.

Llama-style blocks (RMSNorm, rotary positions, SwiGLU, no biases) written for reading, nanoGPT style.
Every stack of blocks has one entry point that serves both training and the ONNX contract
(docs/model-contract.md): new tokens (B, T) at explicit positions (B, T), a per-row valid cache length
past_len (B,), and a cache of past keys/values (B, P, H*Dh) per block. Training passes an empty cache
(P = 0), so "cached equals uncached" is the same code path, not a second implementation.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

KV = tuple[torch.Tensor, torch.Tensor]  # (keys, values), each (B, P, H*Dh); keys stored rotated


@dataclass
class DecoderConfig:
    vocab_size: int = 600  # V: specials + phonemes + units in one id space (docs/model-contract.md)
    context: int = 1024  # longest sequence trained on; RoPE has no table, so this is a training bound only
    d_model: int = 256  # D: residual width
    n_heads: int = 4  # H; head_dim = D / H
    n_layers: int = 8  # transformer blocks
    mlp_hidden: int = 0  # SwiGLU inner width; 0 = 8/3 * D rounded up to a multiple of 32 (Llama's ratio)
    rope_base: float = 10000.0  # RoPE theta (Su et al. 2021)
    norm_eps: float = 1e-5  # RMSNorm epsilon
    feature_dim: int = 0  # eagle only: width of the target features it reads and predicts; 0 = d_model

    @property
    def head_dim(self) -> int:
        assert self.d_model % self.n_heads == 0, "d_model must be a multiple of n_heads"
        return self.d_model // self.n_heads

    @property
    def ffn_dim(self) -> int:
        return self.mlp_hidden or 32 * math.ceil(8 * self.d_model / 3 / 32)


@dataclass
class TargetConfig(DecoderConfig):
    exit_layer: int = 2  # the early-exit head reads the residual stream after this many blocks
    exit_blocks: int = 0  # extra blocks owned by the exit head (0: norm + head only)


# ----------------------------------------------------------------------------------------------------
# Building blocks


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):  # (..., D)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary(positions: torch.Tensor, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin (B, 1, T, Dh) computed from explicit integer positions (B, T); no table, so rows may sit
    at any position and a graph has no context limit baked in."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim)
    angles = positions.to(torch.float32)[..., None] * inv_freq  # (B, T, Dh/2)
    angles = torch.cat([angles, angles], dim=-1)  # (B, T, Dh)
    return angles.cos()[:, None], angles.sin()[:, None]


def apply_rotary(x, cos, sin):  # x (B, H, T, Dh); the "rotate half" layout of GPT-NeoX / Llama
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos.to(x.dtype) + torch.cat([-x2, x1], dim=-1) * sin.to(x.dtype)


def attention_mask(past_len: torch.Tensor, past_size: int, new_size: int) -> torch.Tensor:
    """(B, T, P+T) bool, True where new token t of row b may attend key j: a cached key j < past_len[b]
    or a new key t' <= t. Cached slots at or past past_len[b] are garbage (rejected drafts) and masked."""
    j = torch.arange(past_size + new_size, device=past_len.device)  # (P+T,) key index
    t = torch.arange(new_size, device=past_len.device)  # (T,) query index
    past_ok = j[None, :] < past_len[:, None]  # (B, P+T)
    new_ok = (j[None, :] - past_size) <= t[:, None]  # (T, P+T)
    is_past = j < past_size  # (P+T,)
    # NOTE: logical ops, not torch.where: ONNX Runtime has no Where kernel for bool inputs.
    return (past_ok & is_past)[:, None, :] | (new_ok & ~is_past)[None, :, :]  # (B, T, P+T)


class Attention(nn.Module):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.n_heads, self.head_dim = cfg.n_heads, cfg.head_dim
        self.wq = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.wk = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.wv = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.wo = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, mask, past: KV):
        B, T, D = x.shape  # (B, T, D)
        H, Dh = self.n_heads, self.head_dim
        q = apply_rotary(self.wq(x).view(B, T, H, Dh).transpose(1, 2), cos, sin)  # (B, H, T, Dh)
        k = apply_rotary(self.wk(x).view(B, T, H, Dh).transpose(1, 2), cos, sin)  # (B, H, T, Dh)
        new_k = k.transpose(1, 2).reshape(B, T, H * Dh)  # (B, T, H*Dh), rotated, as the cache stores it
        new_v = self.wv(x)  # (B, T, H*Dh)
        # NOTE: concatenate in the flat cache layout, then split heads: P + T >= 1 always, while a
        # reshape of an empty (P = 0) past is ambiguous in ONNX Reshape.
        keys = torch.cat([past[0], new_k], dim=1)  # (B, P+T, H*Dh)
        values = torch.cat([past[1], new_v], dim=1)  # (B, P+T, H*Dh)
        S = keys.shape[1]
        keys = keys.view(B, S, H, Dh).transpose(1, 2)  # (B, H, P+T, Dh)
        values = values.view(B, S, H, Dh).transpose(1, 2)  # (B, H, P+T, Dh)
        scores = (q @ keys.transpose(-2, -1)) * (1.0 / math.sqrt(Dh))  # (B, H, T, P+T)
        # Every query sees at least itself, so no row is all -inf and softmax stays finite.
        scores = scores.masked_fill(~mask[:, None], float("-inf"))
        y = scores.softmax(dim=-1) @ values  # (B, H, T, Dh)
        y = y.transpose(1, 2).reshape(B, T, D)  # (B, T, D)
        return self.wo(y), new_k, new_v


class SwiGLU(nn.Module):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.w_gate = nn.Linear(cfg.d_model, cfg.ffn_dim, bias=False)
        self.w_up = nn.Linear(cfg.d_model, cfg.ffn_dim, bias=False)
        self.w_down = nn.Linear(cfg.ffn_dim, cfg.d_model, bias=False)

    def forward(self, x):  # (B, T, D)
        return self.w_down(F.silu(self.w_gate(x)) * self.w_up(x))


class Block(nn.Module):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin, mask, past: KV):
        a, new_k, new_v = self.attn(self.attn_norm(x), cos, sin, mask, past)
        x = x + a
        x = x + self.mlp(self.mlp_norm(x))
        return x, (new_k, new_v)


def run_blocks(blocks, cfg: DecoderConfig, x, positions, past_len, past: list[KV] | None):
    """x (B, T, D) through `blocks` with their caches → x (B, T, D) and the new (k, v) per block.

    positions: (B, T) int64; past_len: (B,) int64; past: one (B, P, H*Dh) pair per block, or None for
    an empty cache (training)."""
    if past is None:
        empty = x.new_zeros(x.shape[0], 0, cfg.d_model)  # (B, 0, H*Dh)
        past = [(empty, empty)] * len(blocks)
    assert len(past) == len(blocks), f"expected {len(blocks)} cache layers, got {len(past)}"
    if len(blocks) == 0:
        return x, []
    cos, sin = rotary(positions, cfg.head_dim, cfg.rope_base)
    mask = attention_mask(past_len, past[0][0].shape[1], x.shape[1])  # (B, T, P+T)
    new = []
    for block, layer_past in zip(blocks, past):
        x, kv = block(x, cos, sin, mask, layer_past)
        new.append(kv)
    return x, new


def default_positions(ids_or_hidden):  # (B, T, ...) → positions (B, T) 0..T-1 and past_len zeros (B,)
    B, T = ids_or_hidden.shape[:2]
    positions = torch.arange(T, device=ids_or_hidden.device)[None, :].expand(B, T)
    return positions, torch.zeros(B, dtype=torch.long, device=ids_or_hidden.device)


def init_weights(module: nn.Module, n_layers: int):
    """nanoGPT's init: N(0, 0.02), residual output projections scaled by 1/sqrt(2 n_layers) (GPT-2)."""
    for name, p in module.named_parameters():
        if p.dim() >= 2:
            std = 0.02 / math.sqrt(2 * n_layers) if name.endswith(("wo.weight", "w_down.weight")) else 0.02
            nn.init.normal_(p, mean=0.0, std=std)


# ----------------------------------------------------------------------------------------------------
# Models


class TargetModel(nn.Module):
    """The decoder whose distribution we sample from, plus an early-exit head after `exit_layer` blocks.

    The exit head = `exit_blocks` blocks of its own + its own RMSNorm + the target's LM head (shared
    weight, as in LayerSkip, Elhoushi et al. 2024): the exit then writes logits in the same output space
    as the target, which is what acceptance rewards, and costs no extra V x D matrix. It has its own norm
    because the residual at the exit layer has a different scale from the final one."""

    def __init__(self, cfg: TargetConfig):
        super().__init__()
        assert 1 <= cfg.exit_layer < cfg.n_layers, "need 1 <= exit_layer < n_layers"
        assert cfg.exit_blocks >= 0
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.exit_blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.exit_blocks))
        self.exit_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        init_weights(self, cfg.n_layers)

    # The four contract roles. Each takes explicit positions, past_len and its own cache layers.

    def trunk(self, ids, positions, past_len, past=None):  # ids (B, T) → hidden at exit layer (B, T, D)
        x = self.embed(ids)  # (B, T, D)
        return run_blocks(self.blocks[: self.cfg.exit_layer], self.cfg, x, positions, past_len, past)

    def rest(self, hidden, positions, past_len, past=None):  # (B, T, D) → logits, feature, new cache
        x, new = run_blocks(self.blocks[self.cfg.exit_layer :], self.cfg, hidden, positions, past_len, past)
        feature = self.norm(x)  # (B, T, D): the LM head's input, what EAGLE learns to predict
        return self.lm_head(feature), feature, new

    def exit_head(self, hidden, positions, past_len, past=None):  # (B, T, D) → exit logits, new cache
        x, new = run_blocks(self.exit_blocks, self.cfg, hidden, positions, past_len, past)
        return self.lm_head(self.exit_norm(x)), new

    def full(self, ids, positions, past_len, past=None):  # ids (B, T) → logits, feature, new cache
        n = self.cfg.exit_layer
        hidden, new_trunk = self.trunk(ids, positions, past_len, None if past is None else past[:n])
        logits, feature, new_rest = self.rest(hidden, positions, past_len, None if past is None else past[n:])
        return logits, feature, new_trunk + new_rest

    def forward(self, ids):
        """Training: whole sequences ids (B, T) → main logits (B, T, V), exit logits (B, T, V),
        final features (B, T, D)."""
        positions, past_len = default_positions(ids)
        hidden, _ = self.trunk(ids, positions, past_len)
        logits, feature, _ = self.rest(hidden, positions, past_len)
        exit_logits, _ = self.exit_head(hidden, positions, past_len)
        return logits, exit_logits, feature


class DraftModel(nn.Module):
    """A separate small decoder over the same vocabulary (Leviathan et al. 2023's M_q)."""

    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        init_weights(self, cfg.n_layers)

    def forward(self, ids, positions=None, past_len=None, past=None):  # ids (B, T) → logits (B, T, V), new cache
        if positions is None:
            positions, past_len = default_positions(ids)
        x, new = run_blocks(self.blocks, self.cfg, self.embed(ids), positions, past_len, past)
        return self.lm_head(self.norm(x)), new


def shift_features(features):
    """Teacher features (B, T, D) → EAGLE's hidden_in: feature of the previous position, zeros at 0."""
    return F.pad(features[:, :-1], (0, 0, 1, 0))


class Eagle(nn.Module):
    """The EAGLE drafter (Li et al. 2024, EAGLE-1): at position i it reads Linear(concat(feature_{i-1},
    embed(x_i))), runs its own blocks with its own cache, and predicts the target's final feature at i.

    Its embedding and LM head are frozen copies of the target's (EAGLE reuses the target's), so logits =
    target head(predicted feature) and the graph is self-contained. A final RMSNorm makes the prediction
    live on the same scale as the target's feature, which is itself an RMSNorm output.

    Its blocks may be narrower than the target (cfg.d_model < cfg.feature_dim): the input projection
    then maps down to its own width and a linear layer maps back up to the feature width before the
    norm. A drafting step costs about its share of the weights read, so width is the lever on c."""

    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.cfg = cfg
        F_ = cfg.feature_dim or cfg.d_model
        self.embed = nn.Embedding(cfg.vocab_size, F_)
        self.fc = nn.Linear(2 * F_, cfg.d_model, bias=False)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.up = nn.Linear(cfg.d_model, F_, bias=False) if F_ != cfg.d_model else None
        self.norm = RMSNorm(F_, cfg.norm_eps)
        self.lm_head = nn.Linear(F_, cfg.vocab_size, bias=False)
        init_weights(self, cfg.n_layers)

    @property
    def feature_dim(self) -> int:
        return self.cfg.feature_dim or self.cfg.d_model

    @classmethod
    def from_target(cls, target: TargetModel, n_layers: int = 1, n_heads: int | None = None,
                    d_model: int | None = None) -> "Eagle":
        t = target.cfg
        width = d_model or t.d_model
        cfg = DecoderConfig(vocab_size=t.vocab_size, context=t.context, d_model=width,
                            n_heads=n_heads or max(1, width // t.head_dim), n_layers=n_layers,
                            mlp_hidden=t.mlp_hidden if width == t.d_model else 0,
                            rope_base=t.rope_base, norm_eps=t.norm_eps,
                            feature_dim=t.d_model if width != t.d_model else 0)
        eagle = cls(cfg)
        eagle.embed.weight.data.copy_(target.embed.weight.data)
        eagle.lm_head.weight.data.copy_(target.lm_head.weight.data)
        eagle.embed.requires_grad_(False)
        eagle.lm_head.requires_grad_(False)
        return eagle

    def forward(self, ids, prev_features, positions=None, past_len=None, past=None):
        """ids (B, T), prev_features (B, T, D) → logits (B, T, V), predicted feature (B, T, D), new cache."""
        if positions is None:
            positions, past_len = default_positions(ids)
        x = self.fc(torch.cat([prev_features, self.embed(ids)], dim=-1))  # (B, T, D)
        x, new = run_blocks(self.blocks, self.cfg, x, positions, past_len, past)
        feature = self.norm(x if self.up is None else self.up(x))  # (B, T, D)
        return self.lm_head(feature), feature, new
