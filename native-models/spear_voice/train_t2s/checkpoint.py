"""The trainer's checkpoint: one file per model (target.pt, draft.pt, eagle.pt) holding its weights, its
model and train configs, the stage's counters (for --resume) and what the pack says about the voice
(vocabulary, stop rule, unit rate, where the units came from), so a checkpoint alone can be exported.
Written and read through spear_voice.training (atomic writes, CPU loads)."""

from dataclasses import asdict
from pathlib import Path

import torch

from ..t2s.model import DecoderConfig, DraftModel, Eagle, TargetConfig, TargetModel
from ..t2s.recycle import ExitRecycle
from ..t2s.seed_prophet import SeedProphet
from ..training import float_weights, load_checkpoint
from .config import TrainConfig

CKPT_FORMAT = "spear-t2s-ckpt/2"
# A spear-t2s-ckpt/1 run named the EAGLE drafter "prophet": its class Prophet, its file prophet.pt, its
# train config's prophet_* fields and its validation's prophet* metrics. It is read as the same model.
CKPT_FORMAT_1 = "spear-t2s-ckpt/1"


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


def eagle_names(value):
    """`value` with every dict key that starts with "prophet" (a spear-t2s-ckpt/1 run's name for the EAGLE
    drafter) starting with "eagle" instead, at any depth: train configs, validation metrics."""
    if isinstance(value, dict):
        return {("eagle" + k[len("prophet"):] if isinstance(k, str) and k.startswith("prophet") else k): eagle_names(v)
                for k, v in value.items()}
    return value


def run_file(run_dir: Path, name: str) -> Path:
    """run_dir/<name>.pt; for "eagle", a spear-t2s-ckpt/1 run's prophet.pt where there is no eagle.pt."""
    path = Path(run_dir) / f"{name}.pt"
    old = Path(run_dir) / "prophet.pt"
    return old if name == "eagle" and not path.exists() and old.exists() else path


def read_checkpoint(path: Path) -> dict:
    """A checkpoint of this trainer, a spear-t2s-ckpt/1 one read as this format; refused otherwise."""
    ckpt = load_checkpoint(path)
    if ckpt.get("format") == CKPT_FORMAT_1:
        ckpt = {**ckpt, "format": CKPT_FORMAT, "train_config": eagle_names(ckpt["train_config"]),
                "model_class": "Eagle" if ckpt.get("model_class") == "Prophet" else ckpt.get("model_class")}
    if ckpt.get("format") != CKPT_FORMAT:
        raise ValueError(f"{path}: not a {CKPT_FORMAT} checkpoint")
    return ckpt


def load_model(path: Path, device="cpu") -> tuple[torch.nn.Module, dict]:
    """The model a checkpoint holds (float32, on `device`) and the checkpoint itself."""
    ckpt = read_checkpoint(path)
    cls = {"TargetModel": TargetModel, "DraftModel": DraftModel, "Eagle": Eagle, "SeedProphet": SeedProphet,
           "ExitRecycle": ExitRecycle}[ckpt["model_class"]]
    cfg = (TargetConfig if cls in (TargetModel, ExitRecycle) else DecoderConfig)(**ckpt["model_config"])
    model = cls(cfg)
    model.load_state_dict(float_weights(ckpt["model"]))
    if cls is Eagle:  # frozen copies of the target's embedding and head (Eagle.from_target)
        model.embed.requires_grad_(False)
        model.lm_head.requires_grad_(False)
    return model.to(device), ckpt


def round_weights(model: torch.nn.Module, dtype: str) -> None:
    """Round weights to what a `dtype` checkpoint (and a float16 ONNX export) holds, in place."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(getattr(torch, dtype)).float())
