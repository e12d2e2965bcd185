"""The seed's prophet (t2s/seed_prophet.py) and recycling for the exit head (t2s/recycle.py) on tiny models: shapes,
cached drafting equals the teacher-forced windows, the joint weight's gradient into the target (0: none), the loss
learns a tiny batch, and the trainer's target stage with both options."""

import json

import pytest
import torch

from spear_voice.t2s.data import SPECIAL
from spear_voice.t2s.model import TargetConfig, TargetModel
from spear_voice.t2s.recycle import ExitRecycle, crop_sources, fixed_sources, recycled_features
from spear_voice.t2s.seed_prophet import SeedProphet, seed_prophet_loss
from spear_voice.train_t2s.cli import main
from spear_voice.training import load_checkpoint

V, STEPS = 40, 4


def tiny(seed=0):
    torch.manual_seed(seed)
    target = TargetModel(TargetConfig(vocab_size=V, context=64, d_model=32, n_heads=2, n_layers=3, exit_layer=1, exit_blocks=1))
    prophet = SeedProphet.for_target(target.cfg, d_model=16, n_layers=2, n_heads=1)
    ids = torch.randint(4, V, (3, 14))  # (B, T)
    mask = torch.zeros(3, 14, dtype=torch.bool)
    mask[0, 3:13] = True
    mask[1, 5:9] = True  # a shorter row: windows past its end are not real
    mask[2, 2:13] = True
    return target, prophet, ids, mask


def test_windows_have_one_row_per_start_and_predict_the_next_steps_tokens():
    target, prophet, ids, mask = tiny()
    feature = target(ids)[2]  # (B, T, D)
    logits, targets, real = prophet.windows(feature, ids, mask, STEPS)
    N = int(mask.sum())
    assert logits.shape == (N, STEPS, V) and targets.shape == (N, STEPS) and real.shape == (N, STEPS)
    rows, starts = torch.nonzero(mask, as_tuple=True)
    for n in (0, 5, N - 1):
        b, t = int(rows[n]), int(starts[n])
        for j in range(STEPS):
            if t + 1 + j < ids.shape[1]:
                assert targets[n, j] == ids[b, t + 1 + j]
            assert bool(real[n, j]) == (t + j < ids.shape[1] and bool(mask[b, t + j]))


def test_cached_drafting_equals_the_teacher_forced_window():
    target, prophet, ids, mask = tiny()
    prophet.eval()
    with torch.no_grad():
        feature = target(ids)[2]
        logits, targets, _ = prophet.windows(feature, ids, mask, STEPS)
        n = 4  # one window: the step's first call reads [bos, x_{t+1}], then one draft per call
        b, t = (int(x) for x in torch.nonzero(mask)[n])
        h = feature[b:b + 1, t:t + 1]  # (1, 1, D)
        first = torch.tensor([[SPECIAL["bos"], int(ids[b, t + 1])]])
        out, cache = prophet(h, first, torch.tensor([[0, 1]]), torch.tensor([0]), None)
        got = [out[0, 0], out[0, 1]]
        for pos in range(2, STEPS):
            step_logits, new = prophet(h, ids[b:b + 1, t + pos:t + pos + 1], torch.tensor([[pos]]), torch.tensor([pos]), cache)
            cache = [(torch.cat([c[0], k[0]], 1), torch.cat([c[1], k[1]], 1)) for c, k in zip(cache, new)]
            got.append(step_logits[0, 0])
    assert torch.allclose(torch.stack(got), logits[n], atol=1e-5)


def test_weight_0_leaves_the_target_without_gradient_and_the_weight_scales_it():
    grads = {}
    for weight in (0.0, 1.0, 0.25):
        target, prophet, ids, mask = tiny()
        feature = target(ids)[2]
        seed_prophet_loss(prophet, feature, ids, mask, STEPS, weight)["loss"].backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in prophet.parameters() if p is not prophet.embed.weight)
        grads[weight] = [p.grad for p in target.parameters()]
        assert [p.grad for p in prophet.parameters()][0] is not None
    assert all(g is None for g in grads[0.0])
    assert any(g is not None and g.abs().sum() > 0 for g in grads[1.0])
    for full, quarter in zip(grads[1.0], grads[0.25]):
        if full is not None:
            assert torch.allclose(0.25 * full, quarter, atol=1e-7)


def test_joint_training_lowers_the_prophets_loss_on_a_tiny_batch():
    target, prophet, ids, mask = tiny()
    params = list(target.parameters()) + list(prophet.parameters())
    opt = torch.optim.AdamW(params, lr=3e-3)
    losses = []
    for _ in range(40):
        loss = seed_prophet_loss(prophet, target(ids)[2], ids, mask, STEPS, 0.5)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]


def test_crops_give_depths_1_to_max_and_a_zero_recycle_changes_nothing():
    src = crop_sources(4, 50, 5, torch.Generator().manual_seed(0))
    i = torch.arange(50)[None, :]
    depth = i - src
    assert int(depth[src >= 0].min()) == 1 and int(depth[src >= 0].max()) <= 5 and (src < i).all()
    assert set(depth[src >= 0].tolist()) == {1, 2, 3, 4, 5}
    fixed = fixed_sources(torch.tensor([3, 0]), 12, 4)
    assert fixed[0].tolist() == [-1, -1, -1, -1, 3, 3, 3, 3, 7, 7, 7, 7]
    assert fixed[1].tolist() == [-1, 0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8]
    target, _, ids, _ = tiny()
    features = torch.randn(3, 14, 32)
    recycled = recycled_features(features, fixed_sources(torch.tensor([3, 0, 5]), 14, 4))
    assert torch.equal(recycled[0, 4], features[0, 3]) and recycled[0, :4].abs().sum() == 0
    hidden = torch.randn(3, 14, 32)
    assert torch.equal(ExitRecycle(target.cfg)(hidden, recycled), hidden)


@pytest.fixture(scope="module")
def pack(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("t2s") / "pack"
    main(["pack", "--corpus", str(tiny_corpus), "--fake-units", "--n-units", "64", "--out", str(out)])
    return out


def test_the_target_stage_trains_the_seed_prophet_and_recycling_for_max_steps(pack, tmp_path):
    main(["train", "--preset", "smoke", "--stages", "target", "--pack", str(pack), "--out", str(tmp_path), "--threads", "1",
          "--seed_prophet", "--seed_prophet_weight", "0.5", "--seed_prophet_steps", "3", "--seed_prophet_d_model", "32",
          "--exit_recycle", "--recycle_max_depth", "4", "--max_steps", "6", "--eval_every_steps", "3", "--eval_every_s", "1e9"])
    for name in ("target", "seed_prophet", "recycle"):
        assert load_checkpoint(tmp_path / f"{name}.pt")["state"]["step"] == 6
    val = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines() if '"val"' in line]
    assert [v["step"] for v in val] == [3, 6, 6]
    last = val[-1]["val"]
    assert len(last["exit_top1_d"]) == 4 and len(last["seed_prophet_top1_d"]) == 2 and len(last["seed_prophet_ce"]) == 3
    steps = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines() if '"seed_prophet"' in line]
    assert len(steps) == 6


def test_the_seed_prophet_fixture_exports_again_byte_for_byte(tmp_path, capfd):
    from spear_voice import REPO_ROOT
    from spear_voice.fixtures import make_seed_prophet
    make_seed_prophet(tmp_path, "the export test")
    assert "every output within 0.0001" in capfd.readouterr().out
    fresh = json.loads((tmp_path / "seed_prophet.json").read_text())
    committed = json.loads((REPO_ROOT / "tests/fixtures/tiny-seed-prophet/seed_prophet.json").read_text())
    assert fresh == committed
    assert fresh["inputs"] == ["input_ids", "hidden_in", "positions", "past_len", "past_key_0", "past_value_0"]
    assert fresh["outputs"] == ["logits", "new_key_0", "new_value_0"]
