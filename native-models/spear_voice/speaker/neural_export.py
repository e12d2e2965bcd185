"""
Exports a trained neural speaker (speaker/neural_train.py's ckpt.pt) as a speaker folder the app loads
(electron/core/pipeline/speaker.ts, vocoder kind "waveform"):

  speaker.onnx    units (B, U) int64 → audio (B, U · samples_per_unit) float32: the inverse STFT is in the graph
  codebook.npz    the units' codebook (the shipped one), so the folder carries what its units mean
  parity.json     a PyTorch reference case (units, audio) the tests compare onnxruntime-node against
  speaker.json    manifest: sha256 of each file, rates, the chunking context, model and training config
  samples/        (--samples N) the speaker's audio of N validation clips beside the teacher's, 16-bit WAV

  python3 -m spear_voice.speaker.neural_export --ckpt RUN/ckpt.pt --out DIR [--data DATA --samples 4]
  python3 -m spear_voice.speaker.neural_export --ckpt RUN/ckpt.pt --slim weights.pt   # float16 weights only, no ONNX
  python3 -m spear_voice.speaker.neural_export --fixture tests/fixtures/tiny-neural-speaker

--fixture writes a tiny random speaker (4 kHz, hop 40) for the app's tests instead. --slim writes the generator's
weights in float16 without the optimisers (a third of ckpt.pt's size), which --ckpt reads like a checkpoint: what the
device stage brings back when the export itself fails there.
"""
import argparse
import inspect
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .. import REPO_ROOT, code_commit
from ..t2s.export import sha256
from ..training import float_weights, load_checkpoint, save_checkpoint
from .neural import NeuralConfig, NeuralSpeaker, context_units, speak_chunked

INPUT, OUTPUT = 'units', 'audio'   # tensor names; twins in electron/core/pipeline/speaker.ts (WAVEFORM_OUTPUT)
CODE_PATHS = ('native-models/spear_voice/speaker/neural.py', 'native-models/spear_voice/speaker/neural_train.py',
              'native-models/spear_voice/speaker/neural_export.py', 'native-models/spear_voice/speaker/teacher.py')
SHIPPED_CODEBOOK = REPO_ROOT / 'native-models/voice/speaker/codebook.npz'
# Units per window the app speaks at once, beside context_units() on each side: 1 s of audio, so the first
# window costs (chunk + 2 · context) units of network time (docs/voice-audio.md#the-neural-speaker).
CHUNK_UNITS = 25
PARITY_ROWS, PARITY_UNITS = 2, 25
FIXTURE = NeuralConfig(sample_rate=4000, hop=40, n_fft=160, dim=8, intermediate=16, n_layers=2, kernel=3)


def export_neural(model: NeuralSpeaker, out: Path, *, codebook: Path | None, training: dict | None = None,
                  parity_units: int = PARITY_UNITS, seed: int = 0) -> dict:
    """The speaker folder for `model`; returns the manifest. Checks that windows of CHUNK_UNITS with
    context_units() on each side speak what the whole utterance does (PyTorch, ≤ 1e-5)."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    model = model.float().cpu().eval()
    g = torch.Generator().manual_seed(seed)
    example = torch.randint(0, cfg.n_units, (1, 30), generator=g)
    kwargs = {'dynamo': False} if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {}
    # NOTE: torch >= 2.9 defaults to the dynamo exporter; TorchScript's keeps the graph this module was tested with.
    torch.onnx.export(model, (example,), str(out / 'speaker.onnx'), input_names=[INPUT], output_names=[OUTPUT],
                      dynamic_axes={INPUT: {0: 'B', 1: 'U'}, OUTPUT: {0: 'B', 1: 'N'}}, opset_version=17, **kwargs)
    files = ['speaker.onnx', 'parity.json']
    if codebook is not None:
        shutil.copyfile(codebook, out / 'codebook.npz')
        files.append('codebook.npz')

    case = torch.randint(0, cfg.n_units, (PARITY_ROWS, parity_units), generator=g)
    with torch.no_grad():
        ref = model(case)
        long = torch.randint(0, cfg.n_units, (3 * CHUNK_UNITS + 7,), generator=g)
        chunk_diff = float((speak_chunked(model, long, CHUNK_UNITS) - model(long[None])[0]).abs().max())
    if chunk_diff > 1e-5:
        raise SystemExit(f'chunked speech differs from the whole utterance by {chunk_diff:.2e}: context_units() is wrong')
    (out / 'parity.json').write_text(json.dumps({
        'units': case.tolist(), 'shape': list(ref.shape), 'audio': [round(v, 7) for v in ref.flatten().tolist()]}))
    ort_diff = onnxruntime_parity(out / 'speaker.onnx', case.numpy(), ref.numpy())

    manifest = {
        'format': 'spear-speaker/1',
        'sample_rate': cfg.sample_rate,
        'unit_rate': cfg.sample_rate / cfg.samples_per_unit,
        'unit_count': cfg.n_units,
        'frames_per_unit': cfg.frames_per_unit,
        'features': {'hop': cfg.hop, 'win': cfg.n_fft, 'n_fft': cfg.n_fft,
                     'layout': 'log-magnitude and phase of each bin, inverted inside the graph'},
        'vocoder': {'kind': 'waveform', 'context_units': context_units(cfg), 'chunk_units': CHUNK_UNITS},
        'graph': {'file': 'speaker.onnx', 'inputs': [INPUT], 'outputs': [OUTPUT]},
        'files': {name: sha256(out / name) for name in sorted(files)},
        'model_config': asdict(cfg),
        'checks': {'chunked_max_diff': chunk_diff, **({'onnxruntime_python_max_diff': ort_diff} if ort_diff is not None else {})},
        **({'training': training} if training else {}),
        'code_commit': code_commit(*CODE_PATHS),
    }
    (out / 'speaker.json').write_text(json.dumps(manifest, indent=1) + '\n')
    return manifest


def onnxruntime_parity(path: Path, units: np.ndarray, ref: np.ndarray) -> float | None:
    """Max |ONNX Runtime (Python) − PyTorch| where onnxruntime is installed (the GPU machine); None elsewhere
    (here the Node tests check it: tests/core/speaker/neural-speaker.test.ts)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    got = session.run([OUTPUT], {INPUT: units.astype(np.int64)})[0]
    diff = float(np.abs(got - ref).max())
    if diff > 1e-4:
        raise SystemExit(f'{path}: ONNX Runtime differs from PyTorch by {diff:.2e} (tolerance 1e-4)')
    return diff


def write_samples(model: NeuralSpeaker, data: Path, out: Path, n: int) -> list:
    """The speaker's audio of the first n validation clips (and the teacher's), for listening."""
    from .neural_train import load_split
    from .teacher import write_pcm
    folder = out / 'samples'
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for units, samples in load_split(data, 'val', model.cfg, n):
        cid = f'{len(names):02d}'
        with torch.no_grad():
            audio = model(torch.from_numpy(units)[None])[0].numpy()
        write_pcm(folder / f'{cid}.speaker.wav', np.clip(audio, -1, 1), model.cfg.sample_rate)
        write_pcm(folder / f'{cid}.teacher.wav', samples / 32768.0, model.cfg.sample_rate)
        names.append(cid)
    return names


def make_fixture(out: Path, how: str) -> None:
    torch.manual_seed(1234)
    model = NeuralSpeaker(FIXTURE)
    with torch.no_grad():  # a louder random head, so the fixture's audio is far from zero
        model.head.weight.mul_(10.0)
    export_neural(model, out, codebook=None, training={'kind': 'random-init', 'seed': 1234}, parity_units=12)
    manifest = json.loads((out / 'speaker.json').read_text())
    manifest['code_commit'] = 'fixture'  # a fixture is rebuilt byte for byte whatever the commit
    (out / 'speaker.json').write_text(json.dumps(manifest, indent=1) + '\n')
    (out / 'README.md').write_text(f'A random neural speaker (seed 1234, {FIXTURE.sample_rate} Hz, hop {FIXTURE.hop}, '
                                   f'vocoder kind "waveform"), made by `/usr/bin/python3 {how}`.\n')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ckpt', type=Path)
    ap.add_argument('--out', type=Path)
    ap.add_argument('--codebook', type=Path, default=SHIPPED_CODEBOOK)
    ap.add_argument('--data', type=Path, help='the training data, for --samples')
    ap.add_argument('--samples', type=int, default=0)
    ap.add_argument('--fixture', type=Path, help='write the tiny random test fixture here instead')
    ap.add_argument('--slim', type=Path, help="write --ckpt's generator weights in float16 here instead")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.fixture:
        make_fixture(args.fixture, f'-m spear_voice.speaker.neural_export --fixture {args.fixture}')
        return
    if not args.ckpt or not (args.out or args.slim):
        ap.error('--ckpt and --out (or --slim) are required, or --fixture')
    ckpt = load_checkpoint(args.ckpt)
    if args.slim:
        keep = ('format', 'train_config', 'model_config', 'step', 'spent_s', 'val', 'data')
        save_checkpoint(args.slim, {**{k: ckpt[k] for k in keep if k in ckpt},
                                    'model': {k: v.half() if v.is_floating_point() else v for k, v in ckpt['model'].items()}})
        print(f'wrote {args.slim}: {args.slim.stat().st_size / 1e6:.1f} MB', flush=True)
        return
    model = NeuralSpeaker(NeuralConfig(**ckpt['model_config']))
    model.load_state_dict(float_weights(ckpt['model']))
    training = {**ckpt['train_config'], 'steps_done': ckpt['step'], 'seconds': round(ckpt['spent_s'], 1), 'val': ckpt.get('val'),
                'data': ckpt.get('data')}
    manifest = export_neural(model, args.out, codebook=args.codebook, training=training)
    if args.samples and args.data:
        write_samples(model, args.data, args.out, args.samples)
    sizes = ', '.join(f'{p.name} {p.stat().st_size / 1e6:.2f} MB' for p in sorted(args.out.iterdir()) if p.is_file())
    print(f'wrote {args.out}: {sizes}; checks {manifest["checks"]}', flush=True)


if __name__ == '__main__':
    main()
