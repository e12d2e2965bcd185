"""spear_voice/training.py: the schedule, the budget and the checkpoints every trainer uses."""

import math
import os

import pytest
import torch

from spear_voice.training import Budget, load_checkpoint, lr_at, restore, save_checkpoint


def test_lr_warms_up_over_a_share_then_decays_by_cosine_to_the_floor():
    lr = dict(lr=1e-3, min_lr=1e-4, warmup=0.1)
    assert lr_at(0.0, **lr) == pytest.approx(1e-3 * 1e-3 / 0.1)
    assert lr_at(0.05, **lr) < lr_at(0.09, **lr) < 1e-3  # rising through the warmup
    assert lr_at(0.1, **lr) == pytest.approx(1e-3)  # the peak where the warmup ends
    assert lr_at(0.55, **lr) == pytest.approx((1e-3 + 1e-4) / 2)  # halfway down the cosine
    assert lr_at(1.0, **lr) == pytest.approx(1e-4)
    assert lr_at(1.5, **lr) == pytest.approx(1e-4)  # past the end it stays at the floor
    values = [lr_at(p / 100, **lr) for p in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_lr_warms_up_over_steps_when_given_steps():
    assert lr_at(0.5, lr=2e-3, min_lr=0.0, step=0, warmup_steps=200) == pytest.approx(2e-3 / 200)
    assert lr_at(0.5, lr=2e-3, min_lr=0.0, step=199, warmup_steps=200) == pytest.approx(2e-3)
    # After the warmup: the cosine over the whole run's progress
    assert lr_at(0.5, lr=2e-3, min_lr=0.0, step=200, warmup_steps=200) == pytest.approx(1e-3)
    assert lr_at(0.25, lr=2e-3, min_lr=0.0, step=500, warmup_steps=200) == pytest.approx(1e-3 * (1 + math.cos(math.pi / 4)))


def test_a_resumed_budget_counts_what_earlier_processes_spent():
    budget = Budget(100.0, spent_s=40.0, start=1000.0)
    assert budget.start == 960.0
    fresh = Budget(100.0)
    assert fresh.elapsed() < 1.0 and not fresh.spent() and fresh.left() > 99.0
    assert Budget(100.0, spent_s=100.0).spent()
    assert Budget(100.0, spent_s=50.0).progress(reserve_s=50.0) >= 1.0  # the reserve is held back
    assert Budget(0.0).progress() == 1.0


def test_checkpoints_are_written_atomically_and_must_carry_their_config(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = tmp_path / "ckpt.pt"
    with pytest.raises(ValueError, match="train_config"):
        save_checkpoint(path, {"model": model.state_dict()})
    assert not path.exists()
    save_checkpoint(path, {"model": model.state_dict(), "train_config": {"lr": 1.0}, "step": 7})
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temporary file left behind
    assert load_checkpoint(path)["step"] == 7


def test_restore_loads_weights_and_optimizer_and_refuses_a_checkpoint_without_optimizer(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    half = {k: v.half() for k, v in model.state_dict().items()}  # a float16 checkpoint loads as float32
    save_checkpoint(tmp_path / "a.pt", {"model": half, "optimizer": opt.state_dict(), "train_config": {}, "state": {"step": 1}})
    save_checkpoint(tmp_path / "b.pt", {"model": half, "optimizer": None, "train_config": {}})

    other = torch.nn.Linear(3, 2)
    other_opt = torch.optim.AdamW(other.parameters(), lr=1e-2)
    assert restore(tmp_path / "a.pt", other, other_opt)["state"] == {"step": 1}
    assert other.weight.dtype == torch.float32
    assert torch.equal(other.weight, model.weight.half().float())
    assert other_opt.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    with pytest.raises(RuntimeError, match="without optimizer state"):
        restore(tmp_path / "b.pt", other, other_opt)
    restore(tmp_path / "b.pt", other)  # weights alone need no optimizer
