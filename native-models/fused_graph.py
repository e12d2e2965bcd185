"""Rebuild a voice's target graphs (`full`, `trunk`, `rest`) with ONNX Runtime's fused CPU operators.

The exported graphs (spear_t2s/export.py) spell every block out in plain ONNX: RMSNorm as Pow →
ReduceMean → Add → Sqrt → Div → Mul, RoPE as Slice/Neg/Concat, and attention as a Concat of the whole
past with the new keys, Transposes, a mask built from past_len, MatMul → Softmax → MatMul. At this
model size a call is dominated by those ~300 small nodes and by copying each row's past into and out of
ONNX Runtime (docs/engine.md). This script reads the weights of `full.onnx` and writes graphs that do
the same arithmetic in ~10 nodes per block:

    SimplifiedLayerNormalization / com.microsoft.SkipSimplifiedLayerNormalization   RMSNorm (+ residual add)
    MatMul (q|k|v packed into one weight)                                             q, k, v projections
    com.microsoft.GroupQueryAttention (do_rotary, rotate-half)                        RoPE, causal attention,
                                                                                      the cache written in place
    MatMul (gate|up packed) → Split → com.microsoft.QuickGelu(alpha=1) · up → MatMul  SwiGLU

The cache contract changes (the manifest says "kv_layout": "shared-buffer"): each cache layer is one
preallocated buffer per K and V laid out (B, H, P, Dh) with P the buffer's capacity; `past_key_i` and
`present_key_i` are bound to the same memory, and GroupQueryAttention writes the new tokens' keys at
positions seqlens_k[b] + 1 - T … seqlens_k[b] of row b and attends to positions 0 … seqlens_k[b] (the
past is not copied, nothing is concatenated). Positions are implied: new token t of row b sits at
seqlens_k[b] + 1 - T + t, which is where the engine's length puts it anyway. ONNX Runtime 1.30's CPU
kernel takes T > 1 only for one row or when every row starts at position 0 (a prompt); the engine runs
other multi-row, multi-token calls one row at a time.

`full` = `trunk` → `rest` node for node: at the exit layer `full` adds the residual with a plain Add and
normalises with SimplifiedLayerNormalization, as `rest` does on `hidden_in`, so early exit verifies with
the same arithmetic ar uses.

Weights are found by the exporter's node names (/blocks.{i}/attn/wq/MatMul, …), the RoPE frequencies
and the norm epsilon read from the graph's constants, float16-stored weights kept float16 (a Cast that
ONNX Runtime folds at load, as in full.onnx).

    /usr/bin/python3 native-models/fused_graph.py native-models/voice            # writes *.fused.onnx, updates manifest.json
    /usr/bin/python3 native-models/fused_graph.py tests/fixtures/tiny --out /tmp/x  # graphs + manifest.fused.json in /tmp/x
    /usr/bin/python3 native-models/fused_graph.py --probe /tmp/probe                # one tiny graph per operator (fused_cost.mjs --probe)

Parity with full.onnx is checked from node (Python has no onnxruntime here): `node native-models/fused_cost.mjs`.
"""

import argparse
import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
OPSET = 17
# Positions the RoPE table covers beyond the context: the engine's cache holds up to context + gamma + 1
# positions (gamma ≤ 64), and GroupQueryAttention reads its cos/sin table at every written position.
POSITION_MARGIN = 128
CONSTRUCTION = (
    "native-models/fused_graph.py: the weights of `source` in ONNX Runtime's fused CPU operators "
    "(SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization, GroupQueryAttention with do_rotary, "
    "QuickGelu); q|k|v and gate|up packed into one MatMul each; cache buffers (B, H, P, Dh) shared by past and present"
)


# ----------------------------------------------------------------------------------------------------
# Reading the exported graph


@dataclass
class Block:
    attn_norm: np.ndarray  # (D,) float32
    wqkv: np.ndarray  # (D, 3D): q | k | v, as stored (float16 or float32)
    wo: np.ndarray  # (D, D)
    mlp_norm: np.ndarray  # (D,)
    wgu: np.ndarray  # (D, 2F): gate | up
    wdown: np.ndarray  # (F, D)


@dataclass
class Target:
    embed: np.ndarray  # (V, D)
    blocks: list
    norm: np.ndarray  # (D,) final RMSNorm
    lm_head: np.ndarray  # (D, V)
    inv_freq: np.ndarray  # (Dh/2,) float32, the graph's own RoPE frequencies
    eps: float


class GraphReader:
    """Resolves tensor names of an exported graph to constant arrays (initializers, Constant nodes, and
    Casts of either, returned in their stored type)."""

    def __init__(self, model):
        g = model.graph
        self.init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        self.nodes = {n.name: n for n in g.node}
        self.producer = {o: n for n in g.node for o in n.output}

    def const(self, name):
        if name in self.init:
            return self.init[name]
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "Constant":
            return numpy_helper.to_array(node.attribute[0].t)
        if node.op_type == "Cast":  # float16 storage, cast to float32 at load: keep the stored array
            return self.const(node.input[0])
        if node.op_type == "Identity":  # the exporter's shared copies of equal initializers
            return self.const(node.input[0])
        return None

    def node(self, name):
        if name not in self.nodes:
            raise SystemExit(f"full.onnx has no node {name!r}: not a graph exported by spear_t2s/export.py")
        return self.nodes[name]

    def weight(self, node_name):
        node = self.node(node_name)
        for i in node.input:
            w = self.const(i)
            if w is not None and w.ndim >= 1:
                return w
        raise SystemExit(f"node {node_name!r} has no constant weight")


def read_target(path: str, n_layers: int) -> Target:
    r = GraphReader(onnx.load(path))
    blocks = []
    for i in range(n_layers):
        p = f"/blocks.{i}"
        w = {k: r.weight(f"{p}/attn/w{k}/MatMul") for k in "qkvo"}
        m = {k: r.weight(f"{p}/mlp/w_{k}/MatMul") for k in ("gate", "up", "down")}
        blocks.append(Block(
            attn_norm=r.weight(f"{p}/attn_norm/Mul_1").astype(np.float32),
            wqkv=np.concatenate([w["q"], w["k"], w["v"]], axis=1),
            wo=w["o"],
            mlp_norm=r.weight(f"{p}/mlp_norm/Mul_1").astype(np.float32),
            wgu=np.concatenate([m["gate"], m["up"]], axis=1),
            wdown=m["down"],
        ))
    eps = float(r.const(r.node("/blocks.0/attn_norm/Add").input[1]))
    inv_freq = r.const(r.node("/Mul").input[1]).reshape(-1).astype(np.float32)
    return Target(embed=r.weight("/embed/Gather"), blocks=blocks, norm=r.weight("/norm/Mul_1").astype(np.float32),
                  lm_head=r.weight("/lm_head/MatMul"), inv_freq=inv_freq, eps=eps)


# ----------------------------------------------------------------------------------------------------
# Building the fused graphs


class Builder:
    def __init__(self, float16_storage=True):
        self.float16_storage = float16_storage
        self.nodes, self.inits, self.count = [], [], 0
        self.stored = {}

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def weight(self, key, array):
        """A constant; float16 arrays are stored as float16 and cast once (ONNX Runtime folds it at load)."""
        if key in self.stored or array is None:
            return self.stored[key]
        if array.dtype == np.float16 and self.float16_storage:
            self.inits.append(numpy_helper.from_array(array, key + "__f16"))
            self.nodes.append(helper.make_node("Cast", [key + "__f16"], [key], to=TensorProto.FLOAT))
        else:
            self.inits.append(numpy_helper.from_array(array.astype(np.float32) if array.dtype.kind == "f" else array, key))
        self.stored[key] = key
        return key

    def matmul(self, x, key, array, outputs=None):
        """x @ W for a constant W (K, N); with int8 weights, DynamicQuantizeMatMul with one symmetric scale per column."""
        if os.environ.get("FUSED_INT8") == "1":
            w = array.astype(np.float32)
            scale = np.abs(w).max(axis=0) / 127.0
            scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
            q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
            self.inits += [numpy_helper.from_array(q, key + "_q"), numpy_helper.from_array(scale, key + "_scale")]
            return self.op("DynamicQuantizeMatMul", [x, key + "_q", key + "_scale"], domain=MS, outputs=outputs)
        return self.op("MatMul", [x, self.weight(key, array)], outputs=outputs)

    def op(self, op_type, inputs, n_out=1, domain="", outputs=None, **attrs):
        outs = outputs or [self.name(op_type) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("/" + op_type), domain=domain or None, **attrs))
        return outs if len(outs) > 1 else outs[0]


def rope_tables(inv_freq: np.ndarray, max_positions: int):
    """cos, sin (max_positions, Dh/2) of the float32 angle position · inv_freq, as the exported graph forms it."""
    angles = np.arange(max_positions, dtype=np.float32)[:, None] * inv_freq[None, :]  # (P, Dh/2) float32
    return np.cos(angles.astype(np.float64)).astype(np.float32), np.sin(angles.astype(np.float64)).astype(np.float32)


def build(t: Target, role: str, layers: range, exit_layer: int, n_heads: int, max_positions: int, kv: str = "bnsh"):
    """One fused graph over `layers` of the target. role: full (ids → logits, hidden), trunk (ids →
    residual after its last layer), rest (residual → logits, hidden).

    kv = "bnsh": the past is read from the engine's (B, H, P, Dh) buffers, RoPE is applied by
    RotaryEmbedding at the explicit `positions`, and the new tokens' keys and values are outputs
    (B, T, H·Dh), as in the exported contract; GroupQueryAttention copies the used past into its own
    present buffer. kv = "shared": past and present are one buffer (present_key_i bound to past_key_i),
    GroupQueryAttention rotates and writes the new keys in place; seqlens_k and total_sequence_length
    are inputs."""
    b = Builder(float16_storage=os.environ.get("FUSED_F32") != "1")
    D = t.embed.shape[1]
    Dh = D // n_heads
    F = t.blocks[0].wdown.shape[0]
    V = t.lm_head.shape[1]
    cos, sin = rope_tables(t.inv_freq, max_positions)
    b.inits += [numpy_helper.from_array(cos, "rope_cos"), numpy_helper.from_array(sin, "rope_sin")]
    split_ff = b.weight("split_ff", np.array([F, F], dtype=np.int64))
    split_qk_v = b.weight("split_qk_v", np.array([2 * D, D], dtype=np.int64))
    split_q_k = b.weight("split_q_k", np.array([D, D], dtype=np.int64))

    inputs = []
    if role in ("full", "trunk"):
        inputs.append(helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "T"]))
        x = b.op("Gather", [b.weight("embed", t.embed), "input_ids"])  # (B, T, D)
    else:
        inputs.append(helper.make_tensor_value_info("hidden_in", TensorProto.FLOAT, ["B", "T", D]))
        x = "hidden_in"
    if kv == "shared":
        inputs += [helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["B"]),
                   helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, [])]
        seqlens_k, total = "seqlens_k", "total_sequence_length"
    else:
        inputs += [helper.make_tensor_value_info("positions", TensorProto.INT64, ["B", "T"]),
                   helper.make_tensor_value_info("past_len", TensorProto.INT64, ["B"])]
        # GroupQueryAttention's lengths: row b holds past_len[b] + T positions after this call (right
        # padding sits after the real tokens), so seqlens_k = past_len + T - 1.
        T = b.op("Gather", [b.op("Shape", ["positions"]), b.weight("one", np.array(1, dtype=np.int64))], axis=0)
        last = b.op("Add", ["past_len", b.op("Sub", [T, b.weight("one", None)])])  # (B,) int64
        if kv == "bnsh":
            seqlens_k = b.op("Cast", [last], to=TensorProto.INT32)
            total = b.op("Cast", [b.op("Add", [b.op("ReduceMax", [last], keepdims=0), b.weight("one", None)])], to=TensorProto.INT32)
    if kv == "direct":
        # Additive masks, built once: cached position j of row b counts when j < past_len[b] (B, 1, 1, P);
        # new token t sees new tokens t' <= t (T, T).
        P = b.op("Gather", [b.op("Shape", ["past_key_0"]), b.weight("two", np.array(2, dtype=np.int64))], axis=0)
        j = b.op("Range", [b.weight("zero", np.array(0, dtype=np.int64)), P, b.weight("one", None)])
        valid = b.op("Less", [b.op("Unsqueeze", [j, b.weight("axes0", np.array([0], dtype=np.int64))]),
                              b.op("Unsqueeze", ["past_len", b.weight("axes1", np.array([1], dtype=np.int64))])])  # (B, P)
        neg = b.weight("neg_inf", np.array(-np.inf, dtype=np.float32))
        zero_f = b.weight("zero_f", np.array(0, dtype=np.float32))
        mask_past = b.op("Unsqueeze", [b.op("Where", [valid, zero_f, neg]), b.weight("axes12", np.array([1, 2], dtype=np.int64))])  # (B, 1, 1, P)
        TT = b.op("Concat", [b.op("Unsqueeze", [T, b.weight("axes0", None)])] * 2, axis=0)
        mask_new = b.op("Trilu", [b.op("Expand", [neg, TT]), b.weight("one", None)], upper=1)  # (T, T): -inf above the diagonal
        # One additive mask over [cached | new] keys: (B, 1, T, P + T).
        rows = b.op("Shape", ["past_len"])  # (1,): B
        one_1 = b.weight("one_1", np.array([1], dtype=np.int64))
        T1 = b.op("Unsqueeze", [T, b.weight("axes0", None)])
        P1 = b.op("Unsqueeze", [P, b.weight("axes0", None)])
        mask = b.op("Concat", [b.op("Expand", [mask_past, b.op("Concat", [rows, one_1, T1, P1], axis=0)]),
                               b.op("Expand", [b.op("Unsqueeze", [mask_new, b.weight("axes01", np.array([0, 1], dtype=np.int64))]),
                                               b.op("Concat", [rows, one_1, TT], axis=0)])], axis=-1)
        split_scores = b.op("Concat", [P1, T1], axis=0)
        heads4 = b.weight("heads4", np.array([0, 0, -1, Dh], dtype=np.int64))
        flat = b.weight("flat", np.array([0, 0, D], dtype=np.int64))
        split_2h = b.weight("split_2h", np.array([n_heads, n_heads], dtype=np.int64))
        query_scale = b.weight("query_scale", np.concatenate([np.full(D, 1.0 / np.sqrt(Dh)), np.ones(2 * D)]).astype(np.float32))
    outputs = []
    cache_shape = ["B", n_heads, "P", Dh]

    residual, pending = x, None  # pending: the last block's MLP output, not yet added to the residual
    for c, i in enumerate(layers):
        blk = t.blocks[i]
        inputs += [helper.make_tensor_value_info(f"past_key_{c}", TensorProto.FLOAT, cache_shape),
                   helper.make_tensor_value_info(f"past_value_{c}", TensorProto.FLOAT, cache_shape)]
        if pending is not None and i == exit_layer:
            # The exit boundary: a plain Add, then the norm rest applies to hidden_in.
            residual, pending = b.op("Add", [pending, residual]), None
        if pending is None:
            h = b.op("SimplifiedLayerNormalization", [residual, b.weight(f"attn_norm_{i}", blk.attn_norm)], axis=-1, epsilon=t.eps, stash_type=1)
        else:
            h, _, _, residual = b.op("SkipSimplifiedLayerNormalization", [pending, residual, b.weight(f"attn_norm_{i}", blk.attn_norm)],
                                     n_out=4, domain=MS, epsilon=t.eps)
        qkv = b.matmul(h, f"wqkv_{i}", blk.wqkv)  # (B, T, 3D)
        if kv == "direct":
            # q · 1/sqrt(Dh) here, so that attention multiplies with alpha = 1: MLAS then reads the cached
            # values in place at T = 1 (its M = 1 kernel) instead of packing them. RoPE is linear, so
            # scaling before it is the same; for Dh a power of 4 the factor is a power of 2 and exact.
            qkv = b.op("Mul", [qkv, query_scale])
        if kv == "shared":
            attn = b.op("GroupQueryAttention", [qkv, "", "", f"past_key_{c}", f"past_value_{c}", seqlens_k, total, "rope_cos", "rope_sin"],
                        domain=MS, outputs=[b.name("attn"), f"present_key_{c}", f"present_value_{c}"],
                        num_heads=n_heads, kv_num_heads=n_heads, do_rotary=1, rotary_interleaved=0)[0]  # (B, T, D)
            outputs += [helper.make_tensor_value_info(f"present_key_{c}", TensorProto.FLOAT, cache_shape),
                        helper.make_tensor_value_info(f"present_value_{c}", TensorProto.FLOAT, cache_shape)]
        elif kv == "direct":
            qk, v = b.op("Split", [qkv, split_qk_v], n_out=2, axis=-1)  # (B, T, 2D), (B, T, D)
            qk = b.op("RotaryEmbedding", [qk, "positions", "rope_cos", "rope_sin"], domain=MS, num_heads=2 * n_heads, interleaved=0)
            q, k = b.op("Split", [b.op("Reshape", [qk, heads4]), split_2h], n_out=2, axis=2)  # (B, T, H, Dh) each
            qT = b.op("Transpose", [q], perm=[0, 2, 3, 1])  # (B, H, Dh, T)
            k = b.op("Transpose", [k], perm=[0, 2, 1, 3], outputs=[f"new_key_{c}"])  # (B, H, T, Dh)
            v = b.op("Transpose", [b.op("Reshape", [v, heads4])], perm=[0, 2, 1, 3], outputs=[f"new_value_{c}"])
            # Keys times queries, not queries times keys: the cached keys are then MLAS's A operand, read
            # in place; only the small qT is packed. (B, H, P + T, T) → (B, H, T, P + T)
            scores = b.op("Transpose", [b.op("Concat", [b.op("MatMul", [f"past_key_{c}", qT]), b.op("MatMul", [k, qT])], axis=2)], perm=[0, 1, 3, 2])
            probs_past, probs_new = b.op("Split", [b.op("Softmax", [b.op("Add", [scores, mask])], axis=-1), split_scores], n_out=2, axis=-1)
            o = b.op("Add", [b.op("MatMul", [probs_past, f"past_value_{c}"]), b.op("MatMul", [probs_new, v])])  # (B, H, T, Dh)
            attn = b.op("Reshape", [b.op("Transpose", [o], perm=[0, 2, 1, 3]), flat])  # (B, T, D)
            outputs += [helper.make_tensor_value_info(f"new_key_{c}", TensorProto.FLOAT, ["B", n_heads, "T", Dh]),
                        helper.make_tensor_value_info(f"new_value_{c}", TensorProto.FLOAT, ["B", n_heads, "T", Dh])]
        else:
            qk, v = b.op("Split", [qkv, split_qk_v], n_out=2, axis=-1, outputs=[b.name("qk"), f"new_value_{c}"])
            # q and k rotated together: 2H heads of Dh at the same positions.
            qk = b.op("RotaryEmbedding", [qk, "positions", "rope_cos", "rope_sin"], domain=MS, num_heads=2 * n_heads, interleaved=0)
            q, k = b.op("Split", [qk, split_q_k], n_out=2, axis=-1, outputs=[b.name("q"), f"new_key_{c}"])
            attn = q if os.environ.get("ABL") == "attn" else b.op("GroupQueryAttention", [q, k, v, f"past_key_{c}", f"past_value_{c}", seqlens_k, total],
                        domain=MS, n_out=3, num_heads=n_heads, kv_num_heads=n_heads)[0]
            outputs += [helper.make_tensor_value_info(f"new_key_{c}", TensorProto.FLOAT, ["B", "T", D]),
                        helper.make_tensor_value_info(f"new_value_{c}", TensorProto.FLOAT, ["B", "T", D])]
        a = b.matmul(attn, f"wo_{i}", blk.wo)
        h, _, _, residual = b.op("SkipSimplifiedLayerNormalization", [a, residual, b.weight(f"mlp_norm_{i}", blk.mlp_norm)],
                                 n_out=4, domain=MS, epsilon=t.eps)
        gate, up = b.op("Split", [b.matmul(h, f"wgu_{i}", blk.wgu), split_ff], n_out=2, axis=-1)  # (B, T, F) each
        act = b.op("Mul", [b.op("QuickGelu", [gate], domain=MS, alpha=1.0), up])  # SiLU(gate) · up
        pending = b.matmul(act, f"wdown_{i}", blk.wdown)

    if role == "trunk":
        b.op("Add", [pending, residual], outputs=["hidden_out"])
        outputs.insert(0, helper.make_tensor_value_info("hidden_out", TensorProto.FLOAT, ["B", "T", D]))
    else:
        b.op("SkipSimplifiedLayerNormalization", [pending, residual, b.weight("norm", t.norm)], domain=MS, epsilon=t.eps, outputs=["hidden_out"])
        b.matmul("hidden_out", "lm_head", t.lm_head, outputs=["logits"])
        outputs[0:0] = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", V]),
                        helper.make_tensor_value_info("hidden_out", TensorProto.FLOAT, ["B", "T", D])]

    graph = helper.make_graph(b.nodes, f"spear_{role}_fused", inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)], producer_name="spear fused_graph.py")
    model.ir_version = 8
    return model


def io_names(model):
    return [i.name for i in model.graph.input], [o.name for o in model.graph.output]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fuse_voice(voice: str, out: str | None = None, roles=("full", "trunk", "rest"), kv: str = "bnsh"):
    """Writes `<role>.fused.onnx` for each role and points the manifest's entries at them (the exported
    graph stays beside as `source`). With `out`, writes the graphs and manifest.fused.json there instead."""
    manifest_path = os.path.join(voice, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    entries = manifest["graphs"]
    full_entry = entries["full"]
    source_file = full_entry.get("source", {}).get("file", full_entry["file"])
    L, E, H = manifest["n_layers"], manifest["exit_layer"], manifest["n_heads"]
    target = read_target(os.path.join(voice, source_file), L)
    max_positions = manifest["context"] + POSITION_MARGIN
    dest = out or voice
    os.makedirs(dest, exist_ok=True)
    spans = {"full": range(0, L), "trunk": range(0, E), "rest": range(E, L)}
    for role in roles:
        if role not in entries:
            continue
        model = build(target, role, spans[role], E, H, max_positions, kv)
        file = f"{role}.fused.onnx"
        path = os.path.join(dest, file)
        onnx.save(model, path)
        entry = entries[role]
        src = entry.get("source", {"file": entry["file"], "sha256": entry["sha256"]})
        ins, outs = io_names(model)
        entries[role] = {
            "file": file, "sha256": sha256(path), "cache_layers": len(spans[role]), "kv_dim": entry["kv_dim"],
            **({"hidden_dim": entry["hidden_dim"]} if "hidden_dim" in entry else {}),
            "kv_layout": {"shared": "shared-buffer", "bnsh": "bnsh", "direct": "bnsh-direct"}[kv], "heads": H, "head_dim": entry["kv_dim"] // H, "max_positions": max_positions,
            "inputs": ins, "outputs": outs,
            "source": {"file": src["file"], "sha256": src["sha256"], "construction": CONSTRUCTION},
        }
        print(f"{path}: {len(model.graph.node)} nodes ({os.path.getsize(path) / 2**20:.1f} MiB)")
    with open(os.path.join(dest, "manifest.json" if out is None else "manifest.fused.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


# ----------------------------------------------------------------------------------------------------
# Operator probe: one tiny graph per fused operator, run by `node native-models/fused_cost.mjs --probe DIR`


def probe_graphs(dest: str):
    os.makedirs(dest, exist_ok=True)
    rng = np.random.default_rng(0)
    D, H, Dh, F = 64, 4, 16, 96
    f32 = TensorProto.FLOAT

    def save(name, nodes, inputs, outputs, inits=()):
        g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)])
        m.ir_version = 8
        onnx.save(m, os.path.join(dest, name + ".onnx"))

    vi = helper.make_tensor_value_info
    x = vi("x", f32, ["B", "T", D])
    w = numpy_helper.from_array(rng.standard_normal(D).astype(np.float32), "w")
    save("SimplifiedLayerNormalization", [helper.make_node("SimplifiedLayerNormalization", ["x", "w"], ["y"], axis=-1, epsilon=1e-5)],
         [x], [vi("y", f32, None)], [w])
    save("SkipSimplifiedLayerNormalization", [helper.make_node("SkipSimplifiedLayerNormalization", ["x", "s", "w"], ["y", "", "", "sum"], domain=MS, epsilon=1e-5)],
         [x, vi("s", f32, ["B", "T", D])], [vi("y", f32, None), vi("sum", f32, None)], [w])
    save("QuickGelu", [helper.make_node("QuickGelu", ["x"], ["y"], domain=MS, alpha=1.0)], [x], [vi("y", f32, None)])
    cos, sin = rope_tables((10000.0 ** (-np.arange(0, Dh, 2, dtype=np.float32) / Dh)).astype(np.float32), 64)
    rope = [numpy_helper.from_array(cos, "cos"), numpy_helper.from_array(sin, "sin")]
    save("RotaryEmbedding", [helper.make_node("RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"], domain=MS, num_heads=H)],
         [x, vi("pos", TensorProto.INT64, ["B", "T"])], [vi("y", f32, None)], rope)
    cache = ["B", H, "P", Dh]
    save("GroupQueryAttention", [helper.make_node("GroupQueryAttention", ["qkv", "", "", "pk", "pv", "seqlens_k", "total", "cos", "sin"], ["y", "k", "v"],
                                                  domain=MS, num_heads=H, kv_num_heads=H, do_rotary=1)],
         [vi("qkv", f32, ["B", "T", 3 * D]), vi("pk", f32, cache), vi("pv", f32, cache), vi("seqlens_k", TensorProto.INT32, ["B"]), vi("total", TensorProto.INT32, [])],
         [vi("y", f32, None), vi("k", f32, cache), vi("v", f32, cache)], rope)
    save("MultiHeadAttention", [helper.make_node("MultiHeadAttention", ["q", "k", "v", "", "", "", "pk", "pv"], ["y", "k_out", "v_out"], domain=MS, num_heads=H, unidirectional=1)],
         [vi("q", f32, ["B", "T", D]), vi("k", f32, ["B", "T", D]), vi("v", f32, ["B", "T", D]), vi("pk", f32, cache), vi("pv", f32, cache)],
         [vi("y", f32, None), vi("k_out", f32, None), vi("v_out", f32, None)])
    wq = rng.standard_normal((D, F)).astype(np.float32)
    save("DynamicQuantizeMatMul", [helper.make_node("DynamicQuantizeMatMul", ["x", "wq", "ws"], ["y"], domain=MS)], [x], [vi("y", f32, None)],
         [numpy_helper.from_array(rng.integers(-127, 127, (D, F)).astype(np.int8), "wq"), numpy_helper.from_array(np.full(F, 0.01, np.float32), "ws")])
    blocks = D // 32  # MatMulNBits: 4-bit weights, (N, blocks, blob bytes)
    save("MatMulNBits", [helper.make_node("MatMulNBits", ["x", "wb", "sc"], ["y"], domain=MS, K=D, N=F, bits=4, block_size=32)], [x], [vi("y", f32, None)],
         [numpy_helper.from_array(rng.integers(0, 255, (F, blocks, 16)).astype(np.uint8), "wb"), numpy_helper.from_array(np.full(F * blocks, 0.01, np.float32), "sc")])
    save("MatMul", [helper.make_node("MatMul", ["x", "wf"], ["y"])], [x], [vi("y", f32, None)], [numpy_helper.from_array(wq.astype(np.float32), "wf")])
    print(f"probe graphs in {dest}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("voice", nargs="?", help="a model directory with manifest.json and full.onnx")
    ap.add_argument("--out", help="write graphs and manifest.fused.json here instead of into the voice")
    ap.add_argument("--kv", choices=("bnsh", "shared", "direct"), default="bnsh", help="cache contract (see build)")
    ap.add_argument("--probe", metavar="DIR", help="write one tiny graph per fused operator into DIR")
    args = ap.parse_args()
    if args.probe:
        probe_graphs(args.probe)
    elif args.voice:
        fuse_voice(args.voice, args.out, kv=args.kv)
    else:
        ap.error("give a voice directory or --probe DIR")
