"""spear_voice.speaker at another sample rate than the units': the 24 kHz geometry, the frame targets, and the export."""
import json

import numpy as np

from spear_voice import REPO_ROOT
from spear_voice.fixtures import make_speaker
from spear_voice.speaker.export import vocoder_settings
from spear_voice.speaker.features import (GEOMETRIES, N_MELS, UNITS, VocoderFeatureConfig, hz_to_mel, mel_filterbank,
                                          vocoder_features, write_wav)
from spear_voice.speaker.targets import clip_targets


def test_every_geometry_has_100_frames_a_second_a_25_ms_window_and_a_radix_2_fft():
    for rate, g in GEOMETRIES.items():
        assert g.sample_rate == rate and g.hop * 100 == rate and g.win * 40 == rate
        assert g.n_fft >= g.win and g.n_fft & (g.n_fft - 1) == 0
    assert GEOMETRIES[16000] == UNITS


def test_the_24_khz_bands_reach_12_khz_with_the_16_khz_mel_spacing():
    g = GEOMETRIES[24000]
    fb = mel_filterbank(N_MELS[24000], g=g)
    assert fb.shape == (46, 513)
    bins = np.arange(513) * 24000 / 1024
    assert bins[fb[-1] > 0].max() > 11500                                # the top band reaches Nyquist
    spacing = {rate: hz_to_mel(rate / 2) / (N_MELS[rate] + 1) for rate in GEOMETRIES}
    assert abs(spacing[24000] - spacing[16000]) < 0.01 * spacing[16000]


def test_targets_have_4_frames_a_unit_see_a_tone_above_8_khz_and_the_pitch(tmp_path):
    rate, n_units = 24000, 10
    t = np.arange(n_units * 960 - 7) / rate                              # a sample short, as sox may leave a clip
    write_wav(tmp_path / "a.wav", 0.3 * np.sin(2 * np.pi * 200 * t) + 0.05 * np.sin(2 * np.pi * 10000 * t), rate)
    frames = clip_targets(tmp_path / "a.wav", n_units, rate)
    assert frames.shape == (4 * n_units, 46 + 2)
    g = GEOMETRIES[rate]
    band = int(np.argmax(mel_filterbank(46, g=g)[:, int(round(10000 * g.n_fft / rate))]))
    assert frames[20, band] > frames[20, band - 3] + 5                  # the 10 kHz tone stands out of its neighbours
    # YIN at 24 kHz: a voice's pitch (a strong 10 kHz tone, unlike speech's high band, pulls its dips)
    write_wav(tmp_path / "b.wav", 0.3 * np.sin(2 * np.pi * 200 * t), rate)
    frames = clip_targets(tmp_path / "b.wav", n_units, rate)
    assert abs(np.exp(np.median(frames[8:32, -2])) - 200) < 1 and frames[8:32, -1].all()
    # the units' own analysis at 16 kHz keeps its 40 bands
    x16 = 0.3 * np.sin(2 * np.pi * 200 * np.arange(n_units * 640) / 16000)
    assert vocoder_features(x16, VocoderFeatureConfig()).shape == (4 * n_units, 42)


def test_the_aperiodic_ramp_keeps_its_slope_to_each_nyquist_frequency():
    assert vocoder_settings(16000)["aperiodic_top"] == 0.5
    assert vocoder_settings(24000)["aperiodic_top"] == 0.98
    assert json.dumps(vocoder_settings(24000))                           # plain JSON for speaker.json


def test_the_24_khz_speaker_fixture_is_rebuilt_byte_for_byte(tmp_path):
    out = tmp_path / "tiny-speaker-24k"
    make_speaker(out, "test")
    committed = REPO_ROOT / "tests" / "fixtures" / "tiny-speaker-24k"
    for name in ("speaker.onnx", "parity.json", "codebook.npz"):
        assert (out / name).read_bytes() == (committed / name).read_bytes(), name
    manifest = json.loads((out / "speaker.json").read_text())
    assert manifest["sample_rate"] == 24000 and manifest["unit_rate"] == 25.0
    assert manifest["features"]["hop"] == 240 and manifest["features"]["n_mels"] == 46
    assert manifest["files"] == json.loads((committed / "speaker.json").read_text())["files"]
