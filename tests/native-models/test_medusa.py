"""The Medusa heads (spear_voice/t2s/medusa.py) and their trainer (spear_voice/train_t2s/medusa.py), on tiny
models: the paper's initialisation, the batched forward against one head at a time, the LM head read back
from an exported graph, the fixtures' graphs rebuilt byte for byte, and training that learns t + i + 2."""

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from spear_voice import REPO_ROOT
from spear_voice.fixtures import TINY, add_fixture_medusa, build
from spear_voice.t2s.medusa import MedusaConfig, MedusaHeads, lm_head_of
from spear_voice.train_t2s.medusa import IGNORE, MedusaTrainConfig, evaluate, load_split, train

TINY_DIR = REPO_ROOT / "tests" / "fixtures" / "tiny"


def test_untrained_heads_repeat_the_target_head():
    lm_head = torch.randn(11, 8)
    heads = MedusaHeads.from_lm_head(lm_head, 3)
    hidden = torch.randn(2, 5, 8)
    logits = heads(hidden)
    assert logits.shape == (2, 5, 3, 11)
    for i in range(3):
        torch.testing.assert_close(logits[:, :, i], hidden @ lm_head.t())


def test_the_batched_forward_is_each_head_on_its_own():
    torch.manual_seed(0)
    heads = MedusaHeads(MedusaConfig(d_model=8, vocab_size=11, heads=4))
    for p in heads.parameters():
        torch.nn.init.normal_(p)
    hidden = torch.randn(3, 2, 8)
    logits = heads(hidden)
    for i in range(4):
        h = hidden + F.silu(hidden @ heads.w[i].t() + heads.b[i])
        torch.testing.assert_close(logits[:, :, i], h @ heads.proj[i].t())


def test_the_lm_head_is_read_back_from_an_exported_full_graph():
    target = build(TINY)[0]
    torch.testing.assert_close(lm_head_of(TINY_DIR / "full.onnx"), target.lm_head.weight.data)


def test_the_fixture_graph_is_rebuilt_byte_for_byte(tmp_path):
    model = tmp_path / "tiny"
    shutil.copytree(TINY_DIR, model)
    add_fixture_medusa(build(TINY)[0], TINY, model)
    assert json.loads((model / "manifest.json").read_text()) == json.loads((TINY_DIR / "manifest.json").read_text())
    assert (model / "medusa.onnx").read_bytes() == (TINY_DIR / "medusa.onnx").read_bytes()


def write_data(folder: Path, D: int, sequences: dict[str, list[list[int]]], prompt_length: int, features_of) -> None:
    """A data folder as tools/medusa_data.mts writes it, with each position's feature from `features_of`."""
    folder.mkdir()
    meta = {"d_model": D, "vocab_size": 0, "stop_token": 3}
    for split, seqs in sequences.items():
        tokens, features, sentences = [], [], []
        for n, seq in enumerate(seqs):
            first = prompt_length - 2
            sentences.append({"id": str(n), "text": "", "promptLength": prompt_length, "length": len(seq),
                              "tokenOffset": len(tokens), "featureOffset": len(features)})
            tokens += seq
            features += [features_of(seq, t) for t in range(first, len(seq) - 1)]
        np.asarray(tokens, "<i4").tofile(folder / f"{split}.tokens.i32")
        np.asarray(features, "<f4").tofile(folder / f"{split}.features.f32")
        meta[split] = sentences
    (folder / "meta.json").write_text(json.dumps(meta))


def test_targets_are_the_tokens_two_and_more_ahead(tmp_path):
    seq = [1, 10, 11, 2, 20, 21, 22, 3]  # prompt of 4, then units and the stop token
    write_data(tmp_path / "data", 2, {"train": [seq]}, 4, lambda s, t: [float(t), 0.0])
    features, targets = load_split(tmp_path / "data", "train", 3)
    # Rows are positions 2 … 6 (prompt's last phoneme to the second-to-last token); head i wants t + i + 2.
    assert features[:, 0].tolist() == [2, 3, 4, 5, 6]
    assert targets.tolist() == [[20, 21, 22], [21, 22, 3], [22, 3, IGNORE], [3, IGNORE, IGNORE], [IGNORE, IGNORE, IGNORE]]


def test_training_learns_what_comes_two_and_three_tokens_ahead(tmp_path):
    """A toy target whose readings count up by one from a random start: its hidden state one-hot encodes
    the count at its position, so head i can learn count + i + 2 exactly, which the untrained heads (the
    target's head, which guesses count + 1) never give."""
    V, D = 12, 12
    rng = np.random.default_rng(0)
    seqs = {split: [[1, 5, 2] + [int(s) + k for k in range(6)] for s in rng.integers(4, 6, size=n)]
            for split, n in (("train", 64), ("val", 16))}
    write_data(tmp_path / "data", D, seqs, 3, lambda s, t: np.eye(D)[s[3] + t - 3].tolist())
    # A head that reads the one-hot token and guesses the next one: the untrained heads' guess.
    head = torch.roll(torch.eye(V), 1, dims=0)  # (V, D): logit of token v is hidden[v - 1]
    summary = train(MedusaTrainConfig(data=str(tmp_path / "data"), out=str(tmp_path / "run"), heads=2, batch=64,
                                      lr=0.05, warmup=0.0, budget_s=4, eval_every=10**9, threads=1), lm_head=10 * head)
    assert summary["val"]["top1"][0] > 0.95 and summary["val"]["top1"][1] > 0.95, summary["val"]
    ckpt = torch.load(tmp_path / "run" / "medusa.pt")
    assert ckpt["medusa_config"] == {"d_model": D, "vocab_size": V, "heads": 2} and "train_config" in ckpt
    untrained = MedusaHeads.from_lm_head(10 * head, 2)
    val = evaluate(untrained, *load_split(tmp_path / "data", "val", 2))
    assert max(val["top1"]) < 0.05, "the untrained heads guess the next token, not the ones after it"
