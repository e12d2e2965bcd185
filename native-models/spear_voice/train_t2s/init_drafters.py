"""Drafter initialisation for fine-tuning: a drafters stage may start the draft and EAGLE from an earlier
run's checkpoints, where their shapes fit, or grown from them by added blocks."""

from pathlib import Path

import torch

from ..training import float_weights, load_checkpoint
from .checkpoint import run_file


def added_blocks(saved: dict, own: dict) -> list[int] | None:
    """Indices of the blocks `own` has beyond `saved`'s, when that is the only difference (every saved
    tensor fits, every missing one belongs to an added block); None otherwise."""
    if any(k not in own or own[k].shape != v.shape for k, v in saved.items()):
        return None
    saved_blocks = {int(k.split(".")[1]) for k in saved if k.startswith("blocks.")}
    added = set()
    for k in own:
        if k in saved:
            continue
        parts = k.split(".")
        if parts[0] != "blocks" or int(parts[1]) in saved_blocks:
            return None
        added.add(int(parts[1]))
    return sorted(added)


def init_drafters(folder: Path, models: dict) -> None:
    """Fine-tuning: load each drafter's weights from folder/<name>.pt when every tensor's shape fits
    (except frozen ones, which keep the current target's).
    A drafter with more blocks than the saved one grows from it: the saved weights load, and each added
    block's residual outputs (attention wo, MLP w_down) start at zero, so the grown drafter begins as
    exactly the saved one and training decides what the new blocks add."""
    for name, model in models.items():
        path = run_file(folder, name)
        if not path.exists():
            print(f"{name}: no {path}, trained from scratch")
            continue
        state = float_weights(load_checkpoint(path)["model"])
        own = model.state_dict()
        # Frozen tensors (EAGLE's embedding and LM head, copies of the target's) stay the current
        # target's: a drafter saved beside another target carries that target's copies.
        frozen = {k for k, p in model.named_parameters() if not p.requires_grad}
        state = {k: (own[k] if k in frozen and k in own else v) for k, v in state.items()}
        added = added_blocks(state, own)
        if added is None:
            print(f"{name}: {path} has other shapes, trained from scratch")
            continue
        model.load_state_dict({k: v.to(own[k].device) for k, v in state.items()}, strict=not added)
        with torch.no_grad():
            for i in added:
                model.blocks[i].attn.wo.weight.zero_()
                model.blocks[i].mlp.w_down.weight.zero_()
        print(f"{name}: initialised from {path}" + (f", blocks {added} added (zero residual outputs)" if added else ""))
