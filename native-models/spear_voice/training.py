"""What every trainer shares (train_t2s, speaker/train.py, checker/train.py): the learning-rate schedule, the
wall-clock budget, and checkpoints that are written atomically, carry their config and resume a run.

Every trainer here is budgeted in seconds, not steps: the schedule follows the share of the budget spent, so a
run ends on time, its learning rate decayed, on whatever machine it runs.
"""

import argparse
import dataclasses
import inspect
import math
import os
import time
from pathlib import Path

import torch


# ----------------------------------------------------------------------------------------------------
# Learning-rate schedule


def lr_at(progress: float, *, lr: float, min_lr: float, warmup: float = 0.0, step: int = 0, warmup_steps: int = 0) -> float:
    """The learning rate at `progress` in [0, 1] of a run: a linear warmup, then a cosine from `lr` down to
    `min_lr` (nanoGPT's get_lr, on the run's progress instead of its iteration count).

    The warmup lasts either the first `warmup_steps` optimiser steps (`step` counts them) or the first
    `warmup` share of the run; the cosine spans the rest of the run."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if progress < warmup:
        return lr * (progress + 1e-3) / warmup
    decay = min(1.0, (progress - warmup) / max(1e-9, 1 - warmup))  # 0 → 1 over the rest of the run
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * decay))


# ----------------------------------------------------------------------------------------------------
# Time budget


class Budget:
    """A wall-clock budget of `total_s` seconds that a resumed run continues: `spent_s` is what earlier
    processes already used, `start` (default: now) when this process began counting."""

    def __init__(self, total_s: float, spent_s: float = 0.0, start: float | None = None):
        self.total_s = total_s
        self.start = (time.time() if start is None else start) - spent_s

    def elapsed(self) -> float:
        return time.time() - self.start

    def left(self) -> float:
        return self.total_s - self.elapsed()

    def progress(self, reserve_s: float = 0.0) -> float:
        """Share of the budget spent, `reserve_s` of it held back (for a last evaluation and save)."""
        usable = self.total_s - reserve_s
        return self.elapsed() / usable if usable > 0 else 1.0

    def spent(self, reserve_s: float = 0.0) -> bool:
        return self.progress(reserve_s) >= 1.0


# ----------------------------------------------------------------------------------------------------
# Checkpoints


def save_checkpoint(path: Path, checkpoint: dict) -> None:
    """Write `checkpoint` to `path` atomically: under a temporary name, then renamed, so a reader (or a
    resumed run) never sees half a file, even when the job is killed mid-write. A checkpoint carries the
    config that trained it ("train_config"), so a run can be understood, resumed or exported from it alone."""
    if "train_config" not in checkpoint:
        raise ValueError(f"{path}: a checkpoint must carry its train_config")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint on the CPU, whatever device wrote it."""
    # NOTE: torch >= 2.6 loads weights only by default; these files are our own, with plain configs inside.
    extra = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    return torch.load(path, map_location="cpu", **extra)


def float_weights(state: dict) -> dict:
    """A state dict with floating-point tensors in float32 (checkpoints may hold float16 to halve their size)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def restore(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
            weights_key: str = "model") -> dict:
    """Resume from `path`: its weights into `model`, its optimiser state into `optimizer` (refused when the
    checkpoint was saved without one); returns the checkpoint for the trainer's own counters."""
    ckpt = load_checkpoint(path)
    model.load_state_dict(float_weights(ckpt[weights_key]))
    if optimizer is not None:
        if ckpt.get("optimizer") is None:
            raise RuntimeError(f"{path} was saved without optimizer state; start the run afresh (without --resume)")
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt


# ----------------------------------------------------------------------------------------------------
# Command line


def config_from_args(config_cls, description: str | None, argv: list[str] | None = None):
    """A trainer's dataclass config from its command line: `--name VALUE` for each field, typed by its default;
    a bool field (default True) is turned off by `--no-name`."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for field in dataclasses.fields(config_cls):
        if isinstance(field.default, bool):
            ap.add_argument(f"--no-{field.name}", dest=field.name, action="store_false")
        else:
            ap.add_argument(f"--{field.name}", type=type(field.default), default=field.default)
    return config_cls(**vars(ap.parse_args(argv)))
