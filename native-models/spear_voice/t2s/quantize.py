"""Int8 weights for the drafter graphs (draft, eagle, exit_head, medusa, seed_prophet).

A drafter only proposes tokens; the target verifies every one of them, so a drafter's precision can
change how often drafts are accepted but never what is emitted (greedy stays exact, sampling keeps the
target's distribution). At this model size a drafter call is bound by reading its weights
(docs/results.md: c tracks file size), so int8 weights make it cheaper. The target graphs (full,
trunk, rest) stay float32: they define the output.

Scheme: every MatMul whose second input is a constant 2-D weight W (K, N) becomes ONNX Runtime's
com.microsoft DynamicQuantizeMatMul: W stored as int8 with one symmetric scale per output column
(scale_n = max_k |W[k, n]| / 127, zero point 0), the activation quantised to uint8 per call. The
float32 graph the export parity-checked stays beside it; the manifest entry names it under "source".
One scale for a call's activations makes a row's drafts depend on the other rows of its call, so the
entry says "row_invariant": false: a sampling decode calls the graph one row at a time, and a row
decodes the same in any batch (docs/model-contract.md).

    quantize_voice(Path("native-models/voice"))     # rewrites manifest.json; idempotent
    python3 -m spear_voice.t2s.quantize native-models/voice [--roles draft,eagle]
"""

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .chain import chain_voice
from .contract import CHAINED_DRAFTERS
from .export import sha256
from .simplify import prune_unused

DRAFTER_ROLES = ("exit_head", "draft", "eagle", "medusa", "seed_prophet")
SCHEME = "int8 weights, one symmetric scale per output column; uint8 activations per call (com.microsoft DynamicQuantizeMatMul)"
MS_DOMAIN = "com.microsoft"


def _constant_weight(name: str, producers: dict, initializers: dict):
    """The float32 value of a MatMul input that is an initializer, or a Cast of one (the float16
    storage of export._store_float16); None for a computed input."""
    if name in initializers:
        return numpy_helper.to_array(initializers[name]).astype(np.float32)
    node = producers.get(name)
    if node is not None and node.op_type == "Cast" and node.input[0] in initializers:
        return numpy_helper.to_array(initializers[node.input[0]]).astype(np.float32)
    return None


def quantize_weights(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, N) float32 → (int8 (K, N), float32 scale (N,)) with weight ≈ q * scale per column."""
    scale = np.abs(weight).max(axis=0) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)  # an all-zero column: any scale is exact
    q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
    return q, scale


def fold_token_projection(model: onnx.ModelProto) -> bool:
    """MatMul(Concat(x, Gather(E, ids)), W) → MatMul(x, W_x) + Gather(E @ W_e, ids), in place.

    EAGLE's input projection reads [target hidden state, token embedding] concatenated. Quantising
    that concatenation per call gives both halves one scale, and the hidden state's range drowns the
    embedding: measured on the shipped voice, drafts accepted fell from 55.8 % to 53.6 % (eagle γ 3,
    bench texts). Folded, the token half is an exact float32 table lookup and only x is quantised.
    Returns whether the pattern was found."""
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producers = {out: n for n in graph.node for out in n.output}
    readers: dict = {}
    for n in graph.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[0] not in producers:
            continue
        concat = producers[node.input[0]]
        weight = _constant_weight(node.input[1], producers, initializers)
        axis = next((a.i for a in concat.attribute if a.name == "axis"), None)
        if concat.op_type != "Concat" or len(concat.input) != 2 or axis != -1 or weight is None or readers[concat.output[0]] != 1:
            continue
        gathers = [producers.get(i) for i in concat.input]
        slot = next((k for k, g in enumerate(gathers) if g is not None and g.op_type == "Gather"
                     and _constant_weight(g.input[0], producers, initializers) is not None and readers[g.output[0]] == 1), None)
        if slot is None:
            continue
        table = _constant_weight(gathers[slot].input[0], producers, initializers)  # (V, De)
        width = table.shape[1]
        w_token = weight[:width] if slot == 0 else weight[-width:]  # (De, N)
        w_other = weight[width:] if slot == 0 else weight[:-width]  # (Dx, N)
        base = node.input[1] + "__folded"
        graph.initializer.extend([numpy_helper.from_array((table @ w_token).astype(np.float32), base + "_token_table"),
                                  numpy_helper.from_array(w_other.astype(np.float32), base + "_other")])
        other_out, token_out = base + "_other_out", base + "_token_out"
        replacement = [helper.make_node("MatMul", [concat.input[1 - slot], base + "_other"], [other_out], name=node.name + "_other"),
                       helper.make_node("Gather", [base + "_token_table", gathers[slot].input[1]], [token_out], name=node.name + "_token"),
                       helper.make_node("Add", [other_out, token_out], list(node.output), name=node.name + "_sum")]
        nodes = [n for n in graph.node if n is not concat and n is not gathers[slot]]
        at = nodes.index(node)
        nodes[at:at + 1] = replacement
        del graph.node[:]
        graph.node.extend(nodes)
        return True
    return False


def quantize_model(model: onnx.ModelProto) -> int:
    """Rewrites `model` in place; returns how many MatMuls were quantised. Nodes and initializers left
    unused are dropped."""
    fold_token_projection(model)
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producers = {out: n for n in graph.node for out in n.output}
    nodes, added, count = [], [], 0
    for node in graph.node:
        weight = _constant_weight(node.input[1], producers, initializers) if node.op_type == "MatMul" else None
        if weight is None or weight.ndim != 2:
            nodes.append(node)
            continue
        q, scale = quantize_weights(weight)  # (K, N), (N,)
        base = node.input[1] + "__int8"
        added += [numpy_helper.from_array(q, base), numpy_helper.from_array(scale, base + "_scale"),
                  numpy_helper.from_array(np.zeros(q.shape[1], np.int8), base + "_zero_point")]
        nodes.append(helper.make_node("DynamicQuantizeMatMul", [node.input[0], base, base + "_scale", base + "_zero_point"],
                                      list(node.output), name=node.name + "_int8", domain=MS_DOMAIN))
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    prune_unused(graph)  # the float weights and their Casts
    if count and not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return count


def quantize_voice(model_dir: Path, roles=DRAFTER_ROLES) -> dict:
    """Writes <role>.int8.onnx for each drafter role of model_dir's manifest and points the manifest at
    it, recording the float32 graph as "source", and prints what it wrote. Rerunning starts again from
    the source, so it is idempotent. Returns {role: quantised MatMul count}."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    done = {}
    for role in roles:
        entry = manifest["graphs"].get(role)
        if entry is None:
            continue
        source = entry.get("source", {}).get("file", entry["file"])
        source_path = model_dir / source
        if sha256(source_path) != entry.get("source", {}).get("sha256", entry["sha256"]):
            raise ValueError(f"{source_path}: sha256 differs from {manifest_path}; re-export the model")
        model = onnx.load(str(source_path))
        done[role] = quantize_model(model)
        onnx.checker.check_model(model)
        out = model_dir / f"{role}.int8.onnx"
        tmp = out.with_suffix(".tmp")
        onnx.save(model, str(tmp))
        tmp.replace(out)
        entry["source"] = {"file": source, "sha256": sha256(source_path), "quantization": SCHEME}
        entry["row_invariant"] = False
        entry["file"] = out.name
        entry["sha256"] = sha256(out)
        print(f"{model_dir}/{out.name}: {done[role]} MatMuls with int8 weights")
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(manifest_path)
    rechain = tuple(d for d in CHAINED_DRAFTERS if d in done and d in manifest.get("chains", {}))
    if rechain:
        chain_voice(model_dir, drafters=rechain)  # the chains are built from the drafter graphs the manifest now names
    return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m spear_voice.t2s.quantize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="a folder with manifest.json (spear-t2s/2)")
    parser.add_argument("--roles", default=",".join(DRAFTER_ROLES), help="drafter roles to quantise (default: all)")
    args = parser.parse_args(argv)
    roles = [r for r in args.roles.split(",") if r]
    unknown = [r for r in roles if r not in DRAFTER_ROLES]
    if unknown:
        parser.error(f"--roles: {', '.join(unknown)} is not a drafter role ({', '.join(DRAFTER_ROLES)})")
    quantize_voice(args.model_dir, roles)


if __name__ == "__main__":
    main()
