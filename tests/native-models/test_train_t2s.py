"""The t2s trainer's command line (spear_voice.train_t2s) on a tiny pack of fake units, with the smoke preset:
--target_init starts the target stage from a trained target.pt (fine-tuning on another pack), so a run at
learning rate 0 from an earlier run's target validates exactly as that target did; and the budget, the
checkpoints and --resume behave."""

import json

import pytest

from spear_voice.train_t2s.cli import main
from spear_voice.training import load_checkpoint


@pytest.fixture(scope="module")
def pack(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("t2s") / "pack"
    main(["pack", "--corpus", str(tiny_corpus), "--fake-units", "--n-units", "64", "--out", str(out)])
    assert json.loads((out / "meta.json").read_text())["units_source"] == "fake"
    return out


def train(pack, out, *flags):
    main(["train", "--preset", "smoke", "--stages", "target", "--pack", str(pack), "--target_share", "1", "--threads", "1",
          "--out", str(out), *flags])
    return json.loads((out / "eval.json").read_text())["target"]["main_ce"]


def test_target_init_at_lr_0_validates_as_the_target_it_starts_from(pack, tmp_path, capsys):
    first = train(pack, tmp_path / "first", "--budget_s", "6")
    second = train(pack, tmp_path / "second", "--budget_s", "3", "--lr", "0", "--target_init", str(tmp_path / "first/target.pt"))
    assert f"target: starts from {tmp_path / 'first/target.pt'}" in capsys.readouterr().out
    assert abs(second - first) < 1e-6


def test_a_finished_stage_carries_its_config_and_is_skipped_on_resume(pack, tmp_path, capsys):
    train(pack, tmp_path / "run", "--budget_s", "3")
    ckpt = load_checkpoint(tmp_path / "run/target.pt")
    assert ckpt["state"]["done"] and ckpt["train_config"]["budget_s"] == 3.0 and ckpt["optimizer"] is not None
    assert ckpt["state"]["elapsed_s"] >= 3.0
    train(pack, tmp_path / "run", "--budget_s", "3", "--resume")
    assert "target: already done" in capsys.readouterr().out
    assert load_checkpoint(tmp_path / "run/target.pt")["state"]["step"] == ckpt["state"]["step"]


def test_an_unknown_stage_is_refused(pack, tmp_path):
    with pytest.raises(ValueError, match="unknown stage 'targte'"):
        main(["train", "--preset", "smoke", "--stages", "targte", "--pack", str(pack), "--out", str(tmp_path)])
