"""Rewrites of an exported graph, for measuring only (docs/results.md); nothing shipped uses them.

    /usr/bin/python3 native-models/research/rewrite_graph.py attention SRC.onnx DST.onnx
    /usr/bin/python3 native-models/research/rewrite_graph.py int8 SRC.onnx DST.onnx
    /usr/bin/python3 native-models/research/rewrite_graph.py tree SRC.onnx DST.onnx

attention: each layer's attention without transposing the cache. The exported graph splits the
concatenated keys and values (B, L, D) into heads with a Reshape and a Transpose each, a copy of the
whole cache per layer and call. Here the scores are one FusedMatMul with transB over the keys as they
are, against a block-diagonal query (B, H*T, D) whose row h*T + t holds head h's query t in head h's
columns and zeros elsewhere; the output is one MatMul of the weights (B, H*T, L) with the values as they
are, of which the diagonal blocks are kept. The causal mask and Softmax stay as exported.

int8: the drafters' quantiser (spear_voice/t2s/quantize.py) applied to any graph, e.g. the target's `full`.

tree (docs/results.md): `full` with one input more, `tree_mask` bool (B, T, T): new token t
attends new token t' iff tree_mask[b, t, t'] (and the cached positions j < past_len[b], as in `full`), so
one call can verify a chain and second-choice leaves (a leaf sees the pending token and the chain above
its own depth). Each of `full`'s mask computations (one per run of blocks, model.attention_mask) keeps its
cached part and takes its new part from tree_mask; every other node and initializer is `full`'s, so with a
lower-triangular tree_mask the outputs are `full`'s bit for bit (research/tree_cost.mjs checks it).
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.t2s.quantize import quantize_model  # noqa: E402
from spear_voice.t2s.simplify import prune_unused  # noqa: E402

# The exporter's node names inside one attention (spear_voice/t2s/model.py, Attention.forward) that the rewrite replaces.
REPLACED = ("Reshape_3", "Reshape_4", "Transpose_3", "Transpose_4", "MatMul", "Mul_8", "Where", "Softmax",
            "MatMul_1", "Transpose_5", "Reshape_5")


def _sorted(graph: onnx.GraphProto, nodes: list) -> list:
    """`nodes` in an order where every input exists before use (ONNX wants graphs topologically sorted)."""
    ready = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    order, pending = [], nodes
    while pending:
        waiting = [n for n in pending if not all(i in ready for i in n.input)]
        for n in pending:
            if n not in waiting:
                order.append(n)
                ready.update(n.output)
        if len(waiting) == len(pending):
            raise ValueError(f"unresolvable inputs: {[n.name for n in waiting][:3]}")
        pending = waiting
    return order


def attention_without_transposes(model: onnx.ModelProto) -> int:
    g = model.graph
    nodes = list(g.node)
    by_name = {n.name: n for n in nodes}
    shapes = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    prefixes = sorted({n.name.split("/attn/")[0] + "/attn/" for n in nodes if "/attn/" in n.name})
    added = []

    for p in prefixes:
        heads, head_dim = (int(x) for x in shapes[by_name[p + "Reshape"].input[1]][2:])
        width = heads * head_dim
        q = by_name[p + "Add_1"].output[0]  # the rotated query (B, H, T, Dh)
        keys, values = by_name[p + "Concat_5"].output[0], by_name[p + "Concat_6"].output[0]  # (B, L, D)
        where = by_name[p + "Where"]  # Where(hidden (B, 1, T, L), -inf, scores)
        out = by_name[p + "Reshape_5"].output[0]  # (B, T, D), read by the output projection
        eye = np.zeros((1, heads, 1, heads, head_dim), np.float32)
        for h in range(heads):
            eye[0, h, 0, h, :] = 1.0

        def const(name, value):
            g.initializer.append(numpy_helper.from_array(np.asarray(value), p + name))
            return p + name

        def node(op, inputs, name, **attrs):
            added.append(helper.make_node(op, inputs, [p + name], name=p + name, **attrs))
            return p + name

        block = node("Mul", [node("Unsqueeze", [q, const("axis3", np.array([3]))], "q5"), const("eye", eye)], "q_block")  # (B,H,T,H,Dh)
        q_rows = node("Reshape", [block, const("rows", np.array([0, -1, width]))], "q_rows")  # (B, H*T, D)
        scores = node("FusedMatMul", [q_rows, keys], "scores", domain="com.microsoft", transB=1, alpha=head_dim ** -0.5)
        by_head = node("Concat", [node("Shape", [q], "q_shape", start=0, end=3), node("Shape", [keys], "l", start=1, end=2)], "bhtl", axis=0)
        masked = node("Where", [where.input[0], where.input[1], node("Reshape", [scores, by_head], "scores4")], "masked")
        weights = node("Reshape", [node("Softmax", [masked], "softmax", axis=-1), node("Shape", [scores], "flat")], "weights")
        mixed = node("MatMul", [weights, values], "mixed")  # (B, H*T, D)
        diagonal = node("Mul", [node("Reshape", [mixed, const("split", np.array([0, heads, -1, heads, head_dim]))], "mixed5"), p + "eye"], "diagonal")
        per_head = node("ReduceSum", [diagonal, const("axis3s", np.array([3]))], "per_head", keepdims=0)  # (B, H, T, Dh)
        added.append(helper.make_node("Reshape", [node("Transpose", [per_head], "bthd", perm=[0, 2, 1, 3]), const("out", np.array([0, 0, width]))], [out], name=p + "out"))

    kept = [n for n in nodes if not any(n.name == p + r for p in prefixes for r in REPLACED)]
    ordered = _sorted(g, kept + added)
    del g.node[:]
    g.node.extend(ordered)
    prune_unused(g)  # the replaced attentions' mask, transposes and reshapes
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(prefixes)


TREE_MASK = "tree_mask"


def tree_mask_input(model: onnx.ModelProto) -> int:
    """`full` → `full_tree` in place: the new-token part of every attention mask read from tree_mask."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    # model.attention_mask: (past_ok & is_past)[:, None] | (new_ok & ~is_past)[None]; the Or's operand
    # Unsqueeze(And(LessOrEqual …, Not …)) is the (1, T, P+T) causal part among the new tokens.
    sites = []
    for node in g.node:
        for index, name in enumerate(node.input if node.op_type == "Or" else []):
            unsq = producer.get(name)
            inner = producer.get(unsq.input[0]) if unsq is not None and unsq.op_type == "Unsqueeze" else None
            if inner is not None and inner.op_type == "And" and sorted(producer[i].op_type for i in inner.input if i in producer) == ["LessOrEqual", "Not"]:
                sites.append((node, index))
    if not sites or any(i.name == TREE_MASK for i in g.input):
        raise SystemExit("no causal new-token mask found (or tree_mask already read): is this a spear-t2s full graph?")
    past_key = next(i.name for i in g.input if i.name.startswith("past_key_"))
    g.input.insert(3, helper.make_tensor_value_info(TREE_MASK, onnx.TensorProto.BOOL, ["batch", "new", "new"]))
    # (B, T, P) of false for the cached columns, then tree_mask: (B, T, P+T).
    added = [
        helper.make_node("Shape", [TREE_MASK], ["tree/bt"], name="tree/Shape_bt", start=0, end=2),
        helper.make_node("Shape", [past_key], ["tree/p"], name="tree/Shape_p", start=1, end=2),
        helper.make_node("Concat", ["tree/bt", "tree/p"], ["tree/btp"], name="tree/Concat_shape", axis=0),
        helper.make_node("ConstantOfShape", ["tree/btp"], ["tree/past_false"], name="tree/PastFalse",
                         value=helper.make_tensor("false", onnx.TensorProto.BOOL, [1], [False])),
        helper.make_node("Concat", ["tree/past_false", TREE_MASK], ["tree/new_part"], name="tree/Concat_mask", axis=2),
    ]
    for node, index in sites:
        node.input[index] = "tree/new_part"
    nodes = added + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    prune_unused(g)  # the causal parts nothing reads now
    onnx.checker.check_model(model)
    return len(sites)


REWRITES = {
    "attention": (attention_without_transposes, "attentions"),
    "int8": (quantize_model, "MatMuls"),
    "tree": (tree_mask_input, "masks"),
}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in REWRITES:
        raise SystemExit(__doc__)
    kind, src, dst = sys.argv[1:]
    model = onnx.load(src)
    rewrite, what = REWRITES[kind]
    count = rewrite(model)
    onnx.save(model, dst)
    print(f"{dst}: {kind}, {count} {what} rewritten")


if __name__ == "__main__":
    main()
