"""
Exports the reading checker (train.py) into the voice: native-models/voice/checker/
  checker.onnx   units (B, U) int64 -> log_probs (B, 2U, n_phones + 1) float32 (CTC blank last)
  parity.json    a PyTorch reference case: the app's score of it must equal PyTorch's
  checker.json   manifest: sha256 of each file, the phone of each phoneme id, the blank, the re-read
                 threshold and its evidence, training config, code commit

  python3 -m spear_voice.checker.export [--ckpt native-models/work/checker/ckpt.pt] [--pack native-models/work/pack]
      [--out DIR] [--threshold_quantile 0.9]

The threshold is the given quantile of the checker's score (CTC nats per phone) on the validation
sentences' teacher units: a reading scoring worse than that many real recordings is re-read. Then the app's
reading check scores the parity case from Node (native-models/tools/checker/check_parity.ts, tolerance 1e-3).
"""
import argparse
import json
import subprocess
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import REPO_ROOT, WORK, code_commit
from ..t2s.export import sha256
from ..training import load_checkpoint
from .data import load
from .model import CheckerConfig, UnitReader

INPUT, OUTPUT = 'units', 'log_probs'       # tensor names; twins in electron/core/pipeline/reading-check.ts
CODE_PATHS = ('native-models/spear_voice/checker',)


def nats_per_phone(model, units, phones) -> float:
    with torch.no_grad():
        lp = model(torch.as_tensor(units)[None]).transpose(0, 1)
    return F.ctc_loss(lp, torch.as_tensor(phones)[None], torch.tensor([2 * len(units)]), torch.tensor([len(phones)]),
                      blank=model.cfg.n_phones, reduction='sum').item() / len(phones)


def export_checker(ckpt_path: Path, pack: Path, out: Path, threshold_quantile: float = 0.9) -> dict:
    """ckpt.pt → checker.onnx, parity.json and checker.json in `out`, its threshold from `pack`'s val split;
    proved by the app's own scoring of the parity case. Returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    ckpt = load_checkpoint(ckpt_path)
    cfg = CheckerConfig(**ckpt['config'])
    model = UnitReader(cfg)
    model.load_state_dict(ckpt['model'])
    model.eval()

    lut = np.asarray(ckpt['lut'])
    val = load(pack, 'val', lut)
    scores = np.array([nats_per_phone(model, u, ph) for _, u, ph in val])
    threshold = float(np.quantile(scores, threshold_quantile))

    g = torch.Generator().manual_seed(0)
    example = torch.randint(0, cfg.n_units, (1, 30), generator=g)
    torch.onnx.export(model, (example,), str(out / 'checker.onnx'), input_names=[INPUT], output_names=[OUTPUT],
                      dynamic_axes={INPUT: {0: 'B', 1: 'U'}, OUTPUT: {0: 'B', 1: 'T'}}, opset_version=17)
    _, u0, ph0 = val[0]
    with torch.no_grad():
        ref = model(torch.as_tensor(u0)[None])
    (out / 'parity.json').write_text(json.dumps({
        'units': u0.tolist(), 'phones': ph0.tolist(), 'shape': list(ref.shape),
        'log_probs': [round(v, 6) for v in ref.flatten().tolist()],
        'nats_per_phone': nats_per_phone(model, u0, ph0)}))
    manifest = {
        'format': 'spear-checker/1',
        'unit_count': cfg.n_units,
        'frames_per_unit': 2,
        'phones': ckpt['phones'],
        'blank': cfg.n_phones,
        'phone_of_phoneme': lut.tolist(),
        'threshold': round(threshold, 4),
        'threshold_evidence': {
            'quantile': threshold_quantile, 'of': f'{len(scores)} val sentences, teacher units',
            'quantiles': {q: round(float(np.quantile(scores, float(q))), 4) for q in ('0.5', '0.75', '0.9', '0.95')}},
        'graph': {'file': 'checker.onnx', 'inputs': [INPUT], 'outputs': [OUTPUT]},
        'files': {name: sha256(out / name) for name in ('checker.onnx', 'parity.json')},
        'model_config': ckpt['config'],
        'training': {'step': ckpt['step'], 'val_nats_per_phone': ckpt['val_nats_per_phone'], **ckpt.get('train_config', {})},
        'code_commit': code_commit(*CODE_PATHS),
    }
    (out / 'checker.json').write_text(json.dumps(manifest, indent=1) + '\n')
    print(f'wrote {out}: threshold {threshold:.4f} nats/phone ({threshold_quantile} quantile of val teacher units); '
          + ', '.join(f'{f.name} {f.stat().st_size / 1e6:.2f} MB' for f in sorted(out.iterdir())))
    subprocess.run(['node', '--import', 'tsx', 'native-models/tools/checker/check_parity.ts', str(out.resolve())], cwd=REPO_ROOT, check=True)
    return manifest


def main(argv: list[str] | None = None):
    p = argparse.ArgumentParser(prog='python3 -m spear_voice.checker.export', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--ckpt', type=Path, default=WORK / 'checker/ckpt.pt')
    p.add_argument('--pack', type=Path, default=WORK / 'pack', help='reader pack whose val split sets the threshold')
    p.add_argument('--out', type=Path, default=REPO_ROOT / 'native-models/voice/checker')
    p.add_argument('--threshold_quantile', type=float, default=0.9)
    args = p.parse_args(argv)
    export_checker(args.ckpt, args.pack, args.out, args.threshold_quantile)


if __name__ == '__main__':
    main()
