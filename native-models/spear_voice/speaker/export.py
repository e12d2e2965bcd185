"""
Exports the trained speaking network to the voice: native-models/voice/speaker/
  speaker.onnx    units (B, U) int64 -> frames (B, U*frames_per_unit, n_mels+2) float32 (raw features)
  codebook.npz    the unit codebook (spear_voice/units/make_units.py), so the voice carries what its units mean
  parity.json     a PyTorch reference case the TypeScript tests compare onnxruntime-node against
  speaker.json    manifest: sha256 of each file, rates, feature and vocoder settings, training config

  python3 -m spear_voice.speaker.export [--ckpt native-models/work/speaker/ckpt.pt] [--out DIR]

--ckpt takes any train.py checkpoint (ckpt.pt: the best weights), from whatever machine trained it.

Then checks ONNX-vs-PyTorch parity from Node (native-models/tools/speaker/check_parity.ts, tolerance 1e-4).
"""
import argparse
import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .. import REPO_ROOT as ROOT, WORK, code_commit
from ..t2s.export import sha256
from ..training import load_checkpoint
from .features import F0_MAX, F0_MIN, UNITS
from .model import Speaker, SpeakerConfig

INPUT, OUTPUT = 'units', 'frames'          # tensor names; twins in electron/core/pipeline/speaker.ts
# Voiced frames mix noise into the pulses above 4 kHz: 2 % of the power at 4 kHz, rising linearly by 12 points
# per kHz (50 % at 8 kHz). At 24 kHz the same line reaches 98 % at the 12 kHz Nyquist frequency.
APERIODIC_FLOOR, APERIODIC_START_HZ, APERIODIC_PER_HZ = 0.02, 4000, 0.48 / 4000


def vocoder_settings(sample_rate: int) -> dict:
    """The source-filter vocoder's aperiodicity ramp, as electron/core/audio/dsp/source-filter.ts reads it."""
    top = APERIODIC_FLOOR + APERIODIC_PER_HZ * (sample_rate / 2 - APERIODIC_START_HZ)
    return {'kind': 'source-filter', 'aperiodic_floor': APERIODIC_FLOOR, 'aperiodic_start_hz': APERIODIC_START_HZ,
            'aperiodic_top': round(min(top, 1.0), 6)}
CODE_PATHS = ('native-models/spear_voice/speaker', 'native-models/spear_voice/units', 'native-models/spear_voice/training.py')


class Frames(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, units):
        return self.model.frames(units)


def export_speaker(ckpt: dict, codebook: Path, out: Path, extra: dict | None = None, source: str = 'the checkpoint') -> None:
    """Writes the speaker folder `out` from a train.py checkpoint (a dict) and the units' codebook."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = SpeakerConfig(**ckpt['model_config'])
    model = Speaker(cfg)
    model.load_state_dict(ckpt['model'])
    model.eval()
    wrapper = Frames(model).eval()

    g = torch.Generator().manual_seed(0)
    example = torch.randint(0, cfg.n_units, (1, 30), generator=g)
    onnx_path = out / 'speaker.onnx'
    torch.onnx.export(wrapper, (example,), str(onnx_path), input_names=[INPUT], output_names=[OUTPUT],
                      dynamic_axes={INPUT: {0: 'B', 1: 'U'}, OUTPUT: {0: 'B', 1: 'T'}}, opset_version=17)
    shutil.copyfile(codebook, out / 'codebook.npz')

    # a reference case for the Node parity check: 2 rows of 25 units (1 s each)
    case = torch.randint(0, cfg.n_units, (2, 25), generator=g)
    with torch.no_grad():
        ref = wrapper(case)
    (out / 'parity.json').write_text(json.dumps({
        'units': case.tolist(), 'shape': list(ref.shape),
        'frames': [round(v, 6) for v in ref.flatten().tolist()]}))

    # the frame geometry the targets were made at (train.py --frames); a checkpoint without it is the units' 16 kHz
    geo = ckpt.get('features', {'sample_rate': UNITS.sample_rate, 'hop': UNITS.hop, 'win': UNITS.win, 'n_fft': UNITS.n_fft})
    rate, hop = geo['sample_rate'], geo['hop']
    manifest = {
        'format': 'spear-speaker/1',
        'sample_rate': rate,
        'unit_rate': rate / (hop * cfg.frames_per_unit),
        'unit_count': cfg.n_units,
        'frames_per_unit': cfg.frames_per_unit,
        'features': {'hop': hop, 'win': geo['win'], 'n_fft': geo['n_fft'], 'n_mels': cfg.n_mels, 'f0_min': F0_MIN, 'f0_max': F0_MAX,
                     'layout': 'log mel power (n_mels), log f0 Hz, voicing probability'},
        'vocoder': vocoder_settings(rate),
        'graph': {'file': 'speaker.onnx', 'inputs': [INPUT], 'outputs': [OUTPUT]},
        'files': {name: sha256(out / name) for name in ['speaker.onnx', 'codebook.npz', 'parity.json']},
        'model_config': asdict(cfg),
        'training': {**ckpt['train_config'], 'steps_done': ckpt['step'],
                     **({'val_loss': ckpt['val_loss'], 'val_parts': ckpt['val_parts']} if 'val_loss' in ckpt else {})},
        'code_commit': code_commit(*CODE_PATHS),
    }
    # Trained on groups of the codebook's units (train.py --unit_map): say which, for the teacher's units.
    # The checkpoint holds them; one saved before it did names the map file it was trained with.
    unit_map = ckpt['train_config'].get('unit_map')
    label, source = ckpt.get('unit_groups'), f"{source}'s unit_groups"
    if not label and unit_map:
        label, source = json.loads((ROOT / unit_map).read_text())['label'], unit_map
    if label:
        if len(label) != len(np.load(codebook)['centroids']) or max(label) + 1 != cfg.n_units:
            raise SystemExit(f'{source}: {len(label)} labels in {max(label) + 1} groups do not fit the codebook and the {cfg.n_units}-unit speaker')
        manifest['unit_groups'] = [int(x) for x in label]
    manifest.update(extra or {})
    (out / 'speaker.json').write_text(json.dumps(manifest, indent=1) + '\n')
    print(f'wrote {out}: ' + ', '.join(f'{f.name} {f.stat().st_size / 1e6:.2f} MB' for f in sorted(out.iterdir())))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ckpt', default=str(WORK / 'speaker/ckpt.pt'))
    p.add_argument('--codebook', default=str(WORK / 'units/codebook.npz'))
    p.add_argument('--out', default=str(ROOT / 'native-models/voice/speaker'))
    p.add_argument('--extra', default='', help='JSON merged into the manifest (e.g. measured numbers)')
    args = p.parse_args()
    out = Path(args.out)
    # NOTE: torch >= 2.6 loads weights only by default; these files are our own, with plain configs inside.
    export_speaker(load_checkpoint(args.ckpt), Path(args.codebook), out, json.loads(args.extra) if args.extra else None, args.ckpt)
    subprocess.run(['node', '--import', 'tsx', 'native-models/tools/speaker/check_parity.ts', str(out.resolve())], cwd=ROOT, check=True)


if __name__ == '__main__':
    main()
