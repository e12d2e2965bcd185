"""The speaker trainer on a units folder other than work/units (speaker/train.py --units): it reads that folder's
clips and frames, and its codebook's size sets the speaker's unit count (a larger codebook than the shipped one)."""

import json

import numpy as np
import pytest

from spear_voice.speaker.train import main
from spear_voice.training import load_checkpoint


def units_folder(path, n_units: int):
    """Six train and two val clips of 12 units (4 frames of 42 features each) and a codebook of n_units."""
    rng = np.random.default_rng(0)
    (path / "frames").mkdir(parents=True)
    for split, count in (("train", 6), ("val", 2)):
        with open(path / f"{split}.jsonl", "w") as f:
            for i in range(count):
                cid = f"{split}{i}"
                frames = rng.normal(size=(48, 42)).astype(np.float32)
                frames[:, 40] = 5.0 + 0.1 * rng.normal(size=48)  # log f0
                frames[:, 41] = (rng.random(48) > 0.3).astype(np.float32)  # voicing
                np.save(path / "frames" / f"{cid}.npy", frames)
                f.write(json.dumps({"id": cid, "units": rng.integers(0, n_units, 12).tolist()}) + "\n")
    np.savez(path / "codebook.npz", centroids=np.zeros((n_units, 8), np.float32))
    return path


def test_a_units_folder_sets_the_unit_count_and_trains(tmp_path):
    units = units_folder(tmp_path / "units", 64)
    main(["--units", str(units), "--out", str(tmp_path / "run"), "--max_steps", "4", "--batch_size", "2", "--crop_units", "8",
          "--eval_interval", "2", "--eval_clips", "2", "--threads", "1", "--budget_s", "60"])
    ckpt = load_checkpoint(tmp_path / "run" / "ckpt.pt")
    assert ckpt["model_config"]["n_units"] == 64
    assert ckpt["train_config"]["units"] == str(units)


def test_units_and_a_pack_together_are_refused(tmp_path):
    units = units_folder(tmp_path / "units", 16)
    with pytest.raises(SystemExit, match="give one"):
        main(["--units", str(units), "--pack", str(tmp_path), "--out", str(tmp_path / "run"), "--threads", "1"])
