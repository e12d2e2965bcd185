"""
The speaking network: semantic units (25 Hz) -> vocoder frames (100 Hz) for the source-filter vocoder.
Non-autoregressive: unit embedding, dilated residual 1-D convolutions at the unit rate (context of
about +-0.7 s), a learned upsampling to frames_per_unit frames per unit, a few convolutions at the frame
rate, and a linear head whose output is added to a per-unit lookup of frames (initialised to each
unit's mean frames in the training data, so the network starts as the codebook's centroid
resynthesis and learns the context-dependent correction). The exported graph de-normalises its outputs, so the app gets raw features:
log-mel powers, log f0 (Hz) and a voicing probability.
"""
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class SpeakerConfig:
    n_units: int = 1024                 # semantic vocabulary (units/make_units.py)
    frames_per_unit: int = 4            # 25 Hz units -> 100 Hz vocoder frames
    n_mels: int = 40                    # envelope bands; the head writes n_mels + 2 values per frame
    d_unit: int = 192                   # channels at the unit rate
    unit_dilations: list = field(default_factory=lambda: [1, 2, 4, 8, 1, 2])  # receptive field +-18 units = +-0.72 s
    unit_kernel: int = 3                # kernel of the unit-rate convolutions
    d_frame: int = 96                   # channels at the frame rate
    frame_layers: int = 2               # convolutions at the frame rate (smooth unit boundaries)
    frame_kernel: int = 5               # their kernel (+-20 ms each)
    dropout: float = 0.1                # inside residual blocks, training only


class ResBlock(nn.Module):
    """x + conv(gelu(norm(x))), channels-first; padded positions are zeroed by the caller's mask."""

    def __init__(self, d, kernel, dilation, dropout):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):                                               # (B, D, T)
        h = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return x + self.drop(self.conv(F.gelu(h)))


class Speaker(nn.Module):
    def __init__(self, cfg: SpeakerConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.n_units, cfg.d_unit)
        self.unit_blocks = nn.ModuleList(ResBlock(cfg.d_unit, cfg.unit_kernel, d, cfg.dropout) for d in cfg.unit_dilations)
        self.upsample = nn.Linear(cfg.d_unit, cfg.frames_per_unit * cfg.d_frame)
        self.frame_blocks = nn.ModuleList(ResBlock(cfg.d_frame, cfg.frame_kernel, 1, cfg.dropout) for _ in range(cfg.frame_layers))
        self.norm = nn.LayerNorm(cfg.d_frame)
        self.head = nn.Linear(cfg.d_frame, cfg.n_mels + 2)
        # per-unit frames, (n_units, frames_per_unit * (n_mels+2)) normalised; train.py sets the unit means
        self.lookup = nn.Embedding(cfg.n_units, cfg.frames_per_unit * (cfg.n_mels + 2))
        nn.init.zeros_(self.lookup.weight)
        with torch.no_grad():                                           # start close to the lookup alone
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()
        # target normalisation (set from the training data, saved with the weights, applied in export)
        self.register_buffer('target_mean', torch.zeros(cfg.n_mels + 2))
        self.register_buffer('target_std', torch.ones(cfg.n_mels + 2))

    def forward(self, units, mask=None):
        """units (B, U) int64, mask (B, U) bool or None -> normalised predictions (B, U*frames_per_unit, n_mels+2)."""
        B, U = units.shape
        x = self.embed(units).transpose(1, 2)                           # (B, d_unit, U)
        m = None if mask is None else mask[:, None, :].to(x.dtype)     # (B, 1, U)
        for block in self.unit_blocks:
            x = block(x if m is None else x * m)
        x = self.upsample(x.transpose(1, 2))                            # (B, U, fpu*d_frame)
        x = x.reshape(B, U * self.cfg.frames_per_unit, self.cfg.d_frame).transpose(1, 2)  # (B, d_frame, T)
        mf = None if m is None else m.repeat_interleave(self.cfg.frames_per_unit, dim=2)
        for block in self.frame_blocks:
            x = block(x if mf is None else x * mf)
        prior = self.lookup(units).reshape(B, U * self.cfg.frames_per_unit, -1)   # (B, T, n_mels+2)
        return prior + self.head(self.norm(x.transpose(1, 2)))          # (B, T, n_mels+2)

    def frames(self, units):
        """Raw vocoder frames for the app: log-mel, log f0, voicing probability. (B, U) -> (B, T, n_mels+2)."""
        y = self.forward(units)
        raw = y * self.target_std + self.target_mean
        return torch.cat([raw[..., :-1], torch.sigmoid(y[..., -1:])], dim=-1)
