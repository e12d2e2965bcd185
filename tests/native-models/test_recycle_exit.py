"""An exit head with recycling for an exported voice (t2s/recycle.py's export, train_t2s/recycle_exit.py), on the
tiny fixtures: the voice's target read back from its graphs is the one exported, the recycling fixture's exit
head is rebuilt byte for byte, and the trainer runs with and without W on readings of the tiny target."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spear_voice import REPO_ROOT
from spear_voice.fixtures import SPECIAL, TINY, build, make_recycle
from spear_voice.t2s.export import export_model
from spear_voice.t2s.model import default_positions
from spear_voice.train_t2s.recycle_exit import RecycleExitConfig, target_from_voice, train

FIXTURES = REPO_ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def trained_voice(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    """The tiny target exported with every norm weight away from its initial ones, as a trained voice has them
    (the exporter folds a Mul by ones away); and the target."""
    target, draft, eagle = build(TINY)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, p in target.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
    out = tmp_path_factory.mktemp("voice")
    export_model(target, draft, eagle, out, name="tiny-trained-norms", vocab={"size": TINY.vocab_size, "special": SPECIAL},
                 stop_token=3, training={"kind": "test"}, check_parity=False)
    return out, target.eval()


def test_the_target_read_back_from_a_voice_is_the_one_exported(trained_voice):
    voice, exported = trained_voice
    read = target_from_voice(voice)
    for (name, a), (_, b) in zip(exported.state_dict().items(), read.state_dict().items()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)


def test_the_recycling_fixture_is_rebuilt_byte_for_byte(tmp_path):
    out = tmp_path / "tiny-recycle"
    make_recycle(out, "test")
    for name in ("exit_head.onnx", "trunk.fused.onnx", "rest.fused.onnx", "full.fused.onnx"):
        assert (out / name).read_bytes() == (FIXTURES / "tiny-recycle" / name).read_bytes(), name
    entry = json.loads((out / "manifest.json").read_text())["graphs"]["exit_head"]
    assert entry["recycle"] is True and entry["inputs"][:2] == ["hidden_in", "recycle_in"]


def _readings(tmp_path, target, n: int = 24) -> None:
    """medusa_data.mts's files (tokens only are read) for n greedy readings of `target`."""
    gen = torch.Generator().manual_seed(0)
    meta = {"d_model": TINY.d_model, "vocab_size": TINY.vocab_size, "stop_token": 3}
    for split, count in (("train", n), ("val", n // 4)):
        rows, tokens, offset = [], [], 0
        for i in range(count):
            seq = [1, *torch.randint(4, TINY.vocab_size, (5,), generator=gen).tolist(), 2]
            prompt = len(seq)
            with torch.no_grad():
                for _ in range(12):
                    ids = torch.tensor([seq])
                    positions, past_len = default_positions(ids)
                    logits = target.full(ids, positions, past_len)[0]
                    seq.append(int(logits[0, -1].argmax()))
            rows.append({"id": f"{split}{i}", "promptLength": prompt, "length": len(seq), "tokenOffset": offset, "featureOffset": 0})
            tokens += seq
            offset += len(seq)
        meta[split] = rows
        np.asarray(tokens, dtype="<i4").tofile(tmp_path / f"{split}.tokens.i32")
    (tmp_path / "meta.json").write_text(json.dumps(meta))


def test_the_trainer_learns_with_and_without_recycling(tmp_path, trained_voice):
    voice = trained_voice[0]
    _readings(tmp_path, trained_voice[1])
    summaries = {}
    for recycle in (True, False):
        cfg = RecycleExitConfig(data=str(tmp_path), voice=str(voice), cache=str(tmp_path / "cache"), out=str(tmp_path / f"run-{recycle}"),
                                recycle=recycle, max_depth=4, steps=30, batch=8, lr=3e-3, recycle_lr=3e-3, eval_every=1000)
        summaries[recycle] = train(cfg)
        ckpt = torch.load(tmp_path / f"run-{recycle}" / "exit_head.pt")
        assert (ckpt["recycle"] is not None) == recycle
    for recycle, summary in summaries.items():
        # Self-distillation on the target's own greedy readings: the head agrees with the target more at every depth.
        before, after = summary["val_before"]["top1_d"], summary["val_after"]["top1_d"]
        assert np.mean(after) > np.mean(before), (recycle, before, after)
