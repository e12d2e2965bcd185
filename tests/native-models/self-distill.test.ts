/**
 * Self-distillation data and the narrow prophet, checked in PyTorch on the tiny random fixture model:
 * the batched, in-place-cache greedy reader (native-models/self_distill.py) writes exactly the tokens
 * that step-by-step uncached greedy decoding gives, row by row, whatever the batch's prompt lengths and
 * caps; and a prophet narrower than the target drafts the same through its training-time unrolling as
 * through the cached API the engine uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.ts';

const ROOT = path.resolve(FIXTURES, '../..');

const SCRIPT = `
import sys, json, torch, numpy as np
sys.path.insert(0, 'native-models')
from make_fixtures import build, TINY, TINY_NOEXIT
from self_distill import greedy_batch
from train_t2s import check_prophet_unrolled
from spear_t2s.model import Prophet
torch.manual_seed(0)
target, _, _ = build(TINY)
target.eval()
gen = torch.Generator().manual_seed(5)
prompts = [np.asarray([1] + torch.randint(4, 16, (n,), generator=gen).tolist() + [2], dtype=np.int16) for n in (3, 7, 1, 5)]
caps = [9, 4, 12, 1]
got = greedy_batch(target, prompts, caps)
ref = []
with torch.no_grad():
    for p, cap in zip(prompts, caps):
        ids, out = torch.tensor(p.astype(np.int64))[None], []
        for _ in range(cap):
            n = int(target(ids)[0][0, -1].argmax())
            if n == 3:
                break
            out.append(n)
            ids = torch.cat([ids, torch.tensor([[n]])], 1)
        ref.append(out)
narrow = Prophet.from_target(build(TINY_NOEXIT)[0], d_model=16)
print(json.dumps({"got": got, "ref": ref, "unrolled_diff": check_prophet_unrolled(narrow, 3),
                  "narrow": [narrow.cfg.d_model, narrow.feature_dim]}))
`;

test('greedy readings for self-distillation equal uncached greedy decoding; a narrow prophet unrolls as it drafts', () => {
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(out.got, out.ref);
  assert.ok(out.ref.some((row: number[]) => row.length > 1), 'some row decodes several tokens');
  assert.ok(out.unrolled_diff <= 1e-4, `unrolled vs cached: ${out.unrolled_diff}`);
  assert.deepEqual(out.narrow, [16, 32]);
});

const REPLAY = `
import sys, json, torch
sys.path.insert(0, 'native-models')
from analyze_drafting import replay
T, steps = 6, 4
def row(match, conf=None):
    m = torch.tensor(match, dtype=torch.bool)[:, None].expand(steps, T).clone()
    return (0, T, {"prophet": (m, torch.ones(steps, T) if conf is None else conf)})
allright = [True] * steps
out = {
  "perfect_g2": replay([row(allright)], "prophet", 2),
  "never_g3": replay([row([False] * steps)], "prophet", 3),
  "first_only_g3": replay([row([True, False, False, False])], "prophet", 3),
  "stop_low_conf": replay([row(allright, torch.full((steps, T), 0.1))], "prophet", 3, 0.5),
}
print(json.dumps(out))
`;

test('the offline greedy replay walks a sequence as the engine does (tokens, target calls, drafted)', () => {
  const r = spawnSync('/usr/bin/python3', ['-c', REPLAY], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  // 5 tokens to generate (positions 1..5). Always right, gamma 2: 3 tokens, then the last 2.
  assert.deepEqual(out.perfect_g2, [5, 2, 4]);
  // Never right: one token per target call, gamma drafted each time.
  assert.deepEqual(out.never_g3, [5, 5, 15]);
  // Only each draft's first token right: 2 tokens per call (3 calls: 2 + 2 + 1).
  assert.deepEqual(out.first_only_g3, [5, 3, 9]);
  // Drafting stops after the first draft whose confidence is below theta; it is still verified.
  assert.deepEqual(out.stop_low_conf, [5, 3, 3]);
});

const GROW = `
import sys, json, dataclasses, pathlib, tempfile, torch
sys.path.insert(0, 'native-models')
from make_fixtures import build, TINY
from train_t2s import init_drafters
from spear_t2s.model import Prophet, shift_features
target, _, prophet = build(TINY)
folder = pathlib.Path(tempfile.mkdtemp())
torch.save({"model": prophet.state_dict()}, folder / "prophet.pt")
torch.manual_seed(3)
grown = Prophet(dataclasses.replace(prophet.cfg, n_layers=prophet.cfg.n_layers + 1))
wider = Prophet(dataclasses.replace(prophet.cfg, d_model=prophet.cfg.d_model * 2, mlp_hidden=0))
before = {k: v.clone() for k, v in wider.state_dict().items()}
init_drafters(folder, {"prophet": grown})
init_drafters(folder, {"prophet": wider})
ids = torch.randint(4, TINY.vocab_size, (2, 9), generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    feature = shift_features(target(ids)[2])
    diff = float((grown(ids, feature)[0] - prophet(ids, feature)[0]).abs().max())
last = grown.blocks[-1]
other = Prophet.from_target(target, n_layers=prophet.cfg.n_layers)  # beside a retrained target: other frozen copies
with torch.no_grad():
    other.lm_head.weight.mul_(2.0)
    other.embed.weight.mul_(2.0)
frozen_before = (other.lm_head.weight.clone(), other.embed.weight.clone())
init_drafters(folder, {"prophet": other})
keeps_frozen = torch.equal(other.lm_head.weight, frozen_before[0]) and torch.equal(other.embed.weight, frozen_before[1])
loads_trained = all(torch.equal(v, prophet.state_dict()[k]) for k, v in other.state_dict().items() if not k.startswith(("lm_head", "embed")))
print(json.dumps({"diff": diff, "layers": len(grown.blocks), "new_nonzero": float(last.attn.wq.weight.abs().sum()),
                  "keeps_frozen": keeps_frozen, "loads_trained": loads_trained,
                  "new_outputs": float(last.attn.wo.weight.abs().sum() + last.mlp.w_down.weight.abs().sum()),
                  "wider_untouched": all(torch.equal(before[k], v) for k, v in wider.state_dict().items())}))
`;

test('a drafter with an added block grows from a saved one: same outputs at the start; other shapes start fresh', () => {
  const r = spawnSync('/usr/bin/python3', ['-c', GROW], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.layers, 2);
  assert.ok(out.diff <= 1e-6, `grown prophet differs from the saved one by ${out.diff}`);
  assert.ok(out.new_nonzero > 0, 'the added block keeps its random input projections');
  assert.equal(out.new_outputs, 0);
  assert.equal(out.wider_untouched, true);
  // A prophet made for another target keeps that target's frozen embedding and LM head, and loads the rest.
  assert.equal(out.keeps_frozen, true);
  assert.equal(out.loads_trained, true);
});
