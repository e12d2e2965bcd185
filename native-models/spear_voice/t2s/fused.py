"""Rebuild a voice's target graphs (`full`, `trunk`, `rest`) with ONNX Runtime's fused CPU operators.

The exported graphs (spear_t2s/export.py) spell each block out in plain ONNX: RMSNorm as Pow →
ReduceMean → Add → Sqrt → Div → Mul, RoPE as Slice/Neg/Concat, and attention as a Concat of the
whole past with the new keys, then Transposes, a mask built from past_len, MatMul → Softmax → MatMul.
This script reads the weights of the exported `full` graph and writes graphs that compute the same
function with

    SimplifiedLayerNormalization, com.microsoft.SkipSimplifiedLayerNormalization   RMSNorm (+ the residual add)
    one MatMul for q|k|v and one for gate|up                                          the projections
    com.microsoft.RotaryEmbedding at the explicit positions                           RoPE (rotate-half)
    com.microsoft.QuickGelu(alpha = 1) · up                                           SwiGLU's SiLU

and attention that reads the engine's cache where it lies. `full` reads one input more, tree_mask (B, T, T)
bool, the new tokens' mask (the engine feeds the causal one, or a draft tree's: electron/core/engine/tree.ts). The cache layout changes (the manifest entry
says "kv_layout": "bnsh"): past_key_i / past_value_i are the engine's buffers (B, H, P, Dh), P the
positions it lays out per head, passed without a copy for any number of rows; positions at or past
past_len[b] are masked, as before. new_key_i / new_value_i come out (B, H, T, Dh). Scores are computed as keys times
queries (B, H, P, Dh) @ (B, H, Dh, T), so ONNX Runtime's MLAS reads the cached keys in place as its A
operand; at T = 1 the values are read in place too (its M = 1 kernel, which wants alpha = 1: the
1/sqrt(Dh) scale is folded into Wq). Nothing concatenates or transposes the past.

The float32 graphs do not use GroupQueryAttention (`node native-models/tools/fused_cost.mjs --probe`): with
present bound to past it writes the cache in place, but onnxruntime-node copies every fetched output into
a fresh ArrayBuffer, the whole (B, H, P, Dh) buffer per layer and call; without the binding it copies the
past into its own present buffer, and ONNX Runtime 1.30 refuses T > 1 with a past for batches of several
rows.

The int8 target (--int8) does. With 8-bit weights the weight products quantise their activations, which
turns last-bit float differences into steps of 1/127: speculation then equals ar only if a position's
outputs do not depend on how many positions its call feeds, and GroupQueryAttention's do not (from 2
positions on; docs/engine.md#the-int8-target). One GroupQueryAttention per layer reads the packed q|k|v
and applies RoPE itself at `positions` (bit for bit what RotaryEmbedding before it gives, one node
instead of Split, RotaryEmbedding, Split and two Reshape/Transpose pairs: 7-9 % off a call); the new
keys and values are the present outputs' positions past_len … past_len + T - 1, so a call feeds one row.

`full` is `trunk` → `rest` node for node: at the exit layer `full` adds the residual with a plain Add and
normalises with SimplifiedLayerNormalization, as `rest` does on `hidden_in`.

Weights are found by the exporter's node names (/blocks.{i}/attn/wq/MatMul, …), the RoPE frequencies and
the norm epsilon read from the exported graph's constants; float16-stored weights stay float16 (a Cast
that ONNX Runtime folds at load, as in the export).

    cd native-models
    python3 -m spear_voice.t2s.fused voice                                               # adds *.fused.onnx, updates manifest.json
    python3 -m spear_voice.t2s.fused ../tests/fixtures/tiny --out ../tests/fixtures/tiny-fused   # a fused copy
    python3 -m spear_voice.t2s.fused --probe /tmp/probe                                  # one tiny graph per operator

Python has no ONNX Runtime here; parity and cost are checked from node: native-models/tools/fused_cost.mjs.
"""

import argparse
import hashlib
import json
import os
import shutil
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
OPSET = 17
ROLES = ("full", "trunk", "rest")
# Positions the RoPE table holds beyond the context: the engine's cache holds up to context + gamma + 1
# positions (gamma ≤ 64; a draft tree's nodes ≤ 64 likewise), and RotaryEmbedding reads its table at
# every fed position.
POSITION_MARGIN = 128
CONSTRUCTION = (
    "spear_voice.t2s.fused: the weights of `source` in ONNX Runtime's fused CPU operators "
    "(SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization, RotaryEmbedding, QuickGelu), q|k|v and "
    "gate|up packed into one MatMul each, attention reading the (B, H, P, Dh) cache in place"
)
INT8_CONSTRUCTION = (
    "spear_voice.t2s.fused --int8: the weights of `source` as 8-bit MatMulNBits (one scale per 32 rows of a column, "
    "activations quantised per block, accuracy_level 4) in ONNX Runtime's fused CPU operators, attention by "
    "GroupQueryAttention; at least 2 positions per call, one row per call"
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
    norm: np.ndarray  # (D,) the final RMSNorm
    lm_head: np.ndarray  # (D, V)
    inv_freq: np.ndarray  # (Dh/2,) float32: the exported graph's own RoPE frequencies
    eps: float


class GraphReader:
    """Resolves tensor names of an exported graph to constant arrays: initializers, Constant nodes, and
    Casts (float16 storage) or Identities (the exporter's shared copies) of either, in their stored type."""

    def __init__(self, model):
        self.init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.nodes = {n.name: n for n in model.graph.node}
        self.producer = {o: n for n in model.graph.node for o in n.output}

    def const(self, name):
        if name in self.init:
            return self.init[name]
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "Constant":
            return numpy_helper.to_array(node.attribute[0].t)
        if node.op_type in ("Cast", "Identity"):
            return self.const(node.input[0])
        return None

    def node(self, name):
        if name not in self.nodes:
            raise SystemExit(f"the exported graph has no node {name!r}: not a graph of spear_t2s/export.py")
        return self.nodes[name]

    def weight(self, node_name):
        for i in self.node(node_name).input:
            w = self.const(i)
            if w is not None and w.ndim >= 1:
                return w
        raise SystemExit(f"node {node_name!r} has no constant weight")


def packed_qkv(wq, wk, wv, n_heads):
    """[Wq · 1/sqrt(Dh) | Wk | Wv]: attention then runs with alpha = 1, where MLAS reads the cached values in
    place at T = 1 (its M = 1 kernel). RoPE is linear, so scaling q before it is the same. For Dh a power
    of 4 the factor is a power of 2 and the product exact; float16 storage is kept where it stays exact
    (not for the float16 subnormals the factor would round), float32 otherwise."""
    scaled = wq.astype(np.float32) * np.float32(1.0 / np.sqrt(wq.shape[0] // n_heads))
    if wq.dtype == np.float16 and np.array_equal(scaled.astype(np.float16).astype(np.float32), scaled):
        scaled = scaled.astype(np.float16)
    return np.concatenate([scaled, wk.astype(scaled.dtype), wv.astype(scaled.dtype)], axis=1)


def read_target(path: str, n_layers: int, n_heads: int) -> Target:
    r = GraphReader(onnx.load(path))
    blocks = []
    for i in range(n_layers):
        p = f"/blocks.{i}"
        w = {k: r.weight(f"{p}/attn/w{k}/MatMul") for k in "qkvo"}
        m = {k: r.weight(f"{p}/mlp/w_{k}/MatMul") for k in ("gate", "up", "down")}
        blocks.append(Block(
            attn_norm=r.weight(f"{p}/attn_norm/Mul_1").astype(np.float32),
            wqkv=packed_qkv(w["q"], w["k"], w["v"], n_heads),
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
    def __init__(self, int8_weights=False):
        self.int8_weights = int8_weights
        self.nodes, self.inits, self.count = [], [], 0
        self.stored = set()

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, key, array=None):
        """A named constant, stored once; float16 arrays stay float16 behind a Cast ONNX Runtime folds at load."""
        if key not in self.stored:
            self.stored.add(key)
            if array.dtype == np.float16:
                self.inits.append(numpy_helper.from_array(array, key + "__f16"))
                self.nodes.append(helper.make_node("Cast", [key + "__f16"], [key], to=TensorProto.FLOAT))
            else:
                self.inits.append(numpy_helper.from_array(array.astype(np.float32) if array.dtype.kind == "f" else array, key))
        return key

    def op(self, op_type, inputs, n_out=1, domain="", outputs=None, **attrs):
        outs = outputs or [self.name(op_type) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("/" + op_type), domain=domain or None, **attrs))
        return outs if len(outs) > 1 else outs[0]

    def matmul(self, x, key, weight, outputs=None):
        """x @ W for a constant W (K, N). With int8_weights (an experiment, see the module docstring): ONNX
        Runtime's MatMulNBits with 8-bit weights, one symmetric scale per 32 rows of a column, activations
        quantised per block (accuracy_level 4)."""
        if not self.int8_weights:
            return self.op("MatMul", [x, self.const(key, weight)], outputs=outputs)
        w = weight.astype(np.float32)
        K, N = w.shape
        blocks = np.zeros((-(-K // 32) * 32, N), np.float32)
        blocks[:K] = w
        blocks = blocks.reshape(-1, 32, N).transpose(2, 0, 1)  # (N, K/32, 32)
        scale = np.abs(blocks).max(axis=2) / 127.0
        scale = np.where(scale > 0, scale, 1.0).astype(np.float32)  # (N, K/32)
        q = (np.clip(np.rint(blocks / scale[:, :, None]), -127, 127) + 128).astype(np.uint8)  # zero point 128
        return self.op("MatMulNBits", [x, self.const(key + "_int8", q), self.const(key + "_scale", scale.reshape(-1))], domain=MS,
                       outputs=outputs, K=K, N=N, bits=8, block_size=32, accuracy_level=4)


def manual_attention(b: Builder, c: int, qk: str, v: str, heads: str, mask: str, split_scores: str, flat: str, n_heads: int) -> str:
    """Attention of cache layer c over [the cache as it lies | the new keys]: (B, T, D). Writes new_key_c and
    new_value_c (B, H, T, Dh)."""
    q, k = b.op("Split", [b.op("Reshape", [qk, heads]), b.const("split_2h", i64(n_heads, n_heads))], n_out=2, axis=2)  # (B, T, H, Dh)
    qT = b.op("Transpose", [q], perm=[0, 2, 3, 1])  # (B, H, Dh, T)
    k = b.op("Transpose", [k], perm=[0, 2, 1, 3], outputs=[f"new_key_{c}"])  # (B, H, T, Dh)
    v = b.op("Transpose", [b.op("Reshape", [v, heads])], perm=[0, 2, 1, 3], outputs=[f"new_value_{c}"])
    # Keys times queries: (B, H, P + T, T), then (B, H, T, P + T).
    scores = b.op("Concat", [b.op("MatMul", [f"past_key_{c}", qT]), b.op("MatMul", [k, qT])], axis=2)
    scores = b.op("Add", [b.op("Transpose", [scores], perm=[0, 1, 3, 2]), mask])
    probs_past, probs_new = b.op("Split", [b.op("Softmax", [scores], axis=-1), split_scores], n_out=2, axis=-1)
    o = b.op("Add", [b.op("MatMul", [probs_past, f"past_value_{c}"]), b.op("MatMul", [probs_new, v])])  # (B, H, T, Dh)
    return b.op("Reshape", [b.op("Transpose", [o], perm=[0, 2, 1, 3]), flat])  # (B, T, D)


def gqa_lengths(b: Builder, T1: str, tree: bool) -> tuple[str, str, str]:
    """GroupQueryAttention's inputs that every layer shares, once per call: seqlens_k (B,) int32 = past_len +
    T - 1 (each row's last position), total_sequence_length () int32 = max past_len + T, and attention_bias
    (B, 1, T, total): 0 where new token t may see position j, -inf where not. Row b's new tokens lie at
    past_len[b] + t' in the attended sequence; token t sees every cached position below past_len[b] and new
    token t' per tree_mask[b, t, t'] (with a tree) or when t' <= t. Every role builds the bias, the causal
    one too, so `full` computes what `trunk` → `rest` computes bit for bit (GQA rounds differently with a
    bias than without)."""
    T = b.op("Squeeze", [T1, b.const("axis0", i64(0))])  # () int64
    seqlens_k = b.op("Cast", [b.op("Sub", [b.op("Add", ["past_len", T]), b.const("one_s", np.array(1, dtype=np.int64))])], to=TensorProto.INT32)
    total64 = b.op("Add", [b.op("ReduceMax", ["past_len"], keepdims=0), T])
    total = b.op("Cast", [total64], to=TensorProto.INT32)
    j = b.op("Range", [b.const("zero", np.array(0, dtype=np.int64)), total64, b.const("one_s", np.array(1, dtype=np.int64))])  # (S,)
    rel = b.op("Sub", [b.op("Unsqueeze", [j, b.const("axes01", i64(0, 1))]), b.op("Unsqueeze", ["past_len", b.const("axes12", i64(1, 2))])])  # (B, 1, S)
    if tree:
        last = b.op("Sub", [T, b.const("one_s", np.array(1, dtype=np.int64))])
        index = b.op("Clip", [rel, b.const("zero", np.array(0, dtype=np.int64)), last])  # (B, 1, S)
        shape = b.op("Concat", [b.op("Shape", ["past_len"]), T1, b.op("Shape", [j])], axis=0)  # (B, T, S)
        sees_new = b.op("GatherElements", ["tree_mask", b.op("Expand", [index, shape])], axis=2)  # (B, T, S)
        sees = b.op("Or", [b.op("Less", [rel, b.const("zero", np.array(0, dtype=np.int64))]), sees_new])
    else:
        t = b.op("Unsqueeze", [b.op("Range", [b.const("zero", np.array(0, dtype=np.int64)), T, b.const("one_s", np.array(1, dtype=np.int64))]),
                               b.const("axes02", i64(0, 2))])  # (1, T, 1)
        sees = b.op("LessOrEqual", [rel, t])  # (B, T, S)
    neg = b.const("neg_inf", np.array(-np.inf, dtype=np.float32))
    zero = b.const("zero_f", np.array(0, dtype=np.float32))
    return seqlens_k, total, b.op("Unsqueeze", [b.op("Where", [sees, zero, neg]), b.const("axis1", i64(1))])


def gqa_attention(b: Builder, c: int, qkv: str, n_heads: int, seqlens_k: str, total: str, bias: str) -> str:
    """Attention of cache layer c by one com.microsoft.GroupQueryAttention node over the packed q|k|v (B, T, 3D),
    RoPE applied inside it at the explicit positions (its cos/sin caches are the rotary tables; the same
    outputs, bit for bit, as RotaryEmbedding before it): (B, T, D). new_key_c and new_value_c (B, H, T, Dh)
    are the new tokens' rows of its present outputs, which hold them at [past_len, past_len + T): a row per
    call. The present outputs stay inside the graph (the engine's cache is the past)."""
    attn, present_k, present_v = b.op("GroupQueryAttention", [qkv, "", "", f"past_key_{c}", f"past_value_{c}", seqlens_k, total, "rope_cos", "rope_sin", "positions", bias],
                                      domain=MS, outputs=[b.name("attn"), b.name("present_key"), b.name("present_value")],
                                      num_heads=n_heads, kv_num_heads=n_heads, scale=1.0, do_rotary=1, rotary_interleaved=0)
    if "new_end" not in b.stored:  # past_len + T, once per graph
        b.stored.add("new_end")
        b.op("Add", ["past_len", b.op("Slice", [b.op("Shape", ["positions"]), b.const("one", i64(1)), b.const("two", i64(2))])], outputs=["new_end"])
    b.op("Slice", [present_k, "past_len", "new_end", b.const("axis2", i64(2))], outputs=[f"new_key_{c}"])
    b.op("Slice", [present_v, "past_len", "new_end", b.const("axis2", i64(2))], outputs=[f"new_value_{c}"])
    return attn


def i64(*values):
    return np.array(values, dtype=np.int64)


def rope_tables(inv_freq: np.ndarray, max_positions: int):
    """cos, sin (max_positions, Dh/2) of the float32 angle position · inv_freq, as the exported graph forms it."""
    angles = np.arange(max_positions, dtype=np.float32)[:, None] * inv_freq[None, :]  # (P, Dh/2) float32
    return np.cos(angles.astype(np.float64)).astype(np.float32), np.sin(angles.astype(np.float64)).astype(np.float32)


def build(t: Target, role: str, layers: range, exit_layer: int | None, n_heads: int, max_positions: int, int8_weights=False,
          skip_attention=(), skip_mlp=(), tree_mask: bool | None = None, gqa: bool | None = None):
    """One fused graph over `layers` of the target. role: full (ids → logits, final hidden), trunk (ids →
    the residual after its last layer), rest (that residual → logits, final hidden), layer_skip (ids →
    logits, through the sublayers of `layers` not in skip_attention / skip_mlp; t2s/layer_skip.py). A
    block whose attention is skipped has no cache layer: cache layer c is the c-th block that attends.
    tree_mask (default: role full only): read the new tokens' mask from an input tree_mask (B, T, T) bool
    instead of building the causal one.
    gqa (default: with int8_weights): attention by GroupQueryAttention, whose outputs do not depend on how
    many positions a call feeds (module docstring); the graph is then fed at least 2
    positions per call, and one row per call once a row has a past."""
    b = Builder(int8_weights)
    gqa = int8_weights if gqa is None else gqa
    D = t.embed.shape[1]
    Dh = D // n_heads
    F = t.blocks[0].wdown.shape[0]
    V = t.lm_head.shape[1]
    cos, sin = rope_tables(t.inv_freq, max_positions)
    b.const("rope_cos", cos)
    b.const("rope_sin", sin)
    cache = ["B", n_heads, "P", Dh]
    vi = helper.make_tensor_value_info

    if role == "rest":
        inputs = [vi("hidden_in", TensorProto.FLOAT, ["B", "T", D])]
        x = "hidden_in"
    else:
        inputs = [vi("input_ids", TensorProto.INT64, ["B", "T"])]
        x = b.op("Gather", [b.const("embed", t.embed), "input_ids"])  # (B, T, D)
    inputs += [vi("positions", TensorProto.INT64, ["B", "T"]), vi("past_len", TensorProto.INT64, ["B"])]
    tree = role == "full" if tree_mask is None else tree_mask
    if tree:
        inputs.append(vi("tree_mask", TensorProto.BOOL, ["B", "T", "T"]))
    outputs = []

    # One additive mask over [cached | new] keys, built once per call: (B, 1, T, P + T). Cached position j
    # of row b counts when j < past_len[b]. `full`: new token t sees new token t' iff tree_mask[b, t, t']
    # (the engine feeds the causal mask t' <= t, or a tree's: a node sees its ancestors and itself);
    # the other roles: t' <= t, built in the graph.
    if not gqa:
        axis0 = b.const("axis0", i64(0))
    T1 = b.op("Slice", [b.op("Shape", ["positions"]), i64c(b, "one", 1), i64c(b, "two", 2)])  # (1,): T
    if gqa:
        seqlens_k, total, bias = gqa_lengths(b, T1, tree)
    else:
        P1 = b.op("Slice", [b.op("Shape", ["past_key_0"]), i64c(b, "two", 2), i64c(b, "three", 3)])  # (1,): P
        rows = b.op("Shape", ["past_len"])  # (1,): B
        neg = b.const("neg_inf", np.array(-np.inf, dtype=np.float32))
        zero = b.const("zero_f", np.array(0, dtype=np.float32))
        j = b.op("Range", [b.const("zero", np.array(0, dtype=np.int64)), b.op("Squeeze", [P1, axis0]), b.const("one_s", np.array(1, dtype=np.int64))])
        valid = b.op("Less", [b.op("Unsqueeze", [j, axis0]), b.op("Unsqueeze", ["past_len", b.const("axis1", i64(1))])])  # (B, P)
        mask_past = b.op("Unsqueeze", [b.op("Where", [valid, zero, neg]), b.const("axes12", i64(1, 2))])  # (B, 1, 1, P)
        if tree:
            # The same 0 / -inf values the causal Trilu gives, so a causal tree_mask reproduces the outputs bit for bit.
            mask_new = b.op("Unsqueeze", [b.op("Where", ["tree_mask", zero, neg]), b.const("axis1", i64(1))])  # (B, 1, T, T)
        else:
            mask_new = b.op("Trilu", [b.op("Expand", [neg, b.op("Concat", [T1, T1], axis=0)]), b.const("one_s", np.array(1, dtype=np.int64))], upper=1)  # (T, T)
        ones = b.const("ones1", i64(1))
        mask_past = b.op("Expand", [mask_past, b.op("Concat", [rows, ones, T1, P1], axis=0)])  # (B, 1, T, P)
        if not tree:
            mask_new = b.op("Expand", [mask_new, b.op("Concat", [rows, ones, T1, T1], axis=0)])  # (B, 1, T, T)
        mask = b.op("Concat", [mask_past, mask_new], axis=-1)
        split_scores = b.op("Concat", [P1, T1], axis=0)
    if not gqa:
        split_qk_v = b.const("split_qk_v", i64(2 * D, D))
    split_ff = b.const("split_ff", i64(F, F))
    if not gqa:
        heads = b.const("heads", i64(0, 0, -1, Dh))
        flat = b.const("flat", i64(0, 0, D))

    residual, pending = x, None  # pending: the last sublayer's output, not yet added to the residual

    def normed(weight_key, weight):
        """RMSNorm of residual + pending (the add fused in when there is one): the sublayer's input."""
        nonlocal residual
        if pending is None:
            return b.op("SimplifiedLayerNormalization", [residual, b.const(weight_key, weight)], axis=-1, epsilon=t.eps, stash_type=1)
        h, _, _, residual = b.op("SkipSimplifiedLayerNormalization", [pending, residual, b.const(weight_key, weight)],
                                 n_out=4, domain=MS, epsilon=t.eps)
        return h

    c = 0  # cache layer of the next block that attends
    for i in layers:
        blk = t.blocks[i]
        if pending is not None and i == exit_layer:
            # The exit boundary: a plain Add, then the norm rest applies to hidden_in.
            residual, pending = b.op("Add", [pending, residual]), None
        if i not in skip_attention:
            inputs += [vi(f"past_key_{c}", TensorProto.FLOAT, cache), vi(f"past_value_{c}", TensorProto.FLOAT, cache)]
            h = normed(f"attn_norm_{i}", blk.attn_norm)
            qkv = b.matmul(h, f"wqkv_{i}", blk.wqkv)  # (B, T, 3D); q already scaled by 1/sqrt(Dh)
            if gqa:
                attn = gqa_attention(b, c, qkv, n_heads, seqlens_k, total, bias)
            else:
                qk, v = b.op("Split", [qkv, split_qk_v], n_out=2, axis=-1)  # (B, T, 2D), (B, T, D)
                qk = b.op("RotaryEmbedding", [qk, "positions", "rope_cos", "rope_sin"], domain=MS, num_heads=2 * n_heads, interleaved=0)
                attn = manual_attention(b, c, qk, v, heads, mask, split_scores, flat, n_heads)
            outputs += [vi(f"new_key_{c}", TensorProto.FLOAT, ["B", n_heads, "T", Dh]), vi(f"new_value_{c}", TensorProto.FLOAT, ["B", n_heads, "T", Dh])]
            pending = b.matmul(attn, f"wo_{i}", blk.wo)
            c += 1
        if i not in skip_mlp:
            h = normed(f"mlp_norm_{i}", blk.mlp_norm)
            gate, up = b.op("Split", [b.matmul(h, f"wgu_{i}", blk.wgu), split_ff], n_out=2, axis=-1)  # (B, T, F) each
            pending = b.matmul(b.op("Mul", [b.op("QuickGelu", [gate], domain=MS, alpha=1.0), up]), f"wdown_{i}", blk.wdown)

    if role == "trunk":
        b.op("Add", [pending, residual], outputs=["hidden_out"])
        outputs.insert(0, vi("hidden_out", TensorProto.FLOAT, ["B", "T", D]))
    elif role == "layer_skip":  # a drafter: logits only, its last hidden state stays inside
        b.op("SkipSimplifiedLayerNormalization", [pending, residual, b.const("norm", t.norm)], domain=MS, epsilon=t.eps, outputs=["feature"])
        b.matmul("feature", "lm_head", t.lm_head, outputs=["logits"])
        outputs.insert(0, vi("logits", TensorProto.FLOAT, ["B", "T", V]))
    else:
        b.op("SkipSimplifiedLayerNormalization", [pending, residual, b.const("norm", t.norm)], domain=MS, epsilon=t.eps, outputs=["hidden_out"])
        b.matmul("hidden_out", "lm_head", t.lm_head, outputs=["logits"])
        outputs[0:0] = [vi("logits", TensorProto.FLOAT, ["B", "T", V]), vi("hidden_out", TensorProto.FLOAT, ["B", "T", D])]

    graph = helper.make_graph(b.nodes, f"spear_{role}_fused", inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)], producer_name="spear_voice.t2s.fused")
    model.ir_version = 8
    return model


def i64c(b: Builder, key: str, value: int) -> str:
    return b.const(key, i64(value))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fuse_voice(voice: str, out: str | None = None, int8_weights=False):
    """Writes `<role>.fused.onnx` for full, trunk and rest and points the manifest's entries at them; the
    exported graph stays beside it as the entry's `source`. With int8_weights, also `<role>.int8.onnx`
    (the int8 target): the manifest's entries point at those, it says "target": "int8", and the float
    graphs become its "targets": {"float32": …}, the build a model can be loaded with instead. With `out`, a
    copy of the voice folder is made there first and fused instead. Idempotent: the weights are always
    read from the source."""
    if out is not None:
        shutil.copytree(voice, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md", "parity"))
        voice = out
    manifest_path = os.path.join(voice, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    entries = manifest["graphs"]
    L, E, H = manifest["n_layers"], manifest["exit_layer"], manifest["n_heads"]
    source_of = {role: entries[role].get("source", {"file": entries[role]["file"], "sha256": entries[role]["sha256"]}) for role in ROLES}
    target = read_target(os.path.join(voice, source_of["full"]["file"]), L, H)
    max_positions = manifest["context"] + POSITION_MARGIN
    spans = {"full": range(0, L), "trunk": range(0, E), "rest": range(E, L)}

    def write(role: str, int8: bool) -> dict:
        entry = entries[role]
        model = build(target, role, spans[role], E, H, max_positions, int8)
        file = f"{role}.{'int8' if int8 else 'fused'}.onnx"
        onnx.save(model, os.path.join(voice, file))
        print(f"{os.path.join(voice, file)}: {len(model.graph.node)} nodes")
        src = source_of[role]
        return {
            "file": file, "sha256": sha256(os.path.join(voice, file)), "cache_layers": len(spans[role]), "kv_dim": entry["kv_dim"],
            **({"hidden_dim": entry["hidden_dim"]} if "hidden_dim" in entry else {}),
            "kv_layout": "bnsh", "kv_heads": H, "max_positions": max_positions,
            **({"min_tokens": 2, "rows_per_call": 1, **({"trees": False} if role == "full" else {})} if int8 else {}),
            "inputs": [i.name for i in model.graph.input], "outputs": [o.name for o in model.graph.output],
            "source": {"file": src["file"], "sha256": src["sha256"], "construction": INT8_CONSTRUCTION if int8 else CONSTRUCTION},
        }

    floats = {role: write(role, False) for role in ROLES}
    manifest.pop("target", None)
    manifest.pop("targets", None)
    if int8_weights:
        entries.update({role: write(role, True) for role in ROLES})
        manifest["target"] = "int8"
        manifest["targets"] = {"float32": floats}
    else:
        entries.update(floats)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


# ----------------------------------------------------------------------------------------------------
# Operator probe: one tiny graph per fused operator, run by `node native-models/tools/fused_cost.mjs --probe DIR`


def probe_graphs(dest: str):
    os.makedirs(dest, exist_ok=True)
    rng = np.random.default_rng(0)
    D, H, Dh, F = 64, 4, 16, 96
    f32, vi = TensorProto.FLOAT, helper.make_tensor_value_info
    x = vi("x", f32, ["B", "T", D])
    out = [vi("y", f32, None)]

    def save(name, nodes, inputs, outputs, inits=()):
        g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)])
        m.ir_version = 8
        onnx.save(m, os.path.join(dest, name + ".onnx"))

    w = numpy_helper.from_array(rng.standard_normal(D).astype(np.float32), "w")
    save("SimplifiedLayerNormalization", [helper.make_node("SimplifiedLayerNormalization", ["x", "w"], ["y"], axis=-1, epsilon=1e-5)], [x], out, [w])
    save("SkipSimplifiedLayerNormalization", [helper.make_node("SkipSimplifiedLayerNormalization", ["x", "s", "w"], ["y", "", "", "sum"], domain=MS, epsilon=1e-5)],
         [x, vi("s", f32, ["B", "T", D])], out + [vi("sum", f32, None)], [w])
    save("QuickGelu", [helper.make_node("QuickGelu", ["x"], ["y"], domain=MS, alpha=1.0)], [x], out)
    cos, sin = rope_tables((10000.0 ** (-np.arange(0, Dh, 2, dtype=np.float32) / Dh)).astype(np.float32), 64)
    rope = [numpy_helper.from_array(cos, "cos"), numpy_helper.from_array(sin, "sin")]
    save("RotaryEmbedding", [helper.make_node("RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"], domain=MS, num_heads=H)],
         [x, vi("pos", TensorProto.INT64, ["B", "T"])], out, rope)
    cache = ["B", H, "P", Dh]
    save("GroupQueryAttention", [helper.make_node("GroupQueryAttention", ["qkv", "", "", "pk", "pv", "seqlens_k", "total", "cos", "sin"], ["y", "k", "v"],
                                                  domain=MS, num_heads=H, kv_num_heads=H, do_rotary=1)],
         [vi("qkv", f32, ["B", "T", 3 * D]), vi("pk", f32, cache), vi("pv", f32, cache), vi("seqlens_k", TensorProto.INT32, ["B"]), vi("total", TensorProto.INT32, [])],
         out + [vi("k", f32, cache), vi("v", f32, cache)], rope)
    save("MultiHeadAttention", [helper.make_node("MultiHeadAttention", ["q", "k", "v", "", "", "", "pk", "pv"], ["y", "k_out", "v_out"], domain=MS, num_heads=H, unidirectional=1)],
         [vi("q", f32, ["B", "T", D]), vi("k", f32, ["B", "T", D]), vi("v", f32, ["B", "T", D]), vi("pk", f32, cache), vi("pv", f32, cache)],
         out + [vi("k_out", f32, None), vi("v_out", f32, None)])
    save("DynamicQuantizeMatMul", [helper.make_node("DynamicQuantizeMatMul", ["x", "wq", "ws"], ["y"], domain=MS)], [x], out,
         [numpy_helper.from_array(rng.integers(-127, 127, (D, F)).astype(np.int8), "wq"), numpy_helper.from_array(np.full(F, 0.01, np.float32), "ws")])
    blocks = D // 32  # MatMulNBits: 4-bit weights, (N, blocks, 16 bytes)
    save("MatMulNBits", [helper.make_node("MatMulNBits", ["x", "wb", "sc"], ["y"], domain=MS, K=D, N=F, bits=4, block_size=32)], [x], out,
         [numpy_helper.from_array(rng.integers(0, 255, (F, blocks, 16)).astype(np.uint8), "wb"), numpy_helper.from_array(np.full(F * blocks, 0.01, np.float32), "sc")])
    print(f"probe graphs in {dest}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("voice", nargs="?", help="a model directory with manifest.json and its exported full/trunk/rest graphs")
    ap.add_argument("--out", help="fuse a copy of the voice folder made here")
    ap.add_argument("--int8", dest="int8_weights", action="store_true",
                    help="8-bit weights and GroupQueryAttention: the int8 target (module docstring)")
    ap.add_argument("--probe", metavar="DIR", help="write one tiny graph per fused operator into DIR")
    args = ap.parse_args()
    if args.probe:
        probe_graphs(args.probe)
    elif args.voice:
        fuse_voice(args.voice, args.out, args.int8_weights)
    else:
        ap.error("give a voice directory or --probe DIR")
