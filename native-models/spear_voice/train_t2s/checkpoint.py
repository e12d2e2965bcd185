"""The trainer's checkpoint: one file per model (target.pt, draft.pt, prophet.pt) holding its weights, its
model and train configs, the stage's counters (for --resume) and what the pack says about the voice
(vocabulary, stop rule, unit rate, where the units came from), so a checkpoint alone can be exported.
Written and read through spear_voice.training (atomic writes, CPU loads)."""

from dataclasses import asdict
from pathlib import Path

import torch

from ..t2s.model import DecoderConfig, DraftModel, Prophet, TargetConfig, TargetModel
from ..t2s.recycle import ExitRecycle
from ..t2s.seed_prophet import SeedProphet
from ..training import float_weights, load_checkpoint
from .config import TrainConfig

CKPT_FORMAT = "spear-t2s-ckpt/1"


def weights(model: torch.nn.Module, dtype: str) -> dict:
    """The model's state dict on the CPU, floating-point tensors in `dtype`."""
    return {k: (v.detach().to("cpu", getattr(torch, dtype)) if v.is_floating_point() else v.detach().cpu())
            for k, v in model.state_dict().items()}


def checkpoint(cfg: TrainConfig, stage: str, model: torch.nn.Module, state: dict, meta: dict, optimizer=None,
               model_weights: dict | None = None) -> dict:
    return {"format": CKPT_FORMAT, "stage": stage, "train_config": asdict(cfg), "model_config": asdict(model.cfg),
            "model_class": type(model).__name__, "model": model_weights or weights(model, cfg.ckpt_dtype),
            "optimizer": optimizer.state_dict() if optimizer is not None and cfg.save_optimizer else None,
            "state": dict(state), "vocab": meta["vocab"], "max_units": meta["max_units"],
            "unit_rate": meta["unit_rate"], "units_source": meta["units_source"], "code_commit": meta.get("code_commit")}


def load_model(path: Path, device="cpu") -> tuple[torch.nn.Module, dict]:
    """The model a checkpoint holds (float32, on `device`) and the checkpoint itself."""
    ckpt = load_checkpoint(path)
    if ckpt.get("format") != CKPT_FORMAT:
        raise ValueError(f"{path}: not a {CKPT_FORMAT} checkpoint")
    cls = {"TargetModel": TargetModel, "DraftModel": DraftModel, "Prophet": Prophet, "SeedProphet": SeedProphet,
           "ExitRecycle": ExitRecycle}[ckpt["model_class"]]
    cfg = (TargetConfig if cls in (TargetModel, ExitRecycle) else DecoderConfig)(**ckpt["model_config"])
    model = cls(cfg)
    model.load_state_dict(float_weights(ckpt["model"]))
    if cls is Prophet:  # frozen copies of the target's embedding and head (Prophet.from_target)
        model.embed.requires_grad_(False)
        model.lm_head.requires_grad_(False)
    return model.to(device), ckpt


def round_weights(model: torch.nn.Module, dtype: str) -> None:
    """Round weights to what a `dtype` checkpoint (and a float16 ONNX export) holds, in place."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(getattr(torch, dtype)).float())
