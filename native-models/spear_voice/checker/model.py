"""The reading check's network: semantic units (25 Hz) -> per-frame phone log-probabilities at 50 Hz (each
unit read twice, so any phone sequence of the sentence fits under CTC)."""

from dataclasses import dataclass

import torch.nn as nn

from ..speaker.model import ResBlock


@dataclass
class CheckerConfig:
    n_units: int = 1024         # the units it reads (the voice's codebook)
    n_phones: int = 39          # labels; CTC blank is index n_phones
    d: int = 192                # channels
    unit_dilations: tuple = (1, 2, 4, 1, 2)   # residual convolutions at the unit rate (kernel 5)
    frame_layers: int = 2       # residual convolutions at the frame rate, after upsampling
    dropout: float = 0.1        # inside each residual block


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
        x = self.embed(units).transpose(1, 2)                               # (B, d, U)
        for b in self.unit_blocks:
            x = b(x)
        x = self.up(x.transpose(1, 2)).reshape(B, 2 * U, -1).transpose(1, 2)  # (B, d, 2U)
        for b in self.frame_blocks:
            x = b(x)
        return self.head(self.norm(x.transpose(1, 2))).log_softmax(-1)     # (B, 2U, n_phones + 1)
