"""
Exports the reading checker (train_ctc.py) into the voice: native-models/voice/checker/
  checker.onnx   units (B, U) int64 -> log_probs (B, 2U, n_phones + 1) float32 (CTC blank last)
  parity.json    a PyTorch reference case the TypeScript tests compare onnxruntime-node against
  checker.json   manifest: sha256 of each file, the phone of each phoneme id, the blank, the re-read
                 threshold and its evidence, training config, code commit

  /usr/bin/python3 native-models/checker/export.py [--ckpt native-models/work/checker/ckpt.pt] [--out DIR]
      [--threshold_quantile 0.9]

The threshold is the given quantile of the checker's score (CTC nats per phone) on the validation
sentences' teacher units: a reading scoring worse than that many real recordings is re-read.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from checker.train_ctc import CheckerConfig, UnitReader, load  # noqa: E402
from spear_t2s.export import sha256  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
INPUT, OUTPUT = 'units', 'log_probs'       # tensor names; twins in electron/core/pipeline/reading-check.ts


def nats_per_phone(model, units, phones) -> float:
    with torch.no_grad():
        lp = model(torch.as_tensor(units)[None]).transpose(0, 1)
    return F.ctc_loss(lp, torch.as_tensor(phones)[None], torch.tensor([2 * len(units)]), torch.tensor([len(phones)]),
                      blank=model.cfg.n_phones, reduction='sum').item() / len(phones)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ckpt', default=str(ROOT / 'native-models/work/checker/ckpt.pt'))
    p.add_argument('--pack', default=str(ROOT / 'native-models/gpu/pack'), help='reader pack whose val split sets the threshold')
    p.add_argument('--out', default=str(ROOT / 'native-models/voice/checker'))
    p.add_argument('--threshold_quantile', type=float, default=0.9)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = torch.load(args.ckpt, map_location='cpu', weights_only=False)
    cfg = CheckerConfig(**ckpt['config'])
    model = UnitReader(cfg)
    model.load_state_dict(ckpt['model'])
    model.eval()

    lut = np.asarray(ckpt['lut'])
    val = load(Path(args.pack), 'val', lut)
    scores = np.array([nats_per_phone(model, u, ph) for _, u, ph in val])
    threshold = float(np.quantile(scores, args.threshold_quantile))

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
    commit = subprocess.run(['git', 'log', '-1', '--format=%H', '--', 'native-models/checker'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    manifest = {
        'format': 'spear-checker/1',
        'unit_count': cfg.n_units,
        'frames_per_unit': 2,
        'phones': ckpt['phones'],
        'blank': cfg.n_phones,
        'phone_of_phoneme': lut.tolist(),
        'threshold': round(threshold, 4),
        'threshold_evidence': {
            'quantile': args.threshold_quantile, 'of': f'{len(scores)} val sentences, teacher units',
            'quantiles': {q: round(float(np.quantile(scores, float(q))), 4) for q in ('0.5', '0.75', '0.9', '0.95')}},
        'graph': {'file': 'checker.onnx', 'inputs': [INPUT], 'outputs': [OUTPUT]},
        'files': {name: sha256(out / name) for name in ('checker.onnx', 'parity.json')},
        'model_config': ckpt['config'],
        'training': {'step': ckpt['step'], 'val_nats_per_phone': ckpt['val_nats_per_phone'], **ckpt.get('train_config', {})},
        'code_commit': commit,
    }
    (out / 'checker.json').write_text(json.dumps(manifest, indent=1) + '\n')
    print(f'wrote {out}: threshold {threshold:.4f} nats/phone ({args.threshold_quantile} quantile of val teacher units); '
          + ', '.join(f'{f.name} {f.stat().st_size / 1e6:.2f} MB' for f in sorted(out.iterdir())))


if __name__ == '__main__':
    main()
