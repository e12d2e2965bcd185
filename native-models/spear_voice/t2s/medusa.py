"""Medusa heads (Cai et al. 2024, "Medusa: Simple LLM Inference Acceleration Framework with Multiple
Decoding Heads"), their ONNX graph and their manifest entry.

Head i (0-based) reads the target's final hidden state h_t (its `hidden_out`, the LM head's input) and
predicts the token at t + i + 2: the target's own head already gives t + 1. Each head is Medusa-1's
residual block and its own projection to the vocabulary:

    logits_i = U_i (h_t + SiLU(W_i h_t + b_i))

W_i starts at zero and U_i at the target's LM head (the paper's initialisation), so an untrained head
repeats the target's next-token guess. The target stays frozen; train_t2s/medusa.py trains the heads on
the target's own greedy readings.

The graph, role `medusa` (docs/model-contract.md): `hidden_in` (B, T, D) → `logits` (B, T, heads, V),
no cache; the manifest entry says how many heads it has ("heads").

    python3 -m spear_voice.t2s.medusa VOICE --ckpt RUN/medusa.pt      # export a trained checkpoint into a voice

A voice's entry then names `medusa.int8.onnx` (t2s/quantize.py: int8 weights, one scale per column), with the
float16-stored `medusa.onnx` it was made from as its source, as the other drafters have theirs.
"""

import argparse
import inspect
import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

from .. import REPO_ROOT
from .contract import HIDDEN_IN, LOGITS, MANIFEST_FILE, expected_names
from .export import OPSET, PARITY_TOLERANCE, _store_float16, sha256

ROLE = "medusa"


@dataclass
class MedusaConfig:
    d_model: int = 256  # D: width of the target's hidden state the heads read
    vocab_size: int = 1102  # V: the target's vocabulary
    heads: int = 4  # k: head i predicts the token at t + i + 2; gamma may not exceed it


class MedusaHeads(nn.Module):
    """k residual blocks, each with its own projection to the vocabulary, all reading one hidden state."""

    def __init__(self, cfg: MedusaConfig):
        super().__init__()
        self.cfg = cfg
        k, D, V = cfg.heads, cfg.d_model, cfg.vocab_size
        self.w = nn.Parameter(torch.zeros(k, D, D))  # W_i, (out, in) as nn.Linear stores it
        self.b = nn.Parameter(torch.zeros(k, D))  # b_i
        self.proj = nn.Parameter(torch.zeros(k, V, D))  # U_i

    @classmethod
    def from_lm_head(cls, lm_head: torch.Tensor, heads: int) -> "MedusaHeads":
        """Heads whose projections start as copies of the target's LM head (V, D); blocks at zero."""
        V, D = lm_head.shape
        model = cls(MedusaConfig(d_model=D, vocab_size=V, heads=heads))
        with torch.no_grad():
            model.proj.copy_(lm_head.float()[None].expand(heads, V, D))
        return model

    def forward(self, hidden):  # (B, T, D) → logits (B, T, k, V)
        # Heads first, (k, B, T, ·): each product is one batched MatMul broadcast over B, and the graph
        # needs no reshape of the dynamic axes.
        x = hidden[None]  # (1, B, T, D)
        y = x @ self.w.transpose(1, 2)[:, None]  # (k, B, T, D): W_i h
        h = x + F.silu(y + self.b[:, None, None])  # (k, B, T, D)
        logits = h @ self.proj.transpose(1, 2)[:, None]  # (k, B, T, V)
        return logits.permute(1, 2, 0, 3)  # (B, T, k, V)


def lm_head_of(graph_path: Path) -> torch.Tensor:
    """The target's LM head (V, D) read from an exported `full` graph: the constant second input of the
    MatMul that writes `logits` (stored as float16 behind a Cast in a voice, export._store_float16)."""
    model = onnx.load(str(graph_path))
    initializers = {i.name: i for i in model.graph.initializer}
    producers = {out: n for n in model.graph.node for out in n.output}
    node = producers.get(LOGITS)
    if node is None or node.op_type != "MatMul":
        raise ValueError(f"{graph_path}: `{LOGITS}` is not written by a MatMul; is this an exported full graph?")
    name = node.input[1]
    cast = producers.get(name)
    if cast is not None and cast.op_type == "Cast":
        name = cast.input[0]
    if name not in initializers:
        raise ValueError(f"{graph_path}: the LM head's weight `{name}` is not a constant")
    return torch.from_numpy(numpy_helper.to_array(initializers[name]).astype(np.float32)).t().contiguous()


# ----------------------------------------------------------------------------------------------------
# Export


class _Graph(nn.Module):
    """The heads as the graph computes them: each product a MatMul by one constant 2-D weight, which
    t2s/quantize.py can store as int8 (the batched form of MedusaHeads.forward broadcasts 4-D weights)."""

    def __init__(self, heads: MedusaHeads):
        super().__init__()
        k, D = heads.cfg.heads, heads.cfg.d_model
        with torch.no_grad():
            self.register_buffer("w", heads.w.reshape(k * D, D).t().contiguous())  # (D, k·D): every W_i at once
            self.register_buffer("b", heads.b.reshape(k * D).clone())  # (k·D,)
            for i in range(k):
                self.register_buffer(f"proj_{i}", heads.proj[i].t().contiguous())  # (D, V): U_i
        self.k, self.d = k, D

    def forward(self, hidden_in):  # (B, T, D) → (B, T, k, V)
        y = hidden_in @ self.w + self.b  # (B, T, k·D)
        logits = [(hidden_in + F.silu(y_i)) @ getattr(self, f"proj_{i}") for i, y_i in enumerate(y.split(self.d, dim=-1))]
        return torch.stack(logits, dim=2)


def export_graph(heads: MedusaHeads, path: Path, weights_dtype: str = "float32") -> None:
    """medusa.onnx: `hidden_in` (B, T, D) → `logits` (B, T, k, V), batch and time dynamic."""
    inputs, outputs = expected_names(ROLE, 0)
    example = torch.randn(2, 3, heads.cfg.d_model, generator=torch.Generator().manual_seed(0))
    kwargs = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    heads.eval()
    with torch.no_grad():
        torch.onnx.export(_Graph(heads), (example,), str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes={HIDDEN_IN: {0: "B", 1: "T"}, LOGITS: {0: "B", 1: "T"}},
                          opset_version=OPSET, do_constant_folding=True, **kwargs)
    model = onnx.load(str(path))
    # NOTE: not simplify_model: its folding assumes every reshaped tensor keeps the data's batch and time
    # as axes 0 and 1, and the heads' projection reshapes (B·T, k, V) into (B, T, k, V).
    if weights_dtype == "float16":
        _store_float16(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    names = ([i.name for i in model.graph.input], [o.name for o in model.graph.output])
    if names != (inputs, outputs):
        raise RuntimeError(f"{path}: names {names} differ from the contract's {(inputs, outputs)}")


def check_parity(heads: MedusaHeads, path: Path, seed: int = 1) -> str:
    """The graph against PyTorch in ONNX Runtime (node native-models/tools/check_parity.mjs), on cases
    with distinct batch and time sizes; raises past PARITY_TOLERANCE."""
    gen = torch.Generator().manual_seed(seed)
    inputs, outputs = expected_names(ROLE, 0)
    with tempfile.TemporaryDirectory() as ref:
        index = {"tolerance": PARITY_TOLERANCE, "data": "tensors.bin", "cases": []}
        data = bytearray()
        for case, (B, T) in {"rows": (3, 1), "positions": (1, 5), "both": (2, 4)}.items():
            hidden = 3 * torch.randn(B, T, heads.cfg.d_model, generator=gen)
            with torch.no_grad():
                logits = heads(hidden)
            entry = {"role": ROLE, "case": case, "graph": str(path.resolve()), "input_names": inputs,
                     "output_names": outputs, "inputs": {}, "outputs": {}}
            for kind, name, t in (("inputs", HIDDEN_IN, hidden), ("outputs", LOGITS, logits)):
                arr = t.numpy().astype("<f4")
                entry[kind][name] = {"offset": len(data), "dtype": "float32", "shape": list(arr.shape)}
                data += arr.tobytes()
            index["cases"].append(entry)
        (Path(ref) / "tensors.bin").write_bytes(bytes(data))
        (Path(ref) / "index.json").write_text(json.dumps(index) + "\n")
        result = subprocess.run(["node", str(REPO_ROOT / "native-models" / "tools" / "check_parity.mjs"), ref],
                                cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ONNX Runtime parity failed for {path}:\n{result.stdout}{result.stderr}")
    return result.stdout.replace(ref, str(path))


def add_medusa(model_dir: Path, heads: MedusaHeads, training: dict, weights_dtype: str = "float32",
               parity: bool = True) -> dict:
    """Writes `medusa.onnx` into a model folder, proves it in ONNX Runtime and adds its manifest entry
    (after the other graphs); returns the entry. `training` is recorded in the entry as it is."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    cfg = heads.cfg
    if (cfg.d_model, cfg.vocab_size) != (manifest["d_model"], manifest["vocab"]["size"]):
        raise ValueError(f"{model_dir}: heads of width {cfg.d_model} over {cfg.vocab_size} tokens do not fit "
                         f"a target of width {manifest['d_model']} over {manifest['vocab']['size']}")
    path = model_dir / f"{ROLE}.onnx"
    if weights_dtype == "float16":
        heads = rounded_to_half(heads)
    export_graph(heads, path, weights_dtype)
    if parity:
        print(check_parity(heads, path), end="")
    inputs, outputs = expected_names(ROLE, 0)
    entry = {"file": path.name, "sha256": sha256(path), "cache_layers": 0, "kv_dim": 0, "hidden_dim": cfg.d_model,
             "heads": cfg.heads, "inputs": inputs, "outputs": outputs}
    manifest["graphs"][ROLE] = entry
    if isinstance(manifest.get("training"), dict):
        manifest["training"][ROLE] = {"config": asdict(cfg), **training}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return entry


def rounded_to_half(heads: MedusaHeads) -> MedusaHeads:
    """A copy of `heads` with its weights rounded to float16 (what a float16-stored graph computes)."""
    copy = MedusaHeads(heads.cfg)
    with torch.no_grad():
        for p, q in zip(copy.parameters(), heads.parameters()):
            p.copy_(q.detach().half().float())
    return copy


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("voice", type=Path, help="the voice folder (its manifest gains the `medusa` entry)")
    ap.add_argument("--ckpt", type=Path, required=True, help="a checkpoint of train_t2s/medusa.py")
    ap.add_argument("--weights", choices=("float32", "float16"), default="float16", help="how the graph stores its weights")
    ap.add_argument("--no-int8", dest="int8", action="store_false", help="leave the entry on the float graph")
    args = ap.parse_args(argv)
    from ..training import float_weights, load_checkpoint
    ckpt = load_checkpoint(args.ckpt)
    heads = MedusaHeads(MedusaConfig(**ckpt["medusa_config"]))
    heads.load_state_dict(float_weights(ckpt["model"]))
    entry = add_medusa(args.voice, heads, ckpt.get("summary", {}), weights_dtype=args.weights)
    print(f"{args.voice / entry['file']}: {entry['heads']} heads, sha256 {entry['sha256'][:12]}…")
    if args.int8:
        from .quantize import quantize_voice
        quantize_voice(args.voice, (ROLE,))


if __name__ == "__main__":
    main()
