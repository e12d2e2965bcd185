"""Fine-tuning a shipped voice's drafters (train_t2s/from_voice.py) on the tiny models: the voice read back into
checkpoints is the exported models, putting those checkpoints back leaves every drafter graph's weights as they
were, retrained drafters land in the sources, int8 graphs, chains and manifest, and greedy_readings.mts records
become a pack only when they start with the pack's prompts."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from spear_voice.fixtures import SPECIAL, TINY, build
from spear_voice.t2s.chain import chain_voice
from spear_voice.t2s.data import load_pack
from spear_voice.t2s.export import export_model, sha256
from spear_voice.t2s.quantize import quantize_voice
from spear_voice.train_t2s.checkpoint import load_model, round_weights
from spear_voice.train_t2s.from_voice import readings_pack, replace_drafters, voice_checkpoints
from spear_voice.training import save_checkpoint, load_checkpoint

VOCAB = {"size": TINY.vocab_size, "special": SPECIAL}


def weights_of(path: Path) -> list[np.ndarray]:
    """A graph's initializers as float32 arrays, in name order (names may differ between exports)."""
    model = onnx.load(str(path), load_external_data=False)
    return [numpy_helper.to_array(i).astype(np.float32) for i in sorted(model.graph.initializer, key=lambda i: i.name)]


@pytest.fixture(scope="module")
def models():
    """The tiny target and drafters with every norm away from ones (the exporter folds a Mul by ones away, as a
    trained voice never has it), rounded to float16 as a voice stores them."""
    target, draft, eagle = build(TINY)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for model in (target, draft, eagle):
            for name, p in model.named_parameters():
                if name.endswith("norm.weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            round_weights(model, "float16")
    return target.eval(), draft.eval(), eagle.eval()


@pytest.fixture()
def voice(tmp_path, models) -> Path:
    """A voice of the tiny models as the app ships one: float16 sources, int8 drafters, chains."""
    out = tmp_path / "voice"
    export_model(*models, out, name="tiny-from-voice", vocab=VOCAB, stop_token=SPECIAL["eos"], training={"kind": "test"},
                 check_parity=False, weights_dtype="float16")
    quantize_voice(out)
    chain_voice(out, gammas=(2,))
    return out


@pytest.fixture()
def pack(tmp_path) -> Path:
    """A pack of four rows per split: prompts [bos, p, p, sep] and two units each."""
    out = tmp_path / "pack"
    out.mkdir()
    meta = {"format": "spear-t2s-pack/1", "vocab": VOCAB, "units_source": "test", "max_units": {"per_phoneme": 2.0, "base": 1.0},
            "unit_rate": 25.0, "splits": {}}
    for split in ("train", "val", "test"):
        rows = [np.asarray([1, 4 + i, 5 + i, 2, 9, 10, 3], dtype=np.int16) for i in range(4)]
        np.save(out / f"{split}.tokens.npy", np.concatenate(rows))
        np.save(out / f"{split}.offsets.npy", np.arange(0, 7 * 5, 7, dtype=np.int64))
        np.save(out / f"{split}.sep.npy", np.full(4, 3, dtype=np.int32))
        (out / f"{split}.ids.txt").write_text("".join(f"{split}{i}\n" for i in range(4)))
        meta["splits"][split] = {"sentences": 4, "missing_units": 0, "tokens": 28, "unit_tokens": 12}
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def test_the_checkpoints_hold_the_exported_models(tmp_path, voice, pack, models):
    voice_checkpoints(voice, pack, tmp_path / "init")  # proves ONNX Runtime parity before writing
    for name, exported in zip(("target", "draft", "eagle"), models):
        read, ckpt = load_model(tmp_path / "init" / f"{name}.pt")
        assert ckpt["vocab"] == VOCAB
        for (key, a), (_, b) in zip(exported.state_dict().items(), read.state_dict().items()):
            torch.testing.assert_close(b, a, rtol=0, atol=0, msg=f"{name}.{key}")


def test_the_voice_own_drafters_put_back_change_no_weight(tmp_path, voice, pack):
    before = {f: weights_of(voice / f) for f in ("draft.onnx", "eagle.onnx", "draft.int8.onnx", "eagle.int8.onnx")}
    chain_weights = (voice / "eagle_chain.weights").read_bytes()
    voice_checkpoints(voice, pack, tmp_path / "init")
    replace_drafters(tmp_path / "init", voice)
    for f, arrays in before.items():
        after = weights_of(voice / f)
        assert len(after) == len(arrays) and all(np.array_equal(a, b) for a, b in zip(arrays, after)), f
    assert (voice / "eagle_chain.weights").read_bytes() == chain_weights


def test_retrained_drafters_land_in_every_graph_and_the_manifest(tmp_path, voice, pack):
    voice_checkpoints(voice, pack, tmp_path / "run")
    path = tmp_path / "run" / "eagle.pt"
    ckpt = load_checkpoint(path)
    ckpt["model"]["blocks.0.mlp.w_up.weight"] = ckpt["model"]["blocks.0.mlp.w_up.weight"] * 1.5
    ckpt["state"] = {"step": 7}
    save_checkpoint(path, ckpt)
    old = json.loads((voice / "manifest.json").read_text())
    replace_drafters(tmp_path / "run", voice)  # raises unless PyTorch and ONNX Runtime agree on the new graphs
    new = json.loads((voice / "manifest.json").read_text())
    eagle_old, eagle_new = old["graphs"]["eagle"], new["graphs"]["eagle"]
    assert eagle_new["source"]["sha256"] == sha256(voice / "eagle.onnx") != eagle_old["source"]["sha256"]
    assert eagle_new["sha256"] == sha256(voice / "eagle.int8.onnx") != eagle_old["sha256"]
    assert new["chains"]["eagle"]["source"]["sha256"] == eagle_new["sha256"]
    assert new["chains"]["eagle"]["weights"]["sha256"] != old["chains"]["eagle"]["weights"]["sha256"]
    assert new["graphs"]["draft"] == old["graphs"]["draft"]  # the draft model was put back unchanged
    assert new["training"]["stages"]["eagle"] == {"step": 7}
    for role in ("full", "trunk", "rest", "exit_head"):
        assert new["graphs"][role] == old["graphs"][role]


def test_a_drafter_of_another_shape_is_refused(tmp_path, voice, pack):
    voice_checkpoints(voice, pack, tmp_path / "run")
    manifest = json.loads((voice / "manifest.json").read_text())
    manifest["training"]["eagle"]["n_heads"] += 1
    (voice / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="model config differs"):
        replace_drafters(tmp_path / "run", voice)


def records(path: Path, seqs: list[list[int]]) -> Path:
    np.asarray([x for s in seqs for x in (len(s), *s)], dtype="<i4").tofile(path)
    return path


def test_readings_become_a_pack_of_the_first_rows(tmp_path, pack):
    reads = [[1, 4, 5, 2, 11, 12, 13, 3], [1, 5, 6, 2, 3]]
    meta = readings_pack(pack, tmp_path / "greedy", {"train": [records(tmp_path / "a.i32", reads[:1]), records(tmp_path / "b.i32", reads[1:])]})
    _, splits = load_pack(tmp_path / "greedy")
    assert [splits["train"].row(i).tolist() for i in range(2)] == reads
    assert splits["train"].sep.tolist() == [3, 3]
    assert meta["splits"]["train"] == {"sentences": 2, "missing_units": 0, "tokens": 13, "unit_tokens": 5}
    assert (tmp_path / "greedy" / "train.ids.txt").read_text() == "train0\ntrain1\n"
    assert len(splits["val"]) == len(splits["test"]) == 4  # not given: copied
    assert meta["units_source"].startswith("greedy readings")


def test_readings_of_other_prompts_or_a_cut_file_are_refused(tmp_path, pack):
    with pytest.raises(ValueError, match="record 1 does not start with row 1's prompt"):
        readings_pack(pack, tmp_path / "x", {"train": [records(tmp_path / "a.i32", [[1, 4, 5, 2, 3], [1, 4, 5, 2, 3]])]})
    cut = tmp_path / "cut.i32"
    np.asarray([8, 1, 4, 5, 2], dtype="<i4").tofile(cut)
    with pytest.raises(ValueError, match="claims 8 tokens"):
        readings_pack(pack, tmp_path / "y", {"train": [cut]})
