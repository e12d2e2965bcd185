"""The layer-skip drafter (spear_voice/t2s/layer_skip.py) and the search for its plan (t2s/layer_skip_search.py),
on the tiny fixtures."""

import json
import shutil

import numpy as np
import pytest
import torch

from spear_voice import REPO_ROOT
from spear_voice.fixtures import fixture_layer_skip
from spear_voice.t2s.layer_skip import LayerSkipModel, SkipPlan, add_layer_skip, target_from_voice
from spear_voice.t2s.layer_skip_search import LinearCosts, evaluate, greedy_readings, replay, search, target_distributions
from spear_voice.t2s.model import default_positions

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def test_a_plan_reads_and_writes_one_character_per_block():
    plan = SkipPlan.parse("Fa-m")
    assert plan.attention == (True, True, False, False) and plan.mlp == (True, False, False, True)
    assert plan.attending == [0, 1]
    assert plan.skipped() == {"attention": [2, 3], "mlp": [1, 2]}
    assert SkipPlan.skipping(4, blocks=[2], attention=[3], mlp=[1]).label == "Fa-m"
    with pytest.raises(ValueError, match="F, a, m or -"):
        SkipPlan.parse("FxF")
    with pytest.raises(ValueError, match="runs no attention"):
        SkipPlan.parse("m-m")


def test_with_nothing_skipped_the_drafter_is_the_target_and_cached_equals_uncached():
    target = target_from_voice(FIXTURES / "tiny")
    ids = torch.randint(0, target.cfg.vocab_size, (3, 12), generator=torch.Generator().manual_seed(0))
    positions, past_len = default_positions(ids)
    with torch.no_grad():
        whole = LayerSkipModel(target, SkipPlan.parse("FFFF"))(ids)[0]
        assert torch.allclose(whole, target.full(ids, positions, past_len)[0], atol=1e-5)
        # A plan that skips: fed in chunks 5 + 3 + 4 with garbage past the valid prefix, as the engine's cache holds it.
        model = LayerSkipModel(target, SkipPlan.parse("Fa-m"))
        uncached = model(ids)[0]
        cache, chunks, start = None, [], 0
        for size in (5, 3, 4):
            pos = torch.arange(start, start + size)[None].expand(3, size)
            past = None if cache is None else [tuple(torch.cat([t, 50 * torch.randn(3, 2, t.shape[-1])], 1) for t in kv) for kv in cache]
            logits, new = model(ids[:, start:start + size], pos, torch.full((3,), start), past)
            cache = new if cache is None else [tuple(torch.cat([c[j], n[j]], 1) for j in range(2)) for c, n in zip(cache, new)]
            chunks.append(logits)
            start += size
        assert len(cache) == 2, "cache layers: the blocks that attend"
        assert torch.allclose(torch.cat(chunks, 1), uncached, atol=1e-5)
        assert not torch.allclose(uncached, whole, atol=1e-2), "skipping changes the drafter"


def test_the_fixture_layer_skip_graph_is_rebuilt_byte_for_byte(tmp_path):
    """add_layer_skip proves the graph (the rebuilt target against full.onnx, the graph against LayerSkipModel,
    through ONNX Runtime) and writes what is committed."""
    for name in ("tiny", "tiny-noexit"):
        copy = tmp_path / name
        shutil.copytree(FIXTURES / name, copy)
        committed = json.loads((copy / "manifest.json").read_text())["graphs"]["layer_skip"]
        entry = add_layer_skip(copy, fixture_layer_skip(4))
        assert entry == committed
        assert (copy / "layer_skip.onnx").read_bytes() == (FIXTURES / name / "layer_skip.onnx").read_bytes()
        assert list(json.loads((copy / "manifest.json").read_text())["graphs"])[:2] == ["full", "layer_skip"]


def test_replay_walks_greedy_decoding_step_by_step():
    # Matches at generated indices 0..6; gamma 2: run 2 → 3 tokens; run 1 → 2; miss → 1; the last step is cut at the end.
    r = replay([np.array([1, 1, 0, 1, 0, 0, 1], bool)], 2)
    assert (r["steps"], r["tokens"], r["reached"], r["tried"]) == (4, 7, [4, 3, 1], [0, 4, 2])
    assert r["tau"] == pytest.approx(7 / 4)
    assert replay([np.ones(6, bool)], 8)["steps"] == 1


def voice_readings(tiny_corpus, n=8):
    target = target_from_voice(FIXTURES / "tiny-voice")
    manifest = json.loads((FIXTURES / "tiny-voice" / "manifest.json").read_text())
    sentences = [json.loads(line) for line in (tiny_corpus / "val.jsonl").read_text().splitlines()][:n]
    return target, greedy_readings(target, manifest, sentences)


def test_the_target_as_its_own_drafter_agrees_everywhere_on_its_greedy_readings(tiny_corpus):
    """The readings come from cached greedy decoding, the drafter runs teacher-forced: with nothing skipped they
    must agree at every position, which checks the readings, the alignment and the replay together."""
    target, readings = voice_readings(tiny_corpus)
    assert all(len(seq) > sep + 1 for seq, sep in readings)
    row = evaluate(target, SkipPlan.parse("FFFF"), readings, target_distributions(target, readings), 1.0, lambda T: 1.0, (1, 4))
    assert row["top1"] == 1.0 and row["sampled_overlap"] == pytest.approx(1.0, abs=1e-5)
    assert all(a == 1.0 for a in row["alpha_by_depth"] if a is not None)
    generated = sum(len(seq) - sep - 1 for seq, sep in readings)
    steps = sum(-(-(len(seq) - sep - 1) // 5) for seq, sep in readings)
    assert row["by_gamma"][4]["tau"] == pytest.approx(generated / steps, abs=1e-4)


def test_the_search_tries_every_whole_block_plan_and_climbs_from_the_best(tiny_corpus):
    target, readings = voice_readings(tiny_corpus)
    costs = LinearCosts(0.05, 0.1, 0.12)
    rows = search(target, readings, costs, gammas=(1, 2, 3), log=lambda _: None)
    labels = [r["plan"] for r in rows]
    assert len(labels) == len(set(labels))
    whole = {r["plan"] for r in rows if set(r["plan"]) <= {"F", "-"}}
    assert len(whole) == 2 ** 4 - 2 and "FFFF" not in labels
    assert any(set(label) & {"a", "m"} for label in labels), "the climb tries sublayers"
    assert [r["speedup"] for r in rows] == sorted((r["speedup"] for r in rows), reverse=True)
    best = rows[0]
    plan = SkipPlan.parse(best["plan"])
    c = 0.05 + 0.1 * sum(plan.attention) + 0.12 * sum(plan.mlp)
    g = best["best_gamma"]
    assert best["speedup"] == pytest.approx(best["by_gamma"][g]["tau"] / (g * c + costs.verify[g + 1]), abs=1e-3)
