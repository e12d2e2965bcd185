"""The neural speaker (spear_voice/speaker/neural.py, neural_train.py, neural_export.py, teacher.py) at tiny scale."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from spear_voice.speaker.neural import Discriminators, NeuralConfig, NeuralSpeaker, SpectralLosses, context_units, hann, speak_chunked
from spear_voice.speaker.neural_export import export_neural
from spear_voice.speaker.neural_train import PRESETS, train
from spear_voice.speaker.neural_train import autocast_problem, read_wav
from spear_voice.speaker.teacher import SHIPPED_CODEBOOK, festival_command, render_all, write_pcm

TINY = NeuralConfig(dim=16, intermediate=32, n_layers=2)


def test_the_inverse_stft_in_the_graph_inverts_a_centred_stft():
    """Frames centred on t·hop + hop/2, Hann n_fft, one-sided spectrum in → the signal out (away from the edges)."""
    cfg = dataclasses.replace(TINY, max_log_mag=100.0)
    model = NeuralSpeaker(cfg)
    N, h, T = cfg.n_fft, cfg.hop, 40
    x = np.random.default_rng(0).standard_normal(T * h)
    padded = np.pad(x, (N, N))
    frames = np.stack([padded[N + t * h + h // 2 - N // 2:N + t * h + h // 2 + N // 2] * hann(N) for t in range(T)])
    spec = np.fft.rfft(frames, axis=1)
    parts = np.concatenate([np.log(np.abs(spec) + 1e-30).T, np.angle(spec).T])[None]
    y = model.synthesis(torch.tensor(parts, dtype=torch.float32))[0].numpy()
    assert y.shape == (T * h,)
    assert np.abs(y[N:-N] - x[N:-N]).max() < 1e-5


def test_windows_with_context_speak_the_whole_utterance_and_without_it_do_not():
    torch.manual_seed(0)
    model = NeuralSpeaker(TINY).eval()
    units = torch.randint(0, TINY.n_units, (37,))
    with torch.no_grad():
        whole = model(units[None])[0]
        assert whole.shape == (37 * TINY.samples_per_unit,)
        for chunk in (1, 5, 12):
            assert (speak_chunked(model, units, chunk) - whole).abs().max() < 1e-6
        assert (speak_chunked(model, units, 5, context=0) - whole).abs().max() > 1e-4
    assert context_units(TINY) == 3  # (2 + 1) · 3 frames of convolutions + 2 of inverse-STFT overlap → 11 frames


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory):
    """12 clips of tones whose pitch follows random units, as teacher.py lays the data out."""
    data = tmp_path_factory.mktemp("neural-data")
    (data / "wav24").mkdir()
    rng = np.random.default_rng(1)
    rows = []
    for i in range(12):
        units = rng.integers(0, 1024, int(rng.integers(6, 20)))
        f0 = np.repeat(100 + units / 4, 960)
        t = np.arange(len(f0)) / 24000
        write_pcm(data / "wav24" / f"c{i}.wav", 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / 24000) * (t < t[-1] * 0.9), 24000)
        rows.append({"id": f"c{i}", "units": units.tolist()})
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:10]))
    (data / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[10:]))
    return data


def smoke(**changes):
    return dataclasses.replace(PRESETS["cpu-smoke"], dim=16, intermediate=32, batch_size=2, segment_units=4, log_every=2,
                               budget_s=60.0, reserve_s=0.0, eval_every_s=1e9, ckpt_every_s=1e9, **changes)


def test_training_lowers_the_loss_checkpoints_and_resumes(fake_data, tmp_path):
    out = tmp_path / "run"
    first = train(smoke(max_steps=30), fake_data, out)
    assert first["steps"] == 30 and (out / "ckpt.pt").exists()
    history = json.loads((out / "train.json").read_text())["history"]
    untrained = train(smoke(max_steps=1, lr=0.0, warmup_steps=0), fake_data, tmp_path / "untrained")
    assert history[-1]["mel_l1"] < untrained["val"]["mel_l1"], (history, untrained)
    again = train(smoke(max_steps=34), fake_data, out, resume=True)
    assert again["steps"] == 34


def test_the_discriminators_join_after_the_warm_up(fake_data, tmp_path, capsys):
    train(smoke(max_steps=6, adversarial=True, adv_start=0.5), fake_data, tmp_path / "adv")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert "disc" not in lines[0] and "disc" in lines[-1] and "fm" in lines[-1], lines


def test_the_autocast_probe_names_a_failure_and_leaves_no_gradients():
    torch.manual_seed(0)
    model, disc, losses = NeuralSpeaker(TINY), Discriminators(), SpectralLosses(TINY.sample_rate)
    batch = (torch.randint(0, TINY.n_units, (2, 4)), 0.1 * torch.randn(2, 4 * TINY.samples_per_unit))
    cpu = torch.device("cpu")
    assert autocast_problem(model, disc, losses, batch, cpu, dict(device_type="cpu", enabled=False)) is None
    assert all(p.grad is None for p in [*model.parameters(), *disc.parameters()])
    broken = (batch[0], 0.1 * torch.randn(2, 9 * TINY.samples_per_unit))  # targets longer than the units speak
    assert autocast_problem(model, disc, losses, broken, cpu, dict(device_type="cpu", enabled=False))


def test_export_writes_a_checked_waveform_speaker(tmp_path):
    torch.manual_seed(0)
    manifest = export_neural(NeuralSpeaker(TINY), tmp_path / "speaker", codebook=None, parity_units=5)
    assert manifest["vocoder"] == {"kind": "waveform", "context_units": 3, "chunk_units": 25}
    assert manifest["sample_rate"] == 24000 and manifest["unit_rate"] == 25.0
    assert manifest["graph"]["outputs"] == ["audio"] and sorted(manifest["files"]) == ["parity.json", "speaker.onnx"]
    assert manifest["checks"]["chunked_max_diff"] < 1e-5
    parity = json.loads((tmp_path / "speaker/parity.json").read_text())
    assert parity["shape"] == [2, 5 * 960] and len(parity["audio"]) == 2 * 5 * 960


@pytest.mark.skipif(shutil.which("festival") is None, reason="no Festival on this machine")
def test_the_teacher_renders_units_and_24_khz_audio(tmp_path):
    info = render_all([("a", "Hello there."), ("b", "A second short sentence.")], tmp_path, festival_command(None),
                      codebook=SHIPPED_CODEBOOK, workers=1,
                      seconds=None, n_val=1)
    assert info["clips"] == 2 and info["train"] == 1 and info["val"] == 1
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    audio = read_wav(tmp_path / "wav24" / f"{rows[0]['id']}.wav", 24000)
    assert abs(len(audio) / 960 - len(rows[0]["units"])) <= 1  # the same clip at 24 kHz and at 16 kHz (640 a unit)
    assert all(0 <= u < 1024 for u in rows[0]["units"])
