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
from analyze_drafting import leaves_at_least_sure, leaves_below, replay, replay_branch, replay_leaves
T, steps = 6, 4
def by_depth(values, dtype):
    return torch.tensor(values, dtype=dtype)[:, None].expand(steps, T).clone()
def row(match, conf=None, second=None):
    m = by_depth(match, torch.bool)
    c = torch.ones(steps, T) if conf is None else conf
    s = by_depth(second if second is not None else [False] * steps, torch.bool)
    return (0, T, {"prophet": (m, c), "prophet_second": (s, c)})
allright = [True] * steps
never = [False] * steps
unsure_first = by_depth([0.1, 0.9, 0.9, 0.9], torch.float32)
out = {
  "perfect_g2": replay([row(allright)], "prophet", 2),
  "never_g3": replay([row(never)], "prophet", 3),
  "first_only_g3": replay([row([True, False, False, False])], "prophet", 3),
  "stop_low_conf": replay([row(allright, torch.full((steps, T), 0.1))], "prophet", 3, 0.5),
  "leaf_rescues": replay_leaves([row(never, torch.full((steps, T), 0.1), allright)], 3, leaves_below(0.5)),
  "no_leaf_when_sure": replay_leaves([row(never, torch.full((steps, T), 0.9), allright)], 3, leaves_below(0.5)),
  "leaf_wrong_too": replay_leaves([row(never, torch.full((steps, T), 0.1), never)], 3, leaves_below(0.5)),
  "budget_leaf_at_least_sure": replay_leaves([row(never, unsure_first, allright)], 3, leaves_at_least_sure(1)),
  "budget_leaf_elsewhere": replay_leaves([row(never, by_depth([0.9, 0.9, 0.1, 0.9], torch.float32), allright)], 3, leaves_at_least_sure(1)),
  "branch_continues": replay_branch([row([False, True, True, True], unsure_first, allright)], 3, 0.5),
  "no_branch_when_sure": replay_branch([row([False, True, True, True], torch.full((steps, T), 0.9), allright)], 3, 0.5),
}
# What the target hesitates between: units 0..3 on a line at 0, 1, 2 and 10 (unit ids from 2); steps 0 and 2
# are unsure (p < 0.5). Step 0 chose between units 0 and 1 (neighbours); step 2 between units 2 and 1
# (neighbours), one of them the unit just fed (a repeat).
import numpy as np
from analyze_drafting import hesitation
ids = torch.tensor([1, 2, 3, 4])
top2 = torch.tensor([[2, 3], [3, 4], [4, 3]])
data = [(0, 4, {"target": (torch.ones(1, 4, dtype=torch.bool), torch.tensor([[0.3, 0.9, 0.4, 1.0]])),
                "target_top2": (ids, top2)})]
out["hesitation"] = hesitation(data, np.array([[0.0], [1.0], [2.0], [10.0]]), 2)
print(json.dumps(out))
`;

test('the offline greedy replay walks a sequence as the engine does (tokens, target calls, drafted); leaves, branches and the hesitation breakdown count as documented', () => {
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
  // Leaves (tokens, target calls, verified positions beyond the first): the chain breaks at depth 1 every
  // time and the second choice there is right: the leaf and the target's token after it, 2 per call
  // (2 + 2 + 1); every unsure depth carries a leaf (3 drafts + 3 leaves per call).
  assert.deepEqual(out.leaf_rescues, [5, 3, 18]);
  // A sure prophet gets no leaves: one token per call, as the plain chain.
  assert.deepEqual(out.no_leaf_when_sure, [5, 5, 15]);
  // Leaves verified but wrong: nothing gained, their positions still paid.
  assert.deepEqual(out.leaf_wrong_too, [5, 5, 30]);
  // A budget of one leaf goes to the least sure depth: there (depth 1) it rescues each call (2 + 2 + 1
  // tokens, 3 drafts + 1 leaf verified per call); at depth 3, where the chain never gets, it gains nothing.
  assert.deepEqual(out.budget_leaf_at_least_sure, [5, 3, 12]);
  assert.deepEqual(out.budget_leaf_elsewhere, [5, 5, 20]);
  // Branch (tokens, calls, verified, drafted): the least sure depth (1) branches; the chain breaks there,
  // the second choice is right and the branch's deeper drafts (the same tokens) are right too: 4 tokens,
  // then the last 1. Each call verifies 3 + 3 positions and drafts 3 + 2 more, plus 2 for the extra call.
  assert.deepEqual(out.branch_continues, [5, 2, 12, 14]);
  assert.deepEqual(out.no_branch_when_sure, [5, 5, 15, 15]);
  assert.equal(out.hesitation.hesitant_steps, 2);
  assert.equal(out.hesitation.share_top2_has_repeat, 0.5);
  assert.equal(out.hesitation.second_among_nearest['1'], 1);
  assert.equal(out.hesitation.median_rank, 1);
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
