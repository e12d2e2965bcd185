"""The reading check (spear_voice/checker/) on a tiny made-up pack: training writes its checkpoints and resumes,
the export writes a checker whose manifest maps phonemes to phones (stress dropped, pauses and word boundaries
out) with a threshold taken from the validation scores, and the app's own reading check scores the export's
parity case as PyTorch does (the export runs tools/checker/check_parity.ts and fails otherwise)."""

import json
from pathlib import Path

import numpy as np
import pytest

from spear_voice.checker.export import export_checker
from spear_voice.checker.train import CheckerTrainConfig, train_checker
from spear_voice.training import load_checkpoint

INVENTORY = ["_", "<,>", "AA0", "AA1", "B", "K", "S"]  # a word boundary, a pause, then phones (AA0 and AA1 are one)
N_UNITS = 12


def make_pack(out: Path) -> None:
    """Units "say" phones: phone k lasts 2-3 units drawn from {2k, 2k+1}; a pause is unit 10."""
    rng = np.random.default_rng(0)
    phone = {2: 0, 3: 0, 4: 1, 5: 2, 6: 3}
    for split, n in (("train", 120), ("val", 20)):
        rows, ids = [], []
        for i in range(n):
            phonemes = [int(p) for p in rng.choice([0, 2, 3, 4, 5, 6], size=int(rng.integers(3, 7)))]
            units = []
            for p in phonemes:
                if p in phone:
                    units += [2 * phone[p] + int(rng.integers(0, 2)) for _ in range(int(rng.integers(2, 4)))]
                else:
                    units += [10]
            rows.append([1] + [p + 4 for p in phonemes] + [2] + [u + 11 for u in units] + [3])
            ids.append(f"{split}{i:04d}")
        np.save(out / f"{split}.tokens.npy", np.concatenate(rows).astype(np.int16))
        np.save(out / f"{split}.offsets.npy", np.cumsum([0] + [len(r) for r in rows]).astype(np.int64))
        np.save(out / f"{split}.sep.npy", np.array([r.index(2) for r in rows], dtype=np.int32))
        (out / f"{split}.ids.txt").write_text("\n".join(ids) + "\n")
    (out / "meta.json").write_text(json.dumps({
        "phoneme_inventory": INVENTORY,
        "vocab": {"size": 23, "special": {"pad": 0, "bos": 1, "sep": 2, "eos": 3}, "phonemes": {"offset": 4, "count": 7},
                  "units": {"offset": 11, "count": N_UNITS}}}))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pack = tmp_path_factory.mktemp("checker-pack")
    make_pack(pack)
    run = pack / "run"
    cfg = CheckerTrainConfig(pack=str(pack), out=str(run), budget_s=6, batch=8, eval_every=1000, threads=1)
    best = train_checker(cfg)
    return pack, run, cfg, best


def test_training_keeps_the_best_weights_with_their_config(trained):
    pack, run, cfg, best = trained
    ckpt = load_checkpoint(run / "ckpt.pt")
    assert ckpt["val_nats_per_phone"] == best and best < float("inf")
    assert ckpt["train_config"]["pack"] == str(pack) and ckpt["phones"] == ["AA", "B", "K", "S"]
    assert load_checkpoint(run / "resume.pt")["step"] == ckpt["step"] > 0


def test_a_resumed_run_goes_on_from_its_step(trained, capsys):
    pack, run, cfg, _ = trained
    before = load_checkpoint(run / "resume.pt")
    train_checker(CheckerTrainConfig(**{**cfg.__dict__, "budget_s": before["elapsed_s"] + 2, "resume": True}))
    assert f"resumed at step {before['step']}" in capsys.readouterr().out
    assert load_checkpoint(run / "resume.pt")["step"] > before["step"]


def test_the_export_maps_phonemes_to_phones_and_sets_its_threshold(trained):
    pack, run, _, _ = trained
    out = run.parent / "checker"
    export_checker(run / "ckpt.pt", pack, out)  # raises when the app's score differs from PyTorch's
    manifest = json.loads((out / "checker.json").read_text())
    assert manifest["phones"] == ["AA", "B", "K", "S"]
    assert manifest["phone_of_phoneme"] == [-1, -1, 0, 0, 1, 2, 3]
    assert manifest["blank"] == 4
    assert manifest["threshold"] > 0 and manifest["threshold"] == manifest["threshold_evidence"]["quantiles"]["0.9"]
    assert set(manifest["files"]) == {"checker.onnx", "parity.json"}
