"""Fold the shape arithmetic torch.onnx leaves in the role graphs.

The tracer turns every `x.view(B, T, H, Dh)` into Shape → Gather → Unsqueeze → Concat → Reshape, and
every `x[..., : Dh // 2]` into Shape → Gather → Add → Div → Mul → Slice, all evaluated on every call.
At this model size a graph call is dominated by such small nodes (docs/results.md: MatMul is ~40 % of
`full`'s kernel time), and ONNX Runtime cannot fold them itself because the batch and time axes are
dynamic. This pass folds what is static:

- a Reshape target whose entries are each a constant, or the input's own batch or time size read back
  through Shape → Gather (then 0, "copy that axis"), with at most one other entry left to -1;
- Gather(Shape(x), k) where axis k of x is static (after the rewritten Reshapes make head sizes known);
- any Add/Sub/Mul/Div/Unsqueeze/Concat/Cast/Squeeze whose inputs are all constants.

Exactness is not assumed: export_model runs its ONNX Runtime parity check (≤ 1e-4 against PyTorch, on
cases with distinct batch, new and past sizes) on the simplified graphs.

    simplify_model(model)   # in place; returns how many nodes it removed
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

FOLDABLE = {"Add", "Sub", "Mul", "Div", "Unsqueeze", "Squeeze", "Concat", "Cast"}


def _constants(graph) -> dict:
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer if np.prod(i.dims) <= 16}
    for n in graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    values[n.output[0]] = numpy_helper.to_array(a.t)
    return values


def _static_dims(model) -> dict:
    """name → list of int-or-None per axis, from ONNX shape inference."""
    inferred = shape_inference.infer_shapes(model)
    dims = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            dims[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return dims


def _fold(op: str, args: list, node) -> np.ndarray:
    attr = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if op == "Add":
        return args[0] + args[1]
    if op == "Sub":
        return args[0] - args[1]
    if op == "Mul":
        return args[0] * args[1]
    if op == "Div":  # ONNX Div on integers truncates toward zero
        a, b = args
        return (np.trunc(a / b).astype(a.dtype)) if a.dtype.kind in "iu" else a / b
    if op == "Unsqueeze":
        axes = args[1] if len(args) > 1 else attr["axes"]
        out = args[0]
        for ax in sorted(int(x) for x in np.atleast_1d(axes)):
            out = np.expand_dims(out, ax)
        return out
    if op == "Squeeze":
        axes = args[1] if len(args) > 1 else attr.get("axes")
        return np.squeeze(args[0], axis=tuple(int(x) for x in np.atleast_1d(axes))) if axes is not None else np.squeeze(args[0])
    if op == "Concat":
        return np.concatenate(args, axis=attr["axis"])
    if op == "Cast":
        return args[0].astype(helper.tensor_dtype_to_np_dtype(attr["to"]))
    raise ValueError(op)


def _reshape_target(node, producers: dict, constants: dict) -> np.ndarray | None:
    """A constant equivalent of a Reshape's computed target, or None when not provably the same."""
    concat = producers.get(node.input[1])
    if concat is None or concat.op_type != "Concat":
        return None
    out, unknown = [], 0
    for j, piece in enumerate(concat.input):
        if piece in constants:
            out.extend(int(v) for v in np.atleast_1d(constants[piece]))
            continue
        unsq = producers.get(piece)
        gather = producers.get(unsq.input[0]) if unsq is not None and unsq.op_type == "Unsqueeze" else None
        shape = producers.get(gather.input[0]) if gather is not None and gather.op_type == "Gather" else None
        if shape is None or shape.op_type != "Shape" or gather.input[1] not in constants:
            return None
        axis = int(constants[gather.input[1]])
        # The batch and time axes of every tensor reshaped in these graphs are the data's own axes 0
        # and 1 (the parity check proves it for each graph); anything else becomes the one inferred -1.
        if axis == j and j < 2 and len(out) == j:
            out.append(0)
        else:
            out.append(-1)
            unknown += 1
    return np.asarray(out, np.int64) if unknown <= 1 else None


def simplify_model(model: onnx.ModelProto) -> int:
    graph = model.graph
    before = len(graph.node)
    constants = _constants(graph)
    producers = {o: n for n in graph.node for o in n.output}
    counter = 0

    def constant_input(value: np.ndarray) -> str:
        nonlocal counter
        counter += 1
        name = f"simplify_const_{counter}"
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        constants[name] = np.asarray(value)
        return name

    # 1. Reshape targets.
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] not in constants:
            target = _reshape_target(node, producers, constants)
            if target is not None:
                node.input[1] = constant_input(target)
    # 2. Static axes read through Shape → Gather, then 3. constant arithmetic, to a fixed point.
    changed = True
    while changed:
        changed = False
        dims = _static_dims(model)
        producers = {o: n for n in graph.node for o in n.output}
        for node in list(graph.node):
            value = None
            if node.op_type == "Gather" and node.input[1] in constants:
                shape = producers.get(node.input[0])
                if shape is not None and shape.op_type == "Shape" and not shape.attribute:
                    known = dims.get(shape.input[0])
                    idx = constants[node.input[1]]
                    if known is not None and all(known[int(i)] is not None for i in np.atleast_1d(idx)):
                        value = np.asarray([d if d is not None else -1 for d in known], np.int64)[idx]
            elif node.op_type == "Shape" and not node.attribute:
                known = dims.get(node.input[0])
                if known is not None and all(d is not None for d in known):
                    value = np.asarray(known, np.int64)
            elif node.op_type in FOLDABLE and node.input and all(i in constants for i in node.input if i):
                value = _fold(node.op_type, [constants[i] for i in node.input if i], node)
            if value is None or node.output[0] in constants:
                continue
            graph.node.remove(node)
            graph.initializer.append(numpy_helper.from_array(np.asarray(value), node.output[0]))
            constants[node.output[0]] = np.asarray(value)
            changed = True
    prune_unused(graph)
    return before - len(graph.node)


def prune_unused(graph) -> None:
    """Drops every node and initializer that no graph output depends on, in place."""
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
