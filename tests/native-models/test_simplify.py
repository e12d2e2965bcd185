"""The exporter folds the tracer's shape arithmetic (spear_voice/t2s/simplify.py): in every committed fixture
graph each Reshape has a constant target and no Slice bound is computed from a Shape. (That the folded graphs
compute the same is the parity test's job.)"""

import onnx
import pytest

from spear_voice import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
GRAPHS = [FIXTURES / f / f"{role}.onnx" for f in ("tiny", "tiny-noexit", "tiny-voice")
          for role in ("full", "trunk", "rest", "exit_head", "draft", "eagle")]


def shape_arithmetic(model: onnx.ModelProto) -> dict:
    constant = {i.name for i in model.graph.initializer} | {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    producers = {o: n for n in model.graph.node for o in n.output}

    def from_shape(name: str, seen: tuple = ()) -> bool:
        node = producers.get(name)
        if node is None or name in seen:
            return False
        return node.op_type == "Shape" or any(from_shape(i, seen + (name,)) for i in node.input if i)

    return {
        "computed_reshapes": sum(1 for n in model.graph.node if n.op_type == "Reshape" and n.input[1] not in constant),
        "shape_slices": sum(1 for n in model.graph.node if n.op_type == "Slice" and any(from_shape(i) for i in n.input[1:3])),
    }


def test_the_check_sees_shape_arithmetic_where_there_is_some():
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N"])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    nodes = [onnx.helper.make_node("Shape", ["x"], ["s"]), onnx.helper.make_node("Reshape", ["x", "s"], ["r"]),
             onnx.helper.make_node("Slice", ["r", "s", "s"], ["y"])]
    model = onnx.helper.make_model(onnx.helper.make_graph(nodes, "g", [x], [y]))
    assert shape_arithmetic(model) == {"computed_reshapes": 1, "shape_slices": 1}


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_exported_graphs_carry_no_shape_arithmetic(path):
    assert shape_arithmetic(onnx.load(str(path))) == {"computed_reshapes": 0, "shape_slices": 0}
