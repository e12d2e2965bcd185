"""
Frame features of speech, shared by the semantic units (spear_voice/units/) and the speaking stage
(spear_voice/speaker/): one STFT convention, one mel filterbank, one pitch tracker, at the frame
geometry of a sample rate (`Geometry`): the units read 16 kHz audio (UNITS); a speaker writes frames
at its own rate (GEOMETRIES), always 100 per second, so 4 frames are still one 25 Hz unit.

Frame t describes the samples around t*hop + hop/2, so a clip padded to a whole number of units of
U frames has exactly n_units*U frames and a vocoder that writes hop samples per frame returns exactly
n_units*U*hop samples. The TypeScript vocoder (electron/core/audio/dsp/) uses the same conventions; the mel
filterbank formula is duplicated there (electron/core/audio/dsp/mel.ts) and must stay identical.
"""
import wave
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    sample_rate: int = 16000   # Hz
    hop: int = 160             # 10 ms: the vocoder frame rate is 100 Hz
    win: int = 400             # 25 ms Hann analysis window, centred in the FFT frame
    n_fft: int = 512           # a power of two >= win (electron/core/audio/dsp/fft.ts is radix-2)


UNITS = Geometry()             # what the units and the 16 kHz speaker read and write
# The same 10 ms hop and 25 ms window at each rate; n_fft the next power of two.
GEOMETRIES = {16000: UNITS, 24000: Geometry(sample_rate=24000, hop=240, win=600, n_fft=1024)}

SAMPLE_RATE, HOP, WIN, N_FFT = UNITS.sample_rate, UNITS.hop, UNITS.win, UNITS.n_fft
F0_MIN = 70.0       # Hz; the HTS slt voice measured 120-330 Hz on val, with margin for octave slips
F0_MAX = 400.0


def read_wav(path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """16-bit mono PCM at `sample_rate` -> float32 in [-1, 1]."""
    with wave.open(str(path), 'rb') as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, f'{path}: want 16-bit mono'
        assert w.getframerate() == sample_rate, f'{path}: want {sample_rate} Hz, got {w.getframerate()}'
        data = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2')
    return data.astype(np.float32) / 32768.0


def write_wav(path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype('<i2')
    with wave.open(str(path), 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def pad_to_units(x: np.ndarray, samples_per_unit: int) -> np.ndarray:
    """Zero-pad the end so the clip is a whole number of units (at least one)."""
    n_units = max(1, -(-len(x) // samples_per_unit))
    return np.pad(x, (0, n_units * samples_per_unit - len(x)))


def hann(n: int) -> np.ndarray:
    # symmetric-free ("periodic") Hann, the same formula as electron/core/audio/dsp/stft.ts
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float64)


def frames(x: np.ndarray, length: int, g: Geometry = UNITS) -> np.ndarray:
    """(T, length) frames; frame t is centred on sample t*hop + hop/2 (zero outside the clip)."""
    T = len(x) // g.hop
    starts = np.arange(T) * g.hop + g.hop // 2 - length // 2
    pad = length
    xp = np.pad(x.astype(np.float64), (pad, pad))
    idx = starts[:, None] + pad + np.arange(length)[None, :]
    return xp[idx]


def power_spectrum(x: np.ndarray, g: Geometry = UNITS) -> np.ndarray:
    """(T, n_fft/2+1) |rfft(window * frame)|^2 with the win-sample Hann centred in n_fft."""
    fr = frames(x, g.win, g) * hann(g.win)[None, :]
    return np.abs(np.fft.rfft(fr, n=g.n_fft, axis=1)) ** 2


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, f_min: float = 0.0, f_max: float | None = None, g: Geometry = UNITS) -> np.ndarray:
    """(n_mels, n_fft/2+1) HTK-mel triangles with unit peak up to f_max (default Nyquist)
    (twin: electron/core/audio/dsp/mel.ts)."""
    f_max = g.sample_rate / 2 if f_max is None else f_max
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    bins = np.arange(g.n_fft // 2 + 1) * g.sample_rate / g.n_fft
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None, :] - lo) / (mid - lo)
    down = (hi - bins[None, :]) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(up, down))
    # a band narrower than one bin would be empty: give it its nearest bin
    for b in np.where(fb.sum(1) == 0)[0]:
        fb[b, int(round(mid[b, 0] * g.n_fft / g.sample_rate))] = 1.0
    return fb


LOG_FLOOR = 1e-10   # power floor before log: -100 dB, below 16-bit quantisation noise


def log_mel(x: np.ndarray, n_mels: int, g: Geometry = UNITS) -> np.ndarray:
    """(T, n_mels) natural log of mel-band power."""
    return np.log(np.maximum(power_spectrum(x, g) @ mel_filterbank(n_mels, g=g).T, LOG_FLOOR)).astype(np.float32)


def yin(x: np.ndarray, threshold: float = 0.15, voiced_max: float = 0.35, silence_db: float = -60.0, g: Geometry = UNITS):
    """
    (f0 Hz (T,), voiced bool (T,)) by YIN (de Cheveigné & Kawahara 2002): cumulative mean normalised
    difference, first dip under `threshold` (else the global minimum), parabolic interpolation.
    Voiced when that minimum is under `voiced_max` and the frame is above `silence_db` (dBFS).
    """
    tau_min = int(g.sample_rate // F0_MAX)
    tau_max = int(np.ceil(g.sample_rate / F0_MIN))
    W = g.win
    seg = frames(x, W + tau_max, g)                                          # (T, W+tau_max)
    n = 1 << int(np.ceil(np.log2(W + tau_max)))
    a = np.fft.rfft(seg[:, :W], n=n, axis=1)
    b = np.fft.rfft(seg, n=n, axis=1)
    r = np.fft.irfft(np.conj(a) * b, n=n, axis=1)[:, :tau_max + 1]         # (T, tau_max+1) sum x[j] x[j+tau]
    sq = np.concatenate([np.zeros((len(seg), 1)), np.cumsum(seg ** 2, axis=1)], axis=1)
    taus = np.arange(tau_max + 1)
    e0 = sq[:, W][:, None]                                                   # sum over j < W of x[j]^2
    et = sq[:, taus + W] - sq[:, taus]                                       # sum of x[j+tau]^2
    d = np.maximum(e0 + et - 2 * r, 0.0)
    cum = np.cumsum(d[:, 1:], axis=1)
    dn = np.ones_like(d)
    dn[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    search = dn[:, tau_min:tau_max]                                          # (T, L)
    below = search < threshold
    # first local dip under the threshold: walk from the first crossing down to the local minimum
    first = np.where(below.any(1), below.argmax(1), search.argmin(1))
    best = first.copy()
    L = search.shape[1]
    for _ in range(tau_max):                                                 # at most L steps; typically < 5
        nxt = np.minimum(best + 1, L - 1)
        move = search[np.arange(len(best)), nxt] < search[np.arange(len(best)), best]
        if not move.any():
            break
        best = np.where(move, nxt, best)
    rows = np.arange(len(best))
    i = np.clip(best, 1, L - 2)
    y0, y1, y2 = search[rows, i - 1], search[rows, i], search[rows, i + 1]
    denom = y0 - 2 * y1 + y2
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (y0 - y2) / np.where(denom == 0, 1, denom), 0.0)
    tau = tau_min + i + np.clip(shift, -1, 1)
    f0 = g.sample_rate / tau
    energy_db = 10 * np.log10(np.maximum(e0[:, 0] / W, 1e-12))
    voiced = (search[rows, best] < voiced_max) & (energy_db > silence_db)
    return f0.astype(np.float32), voiced


def clean_voicing(voiced: np.ndarray, f0: np.ndarray):
    """Drop single-frame voicing flips and octave spikes (median of 3 over voiced neighbours)."""
    v = voiced.copy()
    for t in range(1, len(v) - 1):
        if v[t - 1] == v[t + 1] != v[t]:
            v[t] = v[t - 1]
    f = f0.copy()
    for t in range(1, len(f) - 1):
        if v[t - 1] and v[t] and v[t + 1]:
            f[t] = np.median(f0[t - 1:t + 2])
    return v, f


def interpolate_log_f0(f0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """log f0 over all frames: linear through unvoiced gaps, held flat before the first/after the last voiced frame."""
    lf = np.log(np.maximum(f0, 1.0))
    if not voiced.any():
        return np.full(len(f0), np.log(200.0), dtype=np.float32)
    t = np.arange(len(f0))
    return np.interp(t, t[voiced], lf[voiced]).astype(np.float32)


@dataclass
class VocoderFeatureConfig:
    n_mels: int = 40    # envelope bands to 8 kHz; 40 keeps the slt voice's 200 Hz harmonics mostly out of the envelope


# Envelope bands of a speaker at each rate: the 16 kHz speaker's mel spacing (hz_to_mel(8000) / 41 = 69 mel)
# carried on to the Nyquist frequency, so the envelope is as smooth below 8 kHz and 6 bands cover 8-12 kHz.
N_MELS = {16000: 40, 24000: 46}


def vocoder_features(x: np.ndarray, cfg: VocoderFeatureConfig, g: Geometry = UNITS) -> np.ndarray:
    """(T, n_mels + 2) per 10 ms frame: log-mel power (n_mels), log f0 (interpolated), voicing (0/1)."""
    lm = log_mel(x, cfg.n_mels, g)
    f0, v = yin(x, g=g)
    v, f0 = clean_voicing(v, f0)
    lf0 = interpolate_log_f0(f0, v)
    return np.concatenate([lm, lf0[:, None], v[:, None].astype(np.float32)], axis=1)


def write_feature_file(path, feats: np.ndarray) -> None:
    """Raw little-endian: int32 T, int32 D, then float32 (T, D); read by native-models/tools/speaker/vocode.ts."""
    feats = np.ascontiguousarray(feats, dtype='<f4')
    with open(path, 'wb') as f:
        f.write(np.array(feats.shape, dtype='<i4').tobytes())
        f.write(feats.tobytes())
