"""Export a target (+ draft, + eagle) to the ONNX graphs and manifest of docs/model-contract.md,
then prove the export: PyTorch invariants first, then ONNX Runtime parity through check_parity.mjs.

    export_model(target, draft, eagle, out_dir, name="tiny-random", vocab={...}, training={...})
"""

import hashlib
import inspect
import json
import os
import subprocess
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn

from .contract import (HIDDEN_IN, INPUT_IDS, MANIFEST_FILE, MANIFEST_FORMAT, PAST_LEN, POSITIONS,
                       expected_names)
from .model import DraftModel, Eagle, TargetModel, default_positions, shift_features
from .simplify import simplify_model
from .. import REPO_ROOT, code_commit
OPSET = 17
PARITY_TOLERANCE = 1e-4  # max abs diff between PyTorch and ONNX Runtime, every output
INVARIANT_TOLERANCE = 1e-4  # two PyTorch paths that must agree; measured <= 9e-6 (bench, and after GPU training steps)


def _pairs(flat):  # (k0, v0, k1, v1, ...) → [(k0, v0), (k1, v1), ...]
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def _flatten(pairs):
    return tuple(t for kv in pairs for t in kv)


# ----------------------------------------------------------------------------------------------------
# One nn.Module per graph role: flat contract inputs in, flat contract outputs out, in contract order.


class FullGraph(nn.Module):
    def __init__(self, target: TargetModel):
        super().__init__()
        self.target = target

    def forward(self, input_ids, positions, past_len, *past):
        logits, feature, new = self.target.full(input_ids, positions, past_len, _pairs(past))
        return (logits, feature, *_flatten(new))


class TrunkGraph(FullGraph):
    def forward(self, input_ids, positions, past_len, *past):
        hidden, new = self.target.trunk(input_ids, positions, past_len, _pairs(past))
        return (hidden, *_flatten(new))


class RestGraph(FullGraph):
    def forward(self, hidden_in, positions, past_len, *past):
        logits, feature, new = self.target.rest(hidden_in, positions, past_len, _pairs(past))
        return (logits, feature, *_flatten(new))


class ExitHeadGraph(FullGraph):
    def forward(self, hidden_in, positions, past_len, *past):
        logits, new = self.target.exit_head(hidden_in, positions, past_len, _pairs(past))
        return (logits, *_flatten(new))


class DraftGraph(nn.Module):
    def __init__(self, draft: DraftModel):
        super().__init__()
        self.draft = draft

    def forward(self, input_ids, positions, past_len, *past):
        logits, new = self.draft(input_ids, positions, past_len, _pairs(past))
        return (logits, *_flatten(new))


class EagleGraph(nn.Module):
    def __init__(self, eagle: Eagle):
        super().__init__()
        self.eagle = eagle

    def forward(self, input_ids, hidden_in, positions, past_len, *past):
        logits, feature, new = self.eagle(input_ids, hidden_in, positions, past_len, _pairs(past))
        return (logits, feature, *_flatten(new))


def role_graphs(target: TargetModel, draft: DraftModel, eagle: Eagle) -> dict:
    """role → (graph module, cache layers, kv_dim, hidden_dim). hidden_dim is the graph's residual width:
    the width of hidden_in/hidden_out where the graph has them (draft: its own width, for information)."""
    t, n = target.cfg, target.cfg.exit_layer
    return {
        "full": (FullGraph(target), t.n_layers, t.d_model, t.d_model),
        "trunk": (TrunkGraph(target), n, t.d_model, t.d_model),
        "rest": (RestGraph(target), t.n_layers - n, t.d_model, t.d_model),
        "exit_head": (ExitHeadGraph(target), t.exit_blocks, t.d_model, t.d_model),
        "draft": (DraftGraph(draft), draft.cfg.n_layers, draft.cfg.d_model, draft.cfg.d_model),
        "eagle": (EagleGraph(eagle), eagle.cfg.n_layers, eagle.cfg.d_model, eagle.feature_dim),
    }


# ----------------------------------------------------------------------------------------------------
# Inputs


def make_inputs(role: str, cache_layers: int, kv_dim: int, hidden_dim: int, vocab_size: int,
                past_len: list[int], past_size: int, new_size: int, gen: torch.Generator) -> dict:
    """Contract inputs by name. The whole past tensor is random, so slots at or past past_len[b] hold
    garbage that the graph must ignore; positions continue each row's valid prefix."""
    B = len(past_len)
    past_len_t = torch.tensor(past_len, dtype=torch.long)
    feeds = {}
    for name in expected_names(role, cache_layers)[0]:
        if name == INPUT_IDS:
            feeds[name] = torch.randint(0, vocab_size, (B, new_size), generator=gen)
        elif name == HIDDEN_IN:
            feeds[name] = torch.randn(B, new_size, hidden_dim, generator=gen)
        elif name == POSITIONS:
            feeds[name] = past_len_t[:, None] + torch.arange(new_size)[None, :]
        elif name == PAST_LEN:
            feeds[name] = past_len_t
        else:
            feeds[name] = torch.randn(B, past_size, kv_dim, generator=gen)
    return feeds


# ----------------------------------------------------------------------------------------------------
# ONNX


def export_graph(graph: nn.Module, role: str, cache_layers: int, example: dict, path: Path,
                 weights_dtype: str = "float32", recycle: bool = False) -> None:
    input_names, output_names = expected_names(role, cache_layers, recycle)
    dynamic_axes = {}
    for name in input_names:
        if name == PAST_LEN:
            dynamic_axes[name] = {0: "B"}
        elif name.startswith("past_"):
            dynamic_axes[name] = {0: "B", 1: "P"}
        else:
            dynamic_axes[name] = {0: "B", 1: "T"}
    for name in output_names:
        dynamic_axes[name] = {0: "B", 1: "T"}
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # NOTE: torch >= 2.9 defaults to the dynamo exporter; keep TorchScript's
    with torch.no_grad():
        torch.onnx.export(graph, tuple(example[n] for n in input_names), str(path), input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, opset_version=OPSET,
                          do_constant_folding=True, **kwargs)
    model = onnx.load(str(path))
    _restore_unused_inputs(model, input_names, example)
    simplify_model(model)  # fold the tracer's shape arithmetic; the parity check below covers it
    if weights_dtype == "float16":
        _store_float16(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    got_in = [i.name for i in model.graph.input]
    got_out = [o.name for o in model.graph.output]
    if got_in != input_names or got_out != output_names:
        raise RuntimeError(f"{path}: names differ from the contract:\n  inputs  {got_in}\n  expected {input_names}"
                           f"\n  outputs {got_out}\n  expected {output_names}")


def _restore_unused_inputs(model: onnx.ModelProto, input_names: list[str], example: dict) -> None:
    """NOTE: the TorchScript exporter drops graph inputs nothing reads (exit_head with 0 blocks reads
    neither positions nor past_len). The contract still names them, so put them back, in order."""
    present = {i.name: i for i in model.graph.input}
    if list(present) == input_names:
        return
    elem = {torch.int64: onnx.TensorProto.INT64, torch.float32: onnx.TensorProto.FLOAT}
    dims = {PAST_LEN: ["B"], POSITIONS: ["B", "T"], INPUT_IDS: ["B", "T"], HIDDEN_IN: ["B", "T", None]}
    rebuilt = []
    for name in input_names:
        if name in present:
            rebuilt.append(present[name])
            continue
        shape = [d if d is not None else example[name].shape[i] for i, d in enumerate(dims[name])]
        rebuilt.append(onnx.helper.make_tensor_value_info(name, elem[example[name].dtype], shape))
    del model.graph.input[:]
    model.graph.input.extend(rebuilt)


def _store_float16(model: onnx.ModelProto, min_elements: int = 1024) -> None:
    """Store each float32 initializer whose every value survives a float16 round trip as float16 behind a
    Cast back to float32. The graph computes exactly what it did (the caller rounds the weights to float16
    first), ONNX Runtime folds the Casts when it loads the graph, and the file is half the size. Anything
    else (RoPE frequencies folded into constants, small tensors) stays float32."""
    from onnx import numpy_helper
    casts, kept = [], []
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and np.prod(init.dims) >= min_elements:
            value = numpy_helper.to_array(init)
            half = value.astype(np.float16)
            if np.array_equal(half.astype(np.float32), value):
                kept.append(numpy_helper.from_array(half, init.name + "__f16"))
                casts.append(onnx.helper.make_node("Cast", [init.name + "__f16"], [init.name], to=onnx.TensorProto.FLOAT))
                continue
        kept.append(init)
    nodes = list(model.graph.node)
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    del model.graph.node[:]
    model.graph.node.extend(casts + nodes)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_code_commit() -> str:
    """The last commit of the model code, marked -dirty if that code has uncommitted changes. Not HEAD:
    other work moves HEAD, and a re-export of the same code should give a byte-identical manifest."""
    return code_commit("native-models/spear_voice/t2s", "native-models/spear_voice/fixtures.py")


# ----------------------------------------------------------------------------------------------------
# Checks


def check_invariants(target: TargetModel, draft: DraftModel, eagle: Eagle, seed: int = 0) -> dict:
    """PyTorch-side proofs the ONNX parity cannot give: full == trunk→rest; cached == uncached (split a
    sequence into chunks, garbage past the valid prefix); garbage in the past does not matter."""
    gen = torch.Generator().manual_seed(seed)
    V = target.cfg.vocab_size
    B, T, split = 3, 12, [5, 3, 4]
    ids = torch.randint(0, V, (B, T), generator=gen)
    report = {}
    with torch.no_grad():
        positions, past_len = default_positions(ids)
        logits, exit_logits, feature = target(ids)
        hidden, trunk_kv = target.trunk(ids, positions, past_len)
        rest_logits, rest_feature, rest_kv = target.rest(hidden, positions, past_len)
        full_logits, full_feature, full_kv = target.full(ids, positions, past_len)
        report["full_vs_trunk_rest"] = max(_maxdiff(full_logits, rest_logits), _maxdiff(full_feature, rest_feature),
                                           *(_maxdiff(a, b) for a, b in zip(_flatten(full_kv), _flatten(trunk_kv + rest_kv))))
        report["forward_vs_full"] = _maxdiff(logits, full_logits)

        prev = shift_features(feature)
        whole = {"full": (full_logits, full_feature), "exit_head": (exit_logits,), "draft": draft(ids)[:1],
                 "eagle": eagle(ids, prev)[:2]}
        for role, expected in whole.items():
            report[f"cached_vs_uncached_{role}"] = _incremental_diff(role, target, draft, eagle, ids, hidden, prev,
                                                                     split, expected, gen)
    worst = max(report.values())
    if worst > INVARIANT_TOLERANCE:
        raise RuntimeError(f"PyTorch invariants fail (tolerance {INVARIANT_TOLERANCE}): {report}")
    return report


def _call(role, target, draft, eagle, ids, hidden, prev, positions, past_len, past):
    """One cached call of `role` → (tuple of outputs to compare, new cache)."""
    if role == "full":
        logits, feature, new = target.full(ids, positions, past_len, past)
        return (logits, feature), new
    if role == "draft":
        logits, new = draft(ids, positions, past_len, past)
        return (logits,), new
    if role == "eagle":
        logits, feature, new = eagle(ids, prev, positions, past_len, past)
        return (logits, feature), new
    logits, new = target.exit_head(hidden, positions, past_len, past)
    return (logits,), new


def _incremental_diff(role, target, draft, eagle, ids, hidden, prev, split, whole, gen) -> float:
    """Feed the sequence in chunks of `split`, growing a cache padded with garbage; compare to `whole`."""
    B = ids.shape[0]
    cache, chunks, start = None, [], 0
    for size in split:
        sl = slice(start, start + size)
        positions = torch.arange(start, start + size)[None, :].expand(B, size)
        past_len = torch.full((B,), start, dtype=torch.long)
        past = None
        if cache is not None:  # valid prefix + 2 slots of garbage, as after rejected drafts
            past = [tuple(torch.cat([t, 50 * torch.randn(B, 2, t.shape[-1], generator=gen)], 1) for t in kv)
                    for kv in cache]
        outs, new = _call(role, target, draft, eagle, ids[:, sl], hidden[:, sl], prev[:, sl], positions, past_len,
                          past)
        cache = new if cache is None else [tuple(torch.cat([c[j], n[j]], 1) for j in range(2)) for c, n in zip(cache, new)]
        chunks.append(outs)
        start += size
    return max(_maxdiff(torch.cat([c[i] for c in chunks], 1), whole[i]) for i in range(len(whole)))


def _maxdiff(a, b) -> float:
    return float((a - b).abs().max()) if a.numel() else 0.0


# ----------------------------------------------------------------------------------------------------
# Reference cases for ONNX Runtime parity

PARITY_CASES = {  # name → (past_len per row, past capacity P, new tokens T)
    "mixed": ([6, 3, 0], 6, 3),  # rows at different lengths, garbage past their prefix, T > 1
    "empty": ([0, 0], 0, 4),  # P = 0: the prompt call
    "step": ([5], 9, 1),  # one decode step with spare capacity
}


def add_tensors(entry: dict, data: bytearray, inputs: dict, outputs: dict) -> None:
    """Appends a parity case's tensors to `data` as raw little-endian int64/float32 and records each one's
    offset, dtype and shape under entry["inputs"] and entry["outputs"] (check_parity.mjs reads them)."""
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for name, t in tensors.items():
            arr = t.detach().numpy()
            arr = arr.astype("<i8" if arr.dtype == np.int64 else "<f4")
            entry[kind][name] = {"offset": len(data), "dtype": "int64" if arr.dtype.kind == "i" else "float32",
                                 "shape": list(arr.shape)}
            data += arr.tobytes()  # every tensor is 4- or 8-byte elements; keep offsets 8-aligned
            data += bytes(-len(data) % 8)


def write_parity_cases(graphs: dict, vocab_size: int, model_dir: Path, ref_dir: Path, seed: int = 1) -> Path:
    """Run every role graph in PyTorch on the PARITY_CASES and write inputs and outputs as raw
    little-endian float32/int64 into one tensors.bin, described (offset, dtype, shape) by index.json,
    for check_parity.mjs."""
    ref_dir.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    index = {"tolerance": PARITY_TOLERANCE, "data": "tensors.bin", "cases": []}
    data = bytearray()
    for role, (graph, cache_layers, kv_dim, hidden_dim) in graphs.items():
        input_names, output_names = expected_names(role, cache_layers)
        for case, (past_len, past_size, new_size) in PARITY_CASES.items():
            feeds = make_inputs(role, cache_layers, kv_dim, hidden_dim, vocab_size, past_len, past_size, new_size, gen)
            with torch.no_grad():
                outs = graph(*(feeds[n] for n in input_names))
            entry = {"role": role, "case": case,
                     "graph": os.path.relpath(model_dir / f"{role}.onnx", ref_dir),
                     "inputs": {}, "outputs": {}, "input_names": input_names, "output_names": output_names}
            add_tensors(entry, data, feeds, dict(zip(output_names, outs)))
            index["cases"].append(entry)
    (ref_dir / "tensors.bin").write_bytes(bytes(data))
    (ref_dir / "index.json").write_text(json.dumps(index, separators=(",", ":")) + "\n")
    return ref_dir


def run_parity(ref_dir: Path) -> str:
    """node native-models/tools/check_parity.mjs ref_dir; raises if any output differs by more than the tolerance."""
    result = subprocess.run(["node", str(REPO_ROOT / "native-models" / "tools" / "check_parity.mjs"), str(ref_dir)],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ONNX Runtime parity failed for {ref_dir}:\n{result.stdout}{result.stderr}")
    return result.stdout


# ----------------------------------------------------------------------------------------------------
# The whole export


def export_model(target: TargetModel, draft: DraftModel, eagle: Eagle, out_dir: Path, *, name: str,
                 vocab: dict, stop_token: int, training: dict, parity_dir: Path | None = None,
                 check_parity: bool = True, weights_dtype: str = "float32", extra: dict | None = None) -> dict:
    """Write the six role graphs + manifest.json into out_dir; prove them. Returns the manifest.

    vocab: {"size", "special": {pad, bos, sep, eos}, optional "phonemes"/"units"} as in the contract.
    training: the training (or random-init) config, recorded verbatim with the model configs.
    parity_dir: where reference cases go (default out_dir/parity).
    weights_dtype: "float16" stores weights as float16 (half the files); round the models' weights to
    float16 first (model.half().float()) or the weights stay float32.
    extra: more top-level manifest keys (a voice's "voice" section)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for model in (target, draft, eagle):
        model.eval()
    assert vocab["size"] == target.cfg.vocab_size == draft.cfg.vocab_size == eagle.cfg.vocab_size
    assert eagle.feature_dim == target.cfg.d_model, "EAGLE reads and predicts target features"
    invariants = check_invariants(target, draft, eagle)

    graphs = role_graphs(target, draft, eagle)
    gen = torch.Generator().manual_seed(0)
    entries = {}
    for role in graphs:
        graph, cache_layers, kv_dim, hidden_dim = graphs[role]
        # Distinct B, T, P so no dynamic axis can be mistaken for another while tracing.
        example = make_inputs(role, cache_layers, kv_dim, hidden_dim, target.cfg.vocab_size, [5, 2], 5, 3, gen)
        path = out_dir / f"{role}.onnx"
        export_graph(graph, role, cache_layers, example, path, weights_dtype)
        inputs, outputs = expected_names(role, cache_layers)
        entries[role] = {"file": path.name, "sha256": sha256(path), "cache_layers": cache_layers, "kv_dim": kv_dim,
                         "hidden_dim": hidden_dim, "inputs": inputs, "outputs": outputs}

    t = target.cfg
    manifest = {
        "format": MANIFEST_FORMAT, "name": name, "context": t.context, "d_model": t.d_model, "n_heads": t.n_heads,
        "head_dim": t.head_dim, "n_layers": t.n_layers, "exit_layer": t.exit_layer, "exit_blocks": t.exit_blocks,
        "vocab": vocab, "stop_token": stop_token, "graphs": entries,
        "training": {**training, "target": asdict(t), "draft": asdict(draft.cfg), "eagle": asdict(eagle.cfg)},
        **(extra or {}),
        "code_commit": model_code_commit(),
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")

    ref_dir = write_parity_cases(graphs, t.vocab_size, out_dir, Path(parity_dir or out_dir / "parity"))
    print(f"{out_dir}: PyTorch invariants (max abs diff): " + ", ".join(f"{k} {v:.2e}" for k, v in invariants.items()))
    if check_parity:
        print(run_parity(ref_dir), end="")
    return manifest
