"""A drafter's drafts in one ONNX Runtime call per verification step: the manifest's "chains".

    chain_voice(Path("native-models/voice"))   # <drafter>_chain.g<gamma>.onnx + <drafter>_chain.weights
    python3 -m spear_voice.t2s.chain native-models/voice

Why: greedy drafting with a model drafter (EAGLE, the draft model) costs gamma session runs, one
per drafted token, and at this size a run's fixed cost (building feeds and output tensors, the
binding's hop, the session's dispatch) is a third of an EAGLE drafter run. The same nodes chained in one graph
ran a gamma-4 eagle block in 633-668 µs against 853-857 µs for four runs (batch 1, 150 cached
positions; docs/results.md).

One graph per gamma and drafter, built from the graph the manifest ships (its int8 file when
quantised), node for node: a catch-up call exactly as one call of the drafter (its new keys and values
are outputs, which the engine keeps as usual), the argmax at the last position is draft 1, then
gamma - 1 copies of the drafter fed the previous draft (and, for EAGLE, its predicted hidden
state) at the next position, each attending over the cache with the earlier drafts' keys appended.
That is the arithmetic of gamma separate calls, so the drafts are the drafter's (tests/core/engine/
chain.test.ts compares them call for call; on the shipped voice, 6,337 steps of both drafters over the
bench texts at gamma 2, 3, 5 and 8 drafted identically).
- EAGLE's drafted positions were fed its own predicted hidden states and are dropped after
  verification, so they stay inside the call. The draft model's were fed real tokens, and one run per
  token keeps the accepted ones: its chain returns them after the catch-up's, so the engine keeps them
  too, and every call sees the positions it would see one run per token (int8 weights quantise a
  call's activations over all the positions it is fed: without this, 21 % of the draft's steps drafted
  differently).
- Two things a step copy does not need are left out: its attention mask (one token after a cache with
  no stale position sees every key, so Where(hidden, -inf, scores) is the scores; ~20 nodes per layer)
  and a second copy of the cache (the attention's own Concat(past, new) is the next step's cache): a
  gamma-4 eagle chain in 529 µs instead of 622 (graph_cost.mjs). The engine passes a single row's past
  with exactly past_len positions, which is what makes the mask removable; the catch-up keeps its mask.
- Batch 1 only: appending keys at the end is right for one row; rows of different lengths would need a
  scatter per step, which cost more than it saved (measured), so batches keep the step graph.
- ONNX Runtime's control flow was measured too and lost: a Loop over the steps cost ~35 µs per
  iteration more than unrolled nodes, and a ladder of If nodes choosing gamma cost 130-450 µs per call.
- A drafter's graphs share one weights file (ONNX external data), so each gamma adds 0.05-0.25 MB.
- Sampled drafting (temperature only, no top-k or top-p) has chains too, built beside the greedy ones
  (`<drafter>_chain.s<gamma>.onnx`, the manifest's chains.<drafter>.sampled): each step draws its token
  by inverse CDF from softmax(logits * inv_temperature) with one of the call's `uniforms` (the row's own
  draws, one per draft, in the order one run per token would use them) and the chain returns every
  step's logits. The engine computes q from those logits exactly as one run per token does and checks
  that its own draw with the same uniform is the chain's; where float32 rounding in the graph put a
  uniform on the other side of a boundary (rare), it drafts that step again one run per token with the
  same uniforms, so the drafts are always the ones one run per token would make (electron/core/engine/
  drafters/chain.ts).
"""

import argparse
import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper, numpy_helper

from .contract import (CHAINED_DRAFTERS, DRAFT_LOGITS, DRAFTS, HIDDEN_IN, HIDDEN_OUT, INPUT_IDS, INV_TEMPERATURE, LOGITS,
                       PAST_LEN, POSITIONS, UNIFORMS, chain_names, expected_names, new_key, new_value, past_key, past_value)
from .export import sha256
from .data import write_atomic
from .simplify import prune_unused

GAMMAS = (2, 3, 4, 5, 6, 7, 8)  # the studio's gamma sweep goes to 8 (electron/service/sweep.ts); gamma 1 is one call anyway
# NOTE: these two texts are written into every manifest's "chains" (the shipped voice's and the test fixtures'),
# so they keep naming this module by the name it had when those were built: changing them changes every manifest.
CONSTRUCTION = "the drafter graph's nodes: a catch-up call, then gamma - 1 greedy steps, batch 1 (spear_t2s/chain.py)"
SAMPLED_CONSTRUCTION = ("the greedy chain with each argmax replaced by an inverse-CDF draw from softmax(logits * inv_temperature) "
                        "with that step's uniform; each step's logits out (spear_t2s/chain.py)")
ALIGN = 64  # byte alignment of each tensor in the weights file
INLINE_BELOW = 1024  # bytes: smaller initializers (shapes, scalars) stay in each graph; shape inference reads them


def _const(name: str, values: list[int], scalar: bool = False) -> onnx.NodeProto:
    dims = [] if scalar else [len(values)]
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_value", TensorProto.INT64, dims, values))


def _copy_nodes(step: onnx.GraphProto, prefix: str, binds: dict[str, str], keep: set[str]) -> list[onnx.NodeProto]:
    """The step graph's nodes with every value renamed to prefix+name, but for initializers (`keep`) and
    the names `binds` maps to values of the chain."""
    rename = lambda n: n if n == "" or n in keep else binds.get(n, prefix + n)  # noqa: E731
    nodes = []
    for node in step.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.input[:] = [rename(n) for n in node.input]
        copy.output[:] = [rename(n) for n in node.output]
        copy.name = prefix + (node.name or node.op_type)
        nodes.append(copy)
    return nodes


def _unmask(nodes: list[onnx.NodeProto]) -> int:
    """In a step copy that feeds one token after a cache with no stale positions, every key is visible:
    each attention's Where(not visible, -inf, scores) before its Softmax passes the scores unchanged, so
    the Softmax reads the scores directly (bit-identical) and the mask's ~20 nodes fall out with
    prune_unused. Returns how many masks were bypassed."""
    produced = {o: n for n in nodes for o in n.output}
    bypassed = 0
    for node in nodes:
        where = produced.get(node.input[0]) if node.op_type == "Softmax" else None
        if where is None or where.op_type != "Where":
            continue
        fill = produced.get(where.input[1])
        if fill is None or fill.op_type != "Constant" or not (numpy_helper.to_array(fill.attribute[0].t) == float("-inf")).all():
            continue
        node.input[0] = where.input[2]
        bypassed += 1
    return bypassed


def _cache_concat(step: onnx.GraphProto, past: str, new: str) -> str | None:
    """The step graph's own Concat(past, new) along positions, if it has one: the attention's keys or
    values, which are exactly the next step's cache, so the chain reuses them instead of a second copy."""
    for node in step.node:
        axis = next((a.i for a in node.attribute if a.name == "axis"), None)
        if node.op_type == "Concat" and list(node.input) == [past, new] and axis == 1:
            return node.output[0]
    return None


def _draw(prefix: str, logits: str, step: int) -> list[onnx.NodeProto]:
    """Nodes drawing `prefix`/token (1, 1) from softmax(logits * inv_temperature), logits (1, 1, V), by
    inverse CDF with uniform number `step`: the first index whose cumulative probability exceeds it, as
    electron/core/engine/sampling.ts's sampleIndex does."""
    node = helper.make_node
    return [
        _const(f"{prefix}/u_start", [step]), _const(f"{prefix}/u_end", [step + 1]),
        node("Slice", [UNIFORMS, f"{prefix}/u_start", f"{prefix}/u_end", "axis1"], [f"{prefix}/u"]),  # (1, 1)
        node("Unsqueeze", [f"{prefix}/u", "axis2"], [f"{prefix}/u3"]),  # (1, 1, 1)
        node("Mul", [logits, INV_TEMPERATURE], [f"{prefix}/scaled"]),
        node("Softmax", [f"{prefix}/scaled"], [f"{prefix}/q"], axis=-1),
        node("CumSum", [f"{prefix}/q", "axis_last"], [f"{prefix}/cdf"]),
        node("Less", [f"{prefix}/u3", f"{prefix}/cdf"], [f"{prefix}/past_u"]),
        node("Cast", [f"{prefix}/past_u"], [f"{prefix}/past_u_f"], to=TensorProto.FLOAT),
        node("ArgMax", [f"{prefix}/past_u_f"], [f"{prefix}/token"], axis=2, keepdims=0),  # the first index past u
    ]


def build_chain(step_model: onnx.ModelProto, gamma: int, drafter: str = "eagle", sampled: bool = False) -> onnx.ModelProto:
    """The chain of `gamma` greedy drafts made of `step_model`, a `drafter` graph of the contract
    (`eagle`: tokens and the target's hidden states in, one cache layer; `draft`: tokens in, its own
    cache layers; `seed_prophet`: tokens and h_t in, its own cache within the step), with the step's initializers inline, returning each step's logits (DRAFT_LOGITS).
    `sampled`: each draft drawn from the step's softmax(logits * inv_temperature) with one of the
    `uniforms` instead of its argmax."""
    if gamma < 1:
        raise ValueError(f"gamma must be >= 1, not {gamma}")
    if drafter not in CHAINED_DRAFTERS:
        raise ValueError(f"chains are built for {', '.join(CHAINED_DRAFTERS)}, not {drafter}")
    step = step_model.graph
    keep = {i.name for i in step.initializer}
    step_inputs = [i.name for i in step.input]
    step_outputs = [o.name for o in step.output]
    layers = sum(1 for n in step_inputs if n.startswith("past_key_"))
    if (step_inputs, step_outputs) != expected_names(drafter, layers):
        raise ValueError(f"not a {drafter} graph of the contract: it reads {step_inputs} and writes {step_outputs}")
    hidden = HIDDEN_OUT in step_outputs  # EAGLE: each step also feeds the previous step's predicted hidden state
    # The seed prophet reads the target's h_t (only where its input is the start token) and predicts none:
    # every step copy is fed the catch-up's last hidden_in row, as one run per token feeds h_t with each token.
    start_hidden = HIDDEN_IN in step_inputs and not hidden
    caches = [(past_key(n), new_key(n), f"keys{n}") for n in range(layers)] + \
             [(past_value(n), new_value(n), f"values{n}") for n in range(layers)]
    node = helper.make_node

    # The drafted positions' keys and values: EAGLE fed them its own predicted hidden states, so
    # they are dropped after verification and stay inside the call; the draft model fed them real
    # tokens, so the chain returns them after the catch-up's and the engine keeps the accepted ones, as
    # it does for one run per token (and the next catch-up is then the same single position).
    # The seed prophet's cache lives within one step: its drafted positions are dropped as EAGLE's are.
    keeps_drafted = HIDDEN_IN not in step_inputs and gamma > 1
    # The catch-up: the step graph on the row's new positions; its outputs are this graph's cache
    # outputs (or, when the drafted positions' follow them, the first part of them).
    catchup_binds = {n: n for n in step_inputs + step_outputs}
    if keeps_drafted:
        catchup_binds.update({new: f"catchup/{new}" for _, new, _ in caches})
    nodes = _copy_nodes(step, "catchup/", catchup_binds, keep)
    nodes += [
        _const("one", [1], scalar=True), _const("last", [-1]), _const("end", [1 << 62]), _const("axis1", [1]),
        node("Slice", [LOGITS, "last", "end", "axis1"], ["s1/logits"]),  # (1, 1, V)
    ]
    if sampled:
        nodes += [_const("axis2", [2]), _const("axis_last", [-1], scalar=True)] + _draw("s1", "s1/logits", 0)
    else:
        nodes.append(node("ArgMax", ["s1/logits"], ["s1/token"], axis=2, keepdims=0))  # (1, 1): draft 1
    nodes += [
        node("Slice", [POSITIONS, "last", "end", "axis1"], ["s1/last_position"]),
        node("Add", ["s1/last_position", "one"], ["s1/position"]),  # (1, 1): where draft 1 goes
        node("Squeeze", ["s1/position", "axis1"], ["s1/past_len"]),  # (1,): the cache ends just before it
    ]
    if hidden:  # (1, 1, D): draft 1's predicted hidden state
        nodes.append(node("Slice", [HIDDEN_OUT, "last", "end", "axis1"], ["s1/hidden"]))
    if start_hidden:  # (1, 1, F): h_t, fed with every drafted token
        nodes.append(node("Slice", [HIDDEN_IN, "last", "end", "axis1"], ["start_hidden"]))
    # The cache each step attends over, (1, P + T + i, kv). The step graph's attention has already
    # concatenated exactly that (its Concat(past, new)): reused when present, else concatenated here.
    reuse = {past: _cache_concat(step, past, new) for past, new, _ in caches}

    def cache_after(copy_prefix: str, past: str, cache_before: str, new: str, out: str) -> onnx.NodeProto:
        if reuse[past]:
            return node("Identity", [copy_prefix + reuse[past]], [out])
        return node("Concat", [cache_before, new], [out], axis=1)

    nodes += [cache_after("catchup/", past, past, catchup_binds[new], f"s1/{name}") for past, new, name in caches]
    tokens, prev = ["s1/token"], "s1"
    for i in range(2, gamma + 1):
        cur = f"s{i}"
        binds = {INPUT_IDS: f"{prev}/token", POSITIONS: f"{prev}/position", PAST_LEN: f"{prev}/past_len",
                 **{past: f"{prev}/{name}" for past, _, name in caches}}
        if hidden:
            binds.update({HIDDEN_IN: f"{prev}/hidden", HIDDEN_OUT: f"{cur}/hidden"})
        if start_hidden:
            binds[HIDDEN_IN] = "start_hidden"
        step_nodes = _copy_nodes(step, cur + "/", binds, keep)
        if _unmask(step_nodes) != layers:
            raise ValueError(f"expected one attention mask (Where before Softmax) per layer of the {drafter} graph")
        nodes += step_nodes
        if sampled:
            nodes += _draw(cur, f"{cur}/{LOGITS}", i - 1)
        else:
            nodes.append(node("ArgMax", [f"{cur}/{LOGITS}"], [f"{cur}/token"], axis=2, keepdims=0))
        if i < gamma:  # the next step's position, and the cache with this step's keys and values appended
            nodes += [node("Add", [f"{prev}/position", "one"], [f"{cur}/position"]),
                      node("Add", [f"{prev}/past_len", "one"], [f"{cur}/past_len"])]
            nodes += [cache_after(cur + "/", past, f"{prev}/{name}", f"{cur}/{new}", f"{cur}/{name}") for past, new, name in caches]
        tokens.append(f"{cur}/token")
        prev = cur
    nodes.append(node("Concat", tokens, [DRAFTS], axis=1))  # (1, gamma)
    # (1, gamma, V): each step's logits, for the engine's q when sampling and its confidence (adaptive gamma)
    nodes.append(node("Concat", ["s1/logits"] + [f"s{i}/{LOGITS}" for i in range(2, gamma + 1)], [DRAFT_LOGITS], axis=1))
    if keeps_drafted:  # new keys/values: everything after the past in the last step's cache, (1, T + gamma - 1, kv)
        nodes += [node("Shape", [past_key(0)], ["past_shape"]), node("Gather", ["past_shape", "axis1"], ["past_size"], axis=0)]
        for past, new, name in caches:
            last = f"s{gamma}/" + reuse[past] if reuse[past] else f"s{gamma}/{name}"
            if not reuse[past]:
                nodes.append(node("Concat", [f"s{gamma - 1}/{name}", f"s{gamma}/{new}"], [last], axis=1))
            nodes.append(node("Slice", [last, "past_size", "end", "axis1"], [new]))

    inputs, outputs = chain_names(drafter, layers, sampled)
    out_by_name = {o.name: o for o in step.output}
    cache_outputs = [out_by_name[n] for n in outputs if n not in (DRAFTS, DRAFT_LOGITS)]
    if keeps_drafted:  # more positions than were fed: T + gamma - 1
        cache_outputs = [helper.make_tensor_value_info(o.name, o.type.tensor_type.elem_type,
                                                       [1, "fed_and_drafted", o.type.tensor_type.shape.dim[2].dim_value or None])
                         for o in cache_outputs]
    graph_outputs = [helper.make_tensor_value_info(DRAFTS, TensorProto.INT64, [1, gamma])]
    graph_inputs = list(step.input)
    vocab = out_by_name[LOGITS].type.tensor_type.shape.dim[2].dim_value or None
    graph_outputs.append(helper.make_tensor_value_info(DRAFT_LOGITS, TensorProto.FLOAT, [1, gamma, vocab]))
    if sampled:
        graph_inputs += [helper.make_tensor_value_info(UNIFORMS, TensorProto.FLOAT, [1, gamma]),
                         helper.make_tensor_value_info(INV_TEMPERATURE, TensorProto.FLOAT, [1])]
    graph_outputs += cache_outputs
    assert [i.name for i in graph_inputs] == inputs
    name = f"{drafter}_chain_{'sampled_' if sampled else ''}{gamma}"
    graph = helper.make_graph(nodes, name, graph_inputs, graph_outputs, initializer=list(step.initializer))
    prune_unused(graph)  # the bypassed masks' nodes
    model = helper.make_model(graph, opset_imports=list(step_model.opset_import))
    model.ir_version = step_model.ir_version
    onnx.checker.check_model(model)
    return model


def _externalize(model: onnx.ModelProto, offsets: dict[str, tuple[int, int]], location: str) -> None:
    """Points every large initializer of `model` at its bytes in the shared weights file."""
    for tensor in model.graph.initializer:
        if tensor.name not in offsets:
            continue
        offset, length = offsets[tensor.name]
        tensor.ClearField("raw_data")
        for field in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
            tensor.ClearField(field)
        tensor.data_location = TensorProto.EXTERNAL
        del tensor.external_data[:]
        for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value


def _weights_blob(step_model: onnx.ModelProto) -> tuple[bytes, dict[str, tuple[int, int]]]:
    blob, offsets = bytearray(), {}
    for tensor in step_model.graph.initializer:
        raw = numpy_helper.to_array(tensor).tobytes()
        if len(raw) < INLINE_BELOW:
            continue
        blob += b"\0" * (-len(blob) % ALIGN)
        offsets[tensor.name] = (len(blob), len(raw))
        blob += raw
    return bytes(blob), offsets


def chain_voice(model_dir: Path, gammas=None, drafters=CHAINED_DRAFTERS) -> dict:
    """For each chainable drafter graph of the manifest (eagle, draft, seed_prophet; `drafters` only): its chain of each gamma, one
    shared weights file, and its entry in the manifest's "chains" (each file written to a temporary
    name, then renamed; the manifest last). Rerunning rebuilds them from the current drafter graphs.
    `gammas`: default the ones the manifest already lists for that drafter, else GAMMAS. Returns the
    "chains" section."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    chains = manifest.setdefault("chains", {})
    made = {}
    for drafter in drafters:
        graph = manifest["graphs"].get(drafter)
        if graph is None:
            continue
        source = model_dir / graph["file"]
        if sha256(source) != graph["sha256"]:
            raise ValueError(f"{source}: sha256 differs from {manifest_path}; re-export the model")
        old = chains.get(drafter)
        wanted = tuple(gammas or (sorted(int(g) for g in old["gammas"]) if old else GAMMAS))
        step_model = onnx.load(str(source))
        blob, offsets = _weights_blob(step_model)
        weights = f"{drafter}_chain.weights"
        write_atomic(model_dir / weights, blob)
        files, sampled_files = {}, {}
        for gamma in wanted:
            for kind, into in (("g", files), ("s", sampled_files)):
                model = build_chain(step_model, gamma, drafter, sampled=kind == "s")
                _externalize(model, offsets, weights)
                path = model_dir / f"{drafter}_chain.{kind}{gamma}.onnx"
                write_atomic(path, model.SerializeToString())
                into[str(gamma)] = {"file": path.name, "sha256": sha256(path)}
        inputs, outputs = chain_names(drafter, graph["cache_layers"])
        sampled_inputs, sampled_outputs = chain_names(drafter, graph["cache_layers"], sampled=True)
        chains[drafter] = {
            "batch": 1, "cache_layers": graph["cache_layers"], "kv_dim": graph["kv_dim"], "hidden_dim": graph.get("hidden_dim", 0),
            "inputs": inputs, "outputs": outputs, "weights": {"file": weights, "sha256": sha256(model_dir / weights)},
            "gammas": files, "source": {"file": graph["file"], "sha256": graph["sha256"], "construction": CONSTRUCTION},
            "sampled": {"inputs": sampled_inputs, "outputs": sampled_outputs, "gammas": sampled_files,
                        "construction": SAMPLED_CONSTRUCTION},
        }
        made[drafter] = ({**files, **{f"s{g}": f for g, f in sampled_files.items()}}, len(blob))
    write_atomic(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())
    for drafter, (files, weights_size) in made.items():
        for stale in set(model_dir.glob(f"{drafter}_chain.[gs]*.onnx")) - {model_dir / f["file"] for f in files.values()}:
            stale.unlink()
        size = sum((model_dir / f["file"]).stat().st_size for f in files.values()) + weights_size
        gammas_made = ", ".join(g for g in files if not g.startswith("s"))
        print(f"{model_dir}: {drafter} chains for gamma {gammas_made}, greedy and sampled ({size / 1e6:.1f} MB with the shared weights)")
    return chains


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m spear_voice.t2s.chain", description="(Re)build a model folder's chains.")
    parser.add_argument("model_dir", type=Path, help="a folder with manifest.json (spear-t2s/2)")
    parser.add_argument("--gammas", help="comma-separated (default: the manifest's, else 2-8)")
    args = parser.parse_args(argv)
    chain_voice(args.model_dir, tuple(int(g) for g in args.gammas.split(",")) if args.gammas else None)


if __name__ == "__main__":
    main()
