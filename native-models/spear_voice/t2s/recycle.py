"""Recycling for the early-exit head: the target's last cached final feature summed back into the exit head's input.

Early-exit drafting runs the trunk and the exit head on each drafted token; the target's deep feature h_c of
the step's start c (the last position the full target scored) is already cached, and the drafts at c+1, c+2, ...
have only the shallow trunk. Recycling (AlphaFold 2's, Jumper et al. 2021: the previous pass's embedding summed
into the next pass's input, without a gradient through it) adds Linear(h_c) to the exit head's input at every
drafted position: exit_head(trunk(x)_i + W h_c) for i in c+1 .. c+γ. W starts at zero, so an exit head with
recycling starts as the one without.

Training sees random step boundaries (random crops of the sequence into steps of 1..max_depth tokens,
`crop_sources`): each position reads the feature of the step start before it, at the depth a decoding step
would have there; the first crop of a row reads zeros (the prefill has no earlier feature).

The exported exit head with recycling (`add_exit_head`) reads `recycle_in` (B, T, F) after `hidden_in`:
at each position the feature the engine recycles there (electron/core/engine/drafters/early-exit.ts: h_c at
the step's drafted positions; h_{i-1} at a position i the target has already scored, the catch-up after a
prompt or a fully accepted step, as a crop of one token). Its manifest entry says "recycle": true.

    python3 -m spear_voice.t2s.recycle voice --ckpt work/recycle-run/exit_head.pt   # a voice's exit head (int8)
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

import torch
import torch.nn as nn

from .contract import MANIFEST_FILE, RECYCLE_IN, expected_names
from .export import (PARITY_CASES, PARITY_TOLERANCE, ExitHeadGraph, _flatten, _pairs, add_tensors, export_graph, make_inputs, run_parity,
                     sha256)
from .model import TargetConfig, TargetModel


class ExitRecycle(nn.Module):
    def __init__(self, cfg: TargetConfig):
        super().__init__()
        self.cfg = cfg
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        nn.init.zeros_(self.proj.weight)

    def forward(self, hidden, recycled):  # (B, T, D) exit-layer hidden, (B, T, D) features of step starts
        return hidden + self.proj(recycled.detach())


def crop_sources(batch: int, length: int, max_depth: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random step boundaries → src (B, T) int64: the step start c each position i reads (-1: none, the first
    crop), so that depth i - c is 1..max_depth. Crop lengths are uniform in 1..max_depth."""
    lengths = torch.randint(1, max_depth + 1, (batch, length), generator=generator)  # (B, T) crops, enough to cover T
    ends = lengths.cumsum(1) - 1  # (B, T) last position of each crop, increasing
    i = torch.arange(length)[None, :].expand(batch, length).contiguous()  # (B, T)
    k = torch.searchsorted(ends, i)  # (B, T) number of crop ends before i
    prev = ends.gather(1, (k - 1).clamp(min=0))  # (B, T) the last crop end before i
    return torch.where(k > 0, prev, torch.full_like(prev, -1))


def fixed_sources(starts: torch.Tensor, length: int, depth: int) -> torch.Tensor:
    """Steps of exactly `depth` tokens from each row's first step start starts (B,) → src (B, T) as
    crop_sources gives (-1 at and before the row's start)."""
    i = torch.arange(length, device=starts.device)[None, :]  # (1, T)
    rel = i - starts[:, None]  # (B, T)
    src = starts[:, None] + torch.div(rel - 1, depth, rounding_mode="floor") * depth  # (B, T)
    return torch.where(rel >= 1, src, torch.full_like(src, -1))


def recycled_features(features, src):
    """features (B, T, D), src (B, T) → (B, T, D): features[b, src[b, i]], zeros where src is -1."""
    padded = torch.cat([features.new_zeros(features.shape[0], 1, features.shape[2]), features], dim=1)  # (B, T+1, D)
    index = (src + 1).to(features.device)[..., None].expand(-1, -1, features.shape[2])  # (B, T, D)
    return padded.gather(1, index)


# ----------------------------------------------------------------------------------------------------
# Export


class RecycledExitHeadGraph(nn.Module):
    """The exit_head role with recycling: hidden_in, recycle_in, positions, past_len, past... → logits, new..."""

    def __init__(self, target: TargetModel, recycle: ExitRecycle):
        super().__init__()
        self.target, self.recycle = target, recycle

    def forward(self, hidden_in, recycle_in, *rest):
        positions, past_len, past = rest[0], rest[1], rest[2:]
        logits, new = self.target.exit_head(self.recycle(hidden_in, recycle_in), positions, past_len, _pairs(past))
        return (logits, *_flatten(new))


def _half_matrices(module: nn.Module) -> None:
    """Rounds the 2-D weights to float16 in place (what a float16-stored graph computes; export._store_float16)."""
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 2:
                p.copy_(p.half().float())


def add_exit_head(model_dir: Path, target: TargetModel, recycle: ExitRecycle | None, training: dict,
                  weights_dtype: str = "float32", parity: bool = True) -> dict:
    """Writes `exit_head.onnx` (the exit head of `target`, with `recycle` where given) into a model folder over the
    one there, proves it in ONNX Runtime, and points the manifest's exit_head entry at it (with "recycle": true
    where it recycles); returns the entry. `training` is recorded under the manifest's training.exit_head."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    cfg = target.cfg
    if (cfg.d_model, cfg.vocab_size, cfg.exit_blocks) != (manifest["d_model"], manifest["vocab"]["size"], manifest["exit_blocks"]):
        raise ValueError(f"{model_dir}: an exit head of width {cfg.d_model}, {cfg.exit_blocks} blocks over {cfg.vocab_size} tokens "
                         f"does not fit a target of width {manifest['d_model']}, {manifest['exit_blocks']} blocks over "
                         f"{manifest['vocab']['size']}")
    target.eval()
    if weights_dtype == "float16":
        _half_matrices(target.exit_blocks)
    if recycle is not None:
        recycle.eval()
        if weights_dtype == "float16":
            _half_matrices(recycle)
    graph = ExitHeadGraph(target) if recycle is None else RecycledExitHeadGraph(target, recycle)
    D, layers, recycles = cfg.d_model, cfg.exit_blocks, recycle is not None
    inputs, outputs = expected_names("exit_head", layers, recycle=recycles)

    def feeds(past_len, past_size, new_size, gen):
        f = make_inputs("exit_head", layers, D, D, cfg.vocab_size, past_len, past_size, new_size, gen)
        if recycles:
            f[RECYCLE_IN] = 3 * torch.randn(len(past_len), new_size, D, generator=gen)
        return f

    path = model_dir / "exit_head.onnx"
    export_graph(graph, "exit_head", layers, feeds([5, 2], 5, 3, torch.Generator().manual_seed(0)), path, weights_dtype,
                 recycle=recycles)
    if parity:
        with tempfile.TemporaryDirectory() as ref:
            _write_parity(graph, path, inputs, outputs, feeds, PARITY_CASES, PARITY_TOLERANCE, Path(ref))
            print(run_parity(Path(ref)).replace(ref, str(path)), end="")
    entry = {"file": path.name, "sha256": sha256(path), "cache_layers": layers, "kv_dim": D, "hidden_dim": D,
             **({"recycle": True} if recycles else {}), "inputs": inputs, "outputs": outputs}
    manifest["graphs"]["exit_head"] = entry
    if isinstance(manifest.get("training"), dict):
        manifest["training"]["exit_head"] = training
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return entry


def _write_parity(graph, path, inputs, outputs, feeds, cases, tolerance, ref: Path, seed: int = 1) -> None:
    """check_parity.mjs's cases (export.write_parity_cases's format) of one graph."""
    gen = torch.Generator().manual_seed(seed)
    index = {"tolerance": tolerance, "data": "tensors.bin", "cases": []}
    data = bytearray()
    for case, (past_len, past_size, new_size) in cases.items():
        f = feeds(past_len, past_size, new_size, gen)
        with torch.no_grad():
            outs = graph(*(f[n] for n in inputs))
        entry = {"role": "exit_head", "case": case, "graph": os.path.relpath(path, ref), "inputs": {}, "outputs": {},
                 "input_names": inputs, "output_names": outputs}
        add_tensors(entry, data, f, dict(zip(outputs, outs)))
        index["cases"].append(entry)
    (ref / "tensors.bin").write_bytes(bytes(data))
    (ref / "index.json").write_text(json.dumps(index) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("voice", type=Path, help="the voice folder (its exit_head entry is replaced)")
    ap.add_argument("--ckpt", type=Path, required=True, help="a checkpoint of train_t2s/recycle_exit.py (with or without recycling)")
    ap.add_argument("--weights", choices=("float32", "float16"), default="float16", help="how the graph stores its weights")
    ap.add_argument("--no-int8", dest="int8", action="store_false", help="leave the entry on the float graph")
    args = ap.parse_args(argv)
    from ..train_t2s.recycle_exit import target_from_voice
    from ..training import load_checkpoint
    ckpt = load_checkpoint(args.ckpt)
    target = target_from_voice(args.voice)
    target.exit_blocks.load_state_dict(ckpt["exit_blocks"])
    target.exit_norm.load_state_dict(ckpt["exit_norm"])
    recycle = None
    if ckpt["recycle"] is not None:
        recycle = ExitRecycle(target.cfg)
        recycle.load_state_dict(ckpt["recycle"])
    entry = add_exit_head(args.voice, target, recycle, {"kind": "recycle_exit", "config": ckpt["train_config"],
                                                        **ckpt.get("summary", {})}, weights_dtype=args.weights)
    print(f"{args.voice / entry['file']}: exit head {'with' if recycle else 'without'} recycling, sha256 {entry['sha256'][:12]}…")
    if args.int8:
        from .quantize import quantize_voice
        quantize_voice(args.voice, ("exit_head",))


if __name__ == "__main__":
    main()
