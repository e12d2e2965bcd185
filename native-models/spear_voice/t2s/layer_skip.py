"""The target with some of its sublayers skipped, as its own drafter (Draft & Verify, Zhang et al. 2023).

A plan names, per block of the target, whether its attention and its MLP run. The drafter embeds with the
target's embedding, runs the kept sublayers in order (each a residual branch: x + attn(norm(x)), x +
mlp(norm(x))), and ends in the target's final norm and head. A block whose attention is skipped needs no
cache, so the drafter's cache layers are the blocks that attend; the drafter fills them itself, from its
own residual stream, like the separate draft model (the target's cache holds other values there).

A plan is written as one character per block, from the first block on:

    F  the whole block runs          a  attention only (its MLP skipped)
    m  MLP only (attention skipped)  -  the block is skipped

so "FFa-mF" skips block 3, block 2's MLP and block 4's attention. At least one attention must run.

The graph is the `layer_skip` role of docs/model-contract.md (input_ids → logits, "bnsh" cache), built by
the fused builder (t2s/fused.py) from the weights of the voice's exported `full` graph, and proved against
this module's PyTorch model (ONNX Runtime parity through tools/check_parity.mjs) before it is written:

    cd native-models
    /usr/bin/python3 -m spear_voice.t2s.layer_skip voice --plan FFFF-F      # adds layer_skip.onnx to voice/manifest.json
    /usr/bin/python3 -m spear_voice.t2s.layer_skip_search --voice voice     # which plan (t2s/layer_skip_search.py)
"""

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch
import torch.nn as nn

from .contract import MANIFEST_FILE, expected_names
from .export import FullGraph, run_parity, sha256, write_parity_cases
from .fused import POSITION_MARGIN, GraphReader, build, read_target
from .model import TargetConfig, TargetModel, attention_mask, default_positions, rotary

ROLE = "layer_skip"
FILE = "layer_skip.onnx"
CONSTRUCTION = ("spear_voice.t2s.layer_skip: the blocks of `source` that `skip` keeps, in the fused operators of "
                "spear_voice.t2s.fused, with the target's embedding, final norm and head")


@dataclass(frozen=True)
class SkipPlan:
    attention: tuple[bool, ...]  # per block: does its attention run
    mlp: tuple[bool, ...]  # per block: does its MLP run

    @classmethod
    def parse(cls, label: str) -> "SkipPlan":
        """"FFa-mF" (module docstring) → a plan; raises ValueError naming what is wrong."""
        bad = sorted(set(label) - set("Fam-"))
        if bad or not label:
            raise ValueError(f"plan {label!r}: one character per block, each F, a, m or - (got {''.join(bad) or 'nothing'})")
        plan = cls(tuple(c in "Fa" for c in label), tuple(c in "Fm" for c in label))
        if not any(plan.attention):
            raise ValueError(f"plan {label!r} runs no attention: the drafter would not read its context")
        return plan

    @classmethod
    def skipping(cls, n_layers: int, blocks=(), attention=(), mlp=()) -> "SkipPlan":
        """Every block runs but `blocks` (skipped whole) and the sublayers listed in `attention` and `mlp`."""
        return cls(tuple(i not in blocks and i not in attention for i in range(n_layers)),
                   tuple(i not in blocks and i not in mlp for i in range(n_layers)))

    @property
    def label(self) -> str:
        return "".join("F" if a and m else "a" if a else "m" if m else "-" for a, m in zip(self.attention, self.mlp))

    @property
    def n_layers(self) -> int:
        return len(self.attention)

    @property
    def attending(self) -> list[int]:
        """The blocks whose attention runs: cache layer c is the c-th of them."""
        return [i for i, a in enumerate(self.attention) if a]

    def skipped(self) -> dict:
        """The manifest's "skip": the blocks whose attention, and whose MLP, the drafter skips."""
        return {"attention": [i for i, a in enumerate(self.attention) if not a], "mlp": [i for i, m in enumerate(self.mlp) if not m]}


class LayerSkipModel(nn.Module):
    """The target's kept sublayers, one entry point for training-style (P = 0) and cached calls, as every
    stack of blocks in t2s/model.py: ids (B, T) at explicit positions → logits (B, T, V), new cache."""

    def __init__(self, target: TargetModel, plan: SkipPlan):
        super().__init__()
        assert plan.n_layers == target.cfg.n_layers, f"plan {plan.label} has {plan.n_layers} blocks, the target {target.cfg.n_layers}"
        self.target, self.plan = target, plan

    def forward(self, ids, positions=None, past_len=None, past=None):
        cfg = self.target.cfg
        if positions is None:
            positions, past_len = default_positions(ids)
        x = self.target.embed(ids)  # (B, T, D)
        if past is None:
            empty = x.new_zeros(x.shape[0], 0, cfg.d_model)  # (B, 0, H*Dh)
            past = [(empty, empty)] * len(self.plan.attending)
        cos, sin = rotary(positions, cfg.head_dim, cfg.rope_base)
        mask = attention_mask(past_len, past[0][0].shape[1], x.shape[1])  # (B, T, P+T)
        new = []
        for i, block in enumerate(self.target.blocks):
            if self.plan.attention[i]:
                a, k, v = block.attn(block.attn_norm(x), cos, sin, mask, past[len(new)])
                x = x + a
                new.append((k, v))
            if self.plan.mlp[i]:
                x = x + block.mlp(block.mlp_norm(x))
        return self.target.lm_head(self.target.norm(x)), new


class LayerSkipGraph(nn.Module):
    """Flat contract inputs → flat contract outputs (logits, new_key_0, new_value_0, ...), for parity cases."""

    def __init__(self, model: LayerSkipModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids, positions, past_len, *past):
        logits, new = self.model(input_ids, positions, past_len, [(past[i], past[i + 1]) for i in range(0, len(past), 2)])
        return (logits, *(t for kv in new for t in kv))


# ----------------------------------------------------------------------------------------------------
# The target, from a voice folder


def full_source(voice: Path, manifest: dict) -> Path:
    """The exported `full` graph: the entry's `source` where the shipped graph is derived (fused), else its file."""
    entry = manifest["graphs"]["full"]
    return voice / entry.get("source", entry)["file"]


def target_from_voice(voice: Path) -> TargetModel:
    """The target decoder rebuilt in PyTorch from the weights of the voice's exported `full` graph (found by
    the exporter's node names, as t2s/fused.py finds them), so no training checkpoint is needed. Weights
    stored as float16 come back exactly. The exit head is not in `full` and is left out (exit_blocks 0)."""
    manifest = json.loads((voice / MANIFEST_FILE).read_text())
    path = full_source(voice, manifest)
    r = GraphReader(onnx.load(str(path)))
    L, H = manifest["n_layers"], manifest["n_heads"]
    embed = r.weight("/embed/Gather")
    V, D = embed.shape
    trained = manifest.get("training", {}).get("target", {})
    cfg = TargetConfig(vocab_size=V, context=manifest["context"], d_model=D, n_heads=H, n_layers=L,
                       mlp_hidden=r.weight("/blocks.0/mlp/w_down/MatMul").shape[0],
                       rope_base=trained.get("rope_base", TargetConfig.rope_base),
                       norm_eps=float(r.const(r.node("/blocks.0/attn_norm/Add").input[1])),
                       exit_layer=min(manifest["exit_layer"], L - 1), exit_blocks=0)
    target = TargetModel(cfg)
    f32 = lambda a: torch.from_numpy(a.astype("float32"))  # noqa: E731
    with torch.no_grad():
        target.embed.weight.copy_(f32(embed))
        for i, block in enumerate(target.blocks):
            p = f"/blocks.{i}"
            for k in "qkvo":  # the graph's MatMul weights are the Linear weights transposed
                getattr(block.attn, f"w{k}").weight.copy_(f32(r.weight(f"{p}/attn/w{k}/MatMul")).T)
            for k in ("gate", "up", "down"):
                getattr(block.mlp, f"w_{k}").weight.copy_(f32(r.weight(f"{p}/mlp/w_{k}/MatMul")).T)
            block.attn_norm.weight.copy_(f32(r.weight(f"{p}/attn_norm/Mul_1")))
            block.mlp_norm.weight.copy_(f32(r.weight(f"{p}/mlp_norm/Mul_1")))
        target.norm.weight.copy_(f32(r.weight("/norm/Mul_1")))
        target.lm_head.weight.copy_(f32(r.weight("/lm_head/MatMul")).T)
    inv_freq = r.const(r.node("/Mul").input[1]).reshape(-1)
    expected = cfg.rope_base ** (-torch.arange(0, cfg.head_dim, 2, dtype=torch.float32) / cfg.head_dim)
    if not torch.allclose(torch.from_numpy(inv_freq.astype("float32")), expected, rtol=1e-6):
        raise ValueError(f"{path}: its rotary frequencies are not those of rope_base {cfg.rope_base}")
    return target.eval()


# ----------------------------------------------------------------------------------------------------
# The graph, into a voice


def add_layer_skip(voice: Path, plan: SkipPlan, check_parity: bool = True) -> dict:
    """Writes voice/layer_skip.onnx for `plan` and its manifest entry (placed after `full`, whose layers it
    runs), after proving it (`prove`). Returns the entry."""
    voice = Path(voice)
    manifest_path = voice / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    L, H, D = manifest["n_layers"], manifest["n_heads"], manifest["d_model"]
    if plan.n_layers != L:
        raise ValueError(f"plan {plan.label} has {plan.n_layers} blocks; {manifest_path} has {L}")
    source = full_source(voice, manifest)
    max_positions = manifest["context"] + POSITION_MARGIN
    skipped = plan.skipped()
    graph = build(read_target(str(source), L, H), ROLE, range(L), None, H, max_positions,
                  skip_attention=set(skipped["attention"]), skip_mlp=set(skipped["mlp"]))
    onnx.save(graph, str(voice / FILE))
    cache_layers = len(plan.attending)
    inputs, outputs = expected_names(ROLE, cache_layers)
    if [i.name for i in graph.graph.input] != inputs or [o.name for o in graph.graph.output] != outputs:
        raise RuntimeError(f"{voice / FILE}: names differ from the contract's {ROLE} role")
    if check_parity:
        prove(voice, source, target_from_voice(voice), plan)
    entry = {
        "file": FILE, "sha256": sha256(voice / FILE), "cache_layers": cache_layers, "kv_dim": D, "hidden_dim": D,
        "kv_layout": "bnsh", "kv_heads": H, "max_positions": max_positions, "inputs": inputs, "outputs": outputs,
        "skip": skipped,
        "source": {"file": source.name, "sha256": sha256(source), "construction": CONSTRUCTION},
    }
    graphs = {}
    for role, e in manifest["graphs"].items():
        if role != ROLE:
            graphs[role] = e
        if role == "full":
            graphs[ROLE] = entry
    manifest["graphs"] = graphs
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{voice / FILE}: plan {plan.label}, {cache_layers} cache layers, {os.path.getsize(voice / FILE) / 2**20:.2f} MiB")
    return entry


def prove(voice: Path, source: Path, target: TargetModel, plan: SkipPlan) -> None:
    """ONNX Runtime parity on the export's reference cases (tools/check_parity.mjs; raises on a miss): the
    rebuilt target's `full` with the exported graph it was read from, and voice/layer_skip.onnx with
    LayerSkipModel, its cache relaid out to "bnsh"."""
    D, L = target.cfg.d_model, target.cfg.n_layers
    graphs = {"full": (FullGraph(target), L, D, D), ROLE: (LayerSkipGraph(LayerSkipModel(target, plan)), len(plan.attending), D, D)}
    with tempfile.TemporaryDirectory() as tmp:
        ref = write_parity_cases(graphs, target.cfg.vocab_size, voice, Path(tmp))
        index = json.loads((ref / "index.json").read_text())
        for case in index["cases"]:
            if case["role"] == "full":
                case["graph"] = os.path.relpath(source, ref)
            else:  # the fused graph reads and writes the (B, H, P, Dh) cache
                case["graph"] = os.path.relpath(voice / FILE, ref)
                case["kv_layout"], case["kv_heads"] = "bnsh", target.cfg.n_heads
        (ref / "index.json").write_text(json.dumps(index, separators=(",", ":")) + "\n")
        print(run_parity(ref), end="")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("voice", type=Path, help="a model folder with manifest.json and its exported full graph")
    ap.add_argument("--plan", required=True, help='one character per block: F, a (attention only), m (MLP only), - (skipped)')
    ap.add_argument("--no-parity", action="store_true", help="skip the ONNX Runtime parity check (it needs node)")
    args = ap.parse_args(argv)
    try:
        plan = SkipPlan.parse(args.plan)
    except ValueError as e:
        ap.error(str(e))
    add_layer_skip(args.voice, plan, check_parity=not args.no_parity)


if __name__ == "__main__":
    main()
