"""
The neural speaker: semantic units (25 Hz) → waveform samples, in one network (Vocos, Siuzdak 2023: a ConvNeXt
backbone at the frame rate and a head that writes an STFT, inverted inside the graph).

  units (B, U) int64
    → unit embedding + a learned offset per frame of the unit          (B, D, U·F)   F = frames_per_unit (4: 100 Hz)
    → input convolution, ConvNeXt blocks (depthwise conv, LayerNorm, MLP, layer scale)
    → head: log-magnitude and phase of each of the n_fft/2+1 bins     (B, 2·(n_fft/2+1), T)
    → inverse STFT as one ConvTranspose1d whose weights are the windowed inverse-DFT basis divided by the
      window's overlap sum, trimmed so frame t owns samples [t·hop, (t+1)·hop)     (B, U·F·hop)

The exported ONNX graph (speaker/neural_export.py) is this module's forward: `units` → `audio`. Everything is
convolutional with a finite receptive field, so a window of units with `context_units()` on each side speaks its
middle exactly as the whole utterance would (electron/core/pipeline/speaker.ts speaks in such windows).

The discriminators (multi-period, HiFi-GAN's; multi-resolution, Vocos's) and the losses live here too; the
training loop is speaker/neural_train.py.
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class NeuralConfig:
    n_units: int = 1024          # the shipped codebook's vocabulary (native-models/voice/speaker/codebook.npz)
    sample_rate: int = 24000     # issue #21: at least 22.05 kHz
    hop: int = 240               # 10 ms at 24 kHz: 100 Hz frames, 4 per 25 Hz unit
    n_fft: int = 960             # Vocos' n_fft = 4 · hop; the Hann window is n_fft long
    frames_per_unit: int = 4     # 25 Hz units × 4 = 100 Hz frames
    dim: int = 384               # backbone width (Vocos: 512; 384 keeps the 2-core real-time factor in budget)
    intermediate: int = 1152     # ConvNeXt MLP width, 3 · dim as in Vocos
    n_layers: int = 8            # ConvNeXt blocks (Vocos: 8)
    kernel: int = 7              # depthwise kernel; receptive field ±(n_layers + 1)·(kernel // 2) frames
    max_log_mag: float = 4.6     # log-magnitudes clipped here (e^4.6 ≈ 100, Vocos' clip)

    @property
    def samples_per_unit(self) -> int:
        return self.hop * self.frames_per_unit


def receptive_frames(cfg: NeuralConfig) -> int:
    """Frames on each side a frame's output depends on: the input conv and every block's depthwise conv."""
    return (cfg.n_layers + 1) * (cfg.kernel // 2)


def context_units(cfg: NeuralConfig) -> int:
    """Units of context on each side that make a window's middle equal the whole utterance's: the backbone's
    receptive field plus the inverse STFT's overlap (a sample is written by the frames within n_fft/2 of it)."""
    overlap = -(-(cfg.n_fft // 2) // cfg.hop)
    return -(-(receptive_frames(cfg) + overlap) // cfg.frames_per_unit)


def hann(n: int) -> np.ndarray:
    """The periodic Hann window (torch.hann_window's default), float64."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def istft_basis(n_fft: int, hop: int) -> np.ndarray:
    """(2·(n_fft/2+1), 1, n_fft) weights of a ConvTranspose1d that turns real and imaginary parts of each frame's
    one-sided spectrum into overlap-added, windowed, normalised samples: irfft, times the window, divided by
    the steady-state sum of squared windows (constant for Hann at hop = n_fft/4: 1.5)."""
    bins = n_fft // 2 + 1
    k = np.arange(n_fft)
    f = np.arange(bins)[:, None]
    weight = np.full((bins, 1), 2.0)
    weight[0] = 1.0
    if n_fft % 2 == 0:
        weight[-1] = 1.0
    angle = 2 * np.pi * f * k[None, :] / n_fft
    win = hann(n_fft)
    squares = sum(np.roll(win ** 2, s * hop) for s in range(n_fft // hop))
    assert np.allclose(squares, squares[0]), 'the window squared does not overlap-add to a constant at this hop'
    scale = win / (n_fft * squares[0])
    real = weight * np.cos(angle) * scale
    imag = -weight * np.sin(angle) * scale
    return np.concatenate([real, imag])[:, None, :].astype(np.float32)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, intermediate: int, kernel: int, layer_scale: float):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.up = nn.Linear(dim, intermediate)
        self.down = nn.Linear(intermediate, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x):                                                # (B, D, T)
        y = self.dwconv(x).transpose(1, 2)                               # (B, T, D)
        y = self.down(F.gelu(self.up(self.norm(y))))
        return x + (self.gamma * y).transpose(1, 2)


class NeuralSpeaker(nn.Module):
    def __init__(self, cfg: NeuralConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.n_units, cfg.dim)
        self.frame_offset = nn.Parameter(torch.zeros(cfg.frames_per_unit, cfg.dim))  # which frame of its unit
        self.conv_in = nn.Conv1d(cfg.dim, cfg.dim, cfg.kernel, padding=cfg.kernel // 2)
        self.norm_in = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.blocks = nn.ModuleList(ConvNeXtBlock(cfg.dim, cfg.intermediate, cfg.kernel, 1.0 / cfg.n_layers)
                                    for _ in range(cfg.n_layers))
        self.norm_out = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.bins = cfg.n_fft // 2 + 1
        self.head = nn.Linear(cfg.dim, 2 * self.bins)
        self.register_buffer('basis', torch.from_numpy(istft_basis(cfg.n_fft, cfg.hop)), persistent=False)
        nn.init.normal_(self.embed.weight, std=0.02)
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def spectrum(self, units):
        """(B, U) unit ids → (B, 2·bins, T) float32: log-magnitudes, then phases, per frame."""
        B, U = units.shape
        F_ = self.cfg.frames_per_unit
        x = self.embed(units)[:, :, None, :] + self.frame_offset[None, None]      # (B, U, F, D)
        x = x.reshape(B, U * F_, self.cfg.dim).transpose(1, 2)                      # (B, D, T)
        x = self.conv_in(x)
        x = self.norm_in(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        x = self.head(self.norm_out(x.transpose(1, 2)))                             # (B, T, 2·bins)
        return x.transpose(1, 2).float()

    def synthesis(self, spectrum):
        """(B, 2·bins, T) log-magnitudes and phases → (B, T·hop) samples, in float32 whatever the autocast."""
        log_mag, phase = spectrum[:, :self.bins], spectrum[:, self.bins:]
        mag = torch.exp(torch.clamp(log_mag, max=self.cfg.max_log_mag))
        parts = torch.cat([mag * torch.cos(phase), mag * torch.sin(phase)], dim=1)  # (B, 2·bins, T)
        audio = F.conv_transpose1d(parts, self.basis, stride=self.cfg.hop)          # (B, 1, (T-1)·hop + n_fft)
        trim = (self.cfg.n_fft - self.cfg.hop) // 2   # frame t is centred on sample t·hop + hop/2
        T = spectrum.shape[-1]
        return audio[:, 0, trim:trim + T * self.cfg.hop]

    def forward(self, units):                                            # (B, U) → (B, U·samples_per_unit)
        spectrum = self.spectrum(units)
        with torch.autocast(device_type=spectrum.device.type, enabled=False):
            return self.synthesis(spectrum)


def speak_chunked(model: NeuralSpeaker, units: torch.Tensor, chunk_units: int, context: int | None = None) -> torch.Tensor:
    """(U,) units → samples, spoken in windows of `chunk_units` with `context` units on each side, each window's
    middle kept (what the app does; electron/core/pipeline/speaker.ts). Equal to model(units) up to rounding."""
    cfg = model.cfg
    context = context_units(cfg) if context is None else context
    pieces = []
    for start in range(0, len(units), chunk_units):
        end = min(len(units), start + chunk_units)
        lo, hi = max(0, start - context), min(len(units), end + context)
        audio = model(units[None, lo:hi])[0]
        pieces.append(audio[(start - lo) * cfg.samples_per_unit:(end - lo) * cfg.samples_per_unit])
    return torch.cat(pieces)


# ----------------------------------------------------------------------------------------------------
# Losses: multi-resolution STFT and mel L1 (HiFi-GAN, Parallel WaveGAN), on float32 audio


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """(n_mels, n_fft/2+1) HTK-mel triangles, 0 Hz to Nyquist."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    edges = 700.0 * (10.0 ** (np.linspace(0, mel(sample_rate / 2), n_mels + 2) / 2595.0) - 1.0)
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))
    return torch.from_numpy(fb.astype(np.float32))


class SpectralLosses(nn.Module):
    """Mel L1 (n_fft 1024, hop 256, 100 bands: Vocos' mel loss) and multi-resolution STFT (spectral convergence
    plus log-magnitude L1 at three resolutions: Parallel WaveGAN)."""

    def __init__(self, sample_rate: int, resolutions=((512, 128), (1024, 256), (2048, 512)), n_mels: int = 100):
        super().__init__()
        self.resolutions = resolutions
        self.register_buffer('mel_fb', mel_filterbank(sample_rate, 1024, n_mels), persistent=False)
        for n_fft, _ in resolutions:
            self.register_buffer(f'win{n_fft}', torch.hann_window(n_fft), persistent=False)

    def magnitude(self, x, n_fft: int, hop: int):
        spec = torch.stft(x, n_fft, hop, window=getattr(self, f'win{n_fft}'), return_complex=True)
        return spec.abs().clamp(min=1e-7)                                # (B, bins, T)

    def forward(self, fake, real) -> dict:                                # (B, N) float32 each
        parts = {}
        m_fake, m_real = self.magnitude(fake, 1024, 256), self.magnitude(real, 1024, 256)
        parts['mel'] = F.l1_loss(torch.log((self.mel_fb @ m_fake).clamp(min=1e-5)), torch.log((self.mel_fb @ m_real).clamp(min=1e-5)))
        sc, mag = 0.0, 0.0
        for n_fft, hop in self.resolutions:
            a, b = self.magnitude(fake, n_fft, hop), self.magnitude(real, n_fft, hop)
            sc = sc + torch.linalg.norm(b - a) / torch.linalg.norm(b).clamp(min=1e-7)
            mag = mag + F.l1_loss(torch.log(a), torch.log(b))
        parts['stft'] = (sc + mag) / len(self.resolutions)
        return parts


# ----------------------------------------------------------------------------------------------------
# Discriminators (on behind NeuralTrainConfig.adversarial)


def weight_norm(module: nn.Module) -> nn.Module:
    """Weight normalisation (HiFi-GAN's discriminators): the parametrization where torch has it (≥ 2.1; the old
    function is deprecated there), else the old function (torch 1.13 here)."""
    parametrizations = getattr(nn.utils, 'parametrizations', None)
    if parametrizations is not None and hasattr(parametrizations, 'weight_norm'):
        return parametrizations.weight_norm(module)
    return nn.utils.weight_norm(module)


def conv_stack(convs, post, x):
    """A discriminator's body: each conv then leaky ReLU, then `post`; its score (B, ·) and every layer's
    output, which feature matching compares."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), 0.1)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's: the waveform folded into (T/p, p), 2-D convolutions along time (channels narrowed)."""

    def __init__(self, period: int, channels=(32, 64, 128, 256)):
        super().__init__()
        self.period = period
        wn = weight_norm
        chans = (1,) + tuple(channels)
        self.convs = nn.ModuleList(wn(nn.Conv2d(chans[i], chans[i + 1], (5, 1), (3, 1), padding=(2, 0))) for i in range(len(channels)))
        self.convs.append(wn(nn.Conv2d(chans[-1], chans[-1], (5, 1), 1, padding=(2, 0))))
        self.post = wn(nn.Conv2d(chans[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x):                                                # (B, N)
        B, N = x.shape
        pad = (-N) % self.period
        x = F.pad(x, (0, pad), mode='reflect').view(B, 1, (N + pad) // self.period, self.period)
        return conv_stack(self.convs, self.post, x)


class ResolutionDiscriminator(nn.Module):
    """Vocos' (after UnivNet): 2-D convolutions over one resolution's log-magnitude spectrogram."""

    def __init__(self, n_fft: int, hop: int, channels: int = 32):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer('window', torch.hann_window(n_fft), persistent=False)
        wn = weight_norm
        self.convs = nn.ModuleList([
            wn(nn.Conv2d(1, channels, (7, 5), padding=(3, 2))),
            wn(nn.Conv2d(channels, channels, (5, 3), (2, 1), padding=(2, 1))),
            wn(nn.Conv2d(channels, channels, (5, 3), (2, 1), padding=(2, 1))),
            wn(nn.Conv2d(channels, channels, (5, 3), (2, 1), padding=(2, 1))),
            wn(nn.Conv2d(channels, channels, 3, padding=1)),
        ])
        self.post = wn(nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, x):                                                # (B, N)
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, return_complex=True).abs()
        x = torch.log(spec.clamp(min=1e-5))[:, None]                     # (B, 1, bins, T)
        return conv_stack(self.convs, self.post, x)


class Discriminators(nn.Module):
    def __init__(self, periods=(2, 3, 5, 7, 11), resolutions=((512, 128), (1024, 256), (2048, 512))):
        super().__init__()
        self.members = nn.ModuleList([PeriodDiscriminator(p) for p in periods]
                                     + [ResolutionDiscriminator(n, h) for n, h in resolutions])

    def forward(self, x):
        return [m(x) for m in self.members]


def discriminator_loss(real_outs, fake_outs) -> torch.Tensor:
    """Hinge loss (Vocos): real scores pushed above 1, fake below -1."""
    return sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for (r, _), (f, _) in zip(real_outs, fake_outs)) / len(real_outs)


def generator_adversarial_loss(real_outs, fake_outs) -> tuple:
    """(hinge loss on the fakes' scores, feature matching: L1 between real and fake features of every layer)."""
    adv = sum(F.relu(1 - f).mean() for f, _ in fake_outs) / len(fake_outs)
    fm = 0.0
    for (_, real_feats), (_, fake_feats) in zip(real_outs, fake_outs):
        fm = fm + sum(F.l1_loss(b, a.detach()) for a, b in zip(real_feats, fake_feats)) / len(real_feats)
    return adv, fm / len(fake_outs)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


