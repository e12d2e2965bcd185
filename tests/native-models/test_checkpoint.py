"""The trainer's checkpoints (spear_voice/train_t2s/checkpoint.py): an EAGLE drafter's checkpoint reads back, and a
spear-t2s-ckpt/1 run, which named that drafter "prophet" (class Prophet, file prophet.pt, prophet_* config fields),
reads as the same model in this format."""

import pytest
import torch

from spear_voice.fixtures import TINY, build
from spear_voice.t2s.model import Eagle
from spear_voice.train_t2s.checkpoint import CKPT_FORMAT, CKPT_FORMAT_1, checkpoint, eagle_names, load_model, run_file
from spear_voice.train_t2s.config import TrainConfig
from spear_voice.training import save_checkpoint

META = {"vocab": {"size": TINY.vocab_size}, "max_units": {"per_phoneme": 1.0, "base": 4}, "unit_rate": 25,
        "units_source": "fake"}


def eagle_checkpoint(**config) -> tuple[Eagle, dict]:
    _, _, eagle = build(TINY)
    return eagle, checkpoint(TrainConfig(**config), "drafters", eagle, {"step": 7, "done": True}, META)


def as_format_1(ckpt: dict) -> dict:
    """`ckpt` as a spear-t2s-ckpt/1 trainer wrote it."""
    config = {("prophet" + k[len("eagle"):] if k.startswith("eagle") else k): v for k, v in ckpt["train_config"].items()}
    return {**ckpt, "format": CKPT_FORMAT_1, "model_class": "Prophet", "train_config": config}


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_an_eagle_checkpoint_names_its_class_and_fields_eagle_and_reads_back(tmp_path):
    eagle, ckpt = eagle_checkpoint(eagle_unroll=4)
    assert ckpt["format"] == CKPT_FORMAT and ckpt["model_class"] == "Eagle" and ckpt["train_config"]["eagle_unroll"] == 4
    save_checkpoint(tmp_path / "eagle.pt", ckpt)
    model, read = load_model(run_file(tmp_path, "eagle"))
    assert isinstance(model, Eagle) and same_weights(model, eagle)
    assert not model.embed.weight.requires_grad and not model.lm_head.weight.requires_grad


def test_a_format_1_run_reads_its_prophet_checkpoint_as_the_eagle_drafter(tmp_path):
    eagle, ckpt = eagle_checkpoint(eagle_unroll=4, eagle_ce_weight=1.0)
    save_checkpoint(tmp_path / "prophet.pt", as_format_1(ckpt))
    assert run_file(tmp_path, "eagle") == tmp_path / "prophet.pt"
    assert run_file(tmp_path, "draft") == tmp_path / "draft.pt"
    model, read = load_model(run_file(tmp_path, "eagle"))
    assert isinstance(model, Eagle) and same_weights(model, eagle)
    assert not model.embed.weight.requires_grad and not model.lm_head.weight.requires_grad
    assert read["format"] == CKPT_FORMAT and read["model_class"] == "Eagle"
    assert read["train_config"] == ckpt["train_config"]
    # Once the run writes eagle.pt (a resumed stage saves under the new name), that is the file read.
    save_checkpoint(tmp_path / "eagle.pt", ckpt)
    assert run_file(tmp_path, "eagle") == tmp_path / "eagle.pt"


def test_a_checkpoint_of_another_format_is_refused(tmp_path):
    _, ckpt = eagle_checkpoint()
    save_checkpoint(tmp_path / "eagle.pt", {**ckpt, "format": "spear-t2s-ckpt/0"})
    with pytest.raises(ValueError, match=f"not a {CKPT_FORMAT} checkpoint"):
        load_model(tmp_path / "eagle.pt")


def test_eagle_names_renames_prophet_keys_at_any_depth_and_nothing_else():
    validation = {"prophet_ce": 1.0, "prophet_step2_top1": 0.5, "draft_ce": 2.0}
    assert eagle_names({"drafters": {"prophet": {"config": {"prophet_unroll": 4}}}, "validation": validation, "kind": "prophet"}) == {
        "drafters": {"eagle": {"config": {"eagle_unroll": 4}}},
        "validation": {"eagle_ce": 1.0, "eagle_step2_top1": 0.5, "draft_ce": 2.0},
        "kind": "prophet"}
