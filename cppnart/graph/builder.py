"""A small ONNX graph builder: unique names, constants, activations by table name.

g = GraphBuilder()
h = g.activation("tanh", g.op("MatMul", "coords", g.const("w", w)))
graph = g.graph("cppn", inputs, outputs)        # an onnx.GraphProto (imports onnx)
data = g.graph_bytes("cppn", inputs, outputs)   # its serialised bytes, without onnx (graph/proto.py)

Nodes and initializers are kept as ``graph.proto`` values, so building a preset's graph never
imports onnx (0.5-1.5 s of start-up, bench/startup.py); ``graph`` is there for code that edits
the result with onnx.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..configs.activations import OUTPUTS, check_backend
from .proto import Node, Tensor, graph_bytes

if TYPE_CHECKING:
    import onnx


def _softplus(g: GraphBuilder, x: str) -> str:
    # onnxruntime's Softplus kernel is scalar: relu(x) + log(1 + exp(-|x|)) from vectorised ops
    # rendered the softplus preset 2.9x faster (1.78 -> 0.62 s at 2880x1800), same values.
    tail = g.op("Log", g.op("Add", g.op("Exp", g.op("Neg", g.op("Abs", x))), g.scalar(1.0)))
    return g.op("Add", g.op("Relu", x), tail)


# name -> how to emit it; keyed on the activation table (checked below)
ACTIVATIONS: dict[str, Callable[[GraphBuilder, str], str]] = {
    "tanh": lambda g, x: g.op("Tanh", x),
    "softplus": _softplus,
    "sin": lambda g, x: g.op("Sin", x),
    "cos": lambda g, x: g.op("Cos", x),
    "gaussian": lambda g, x: g.op("Exp", g.op("Neg", g.op("Mul", x, x))),
    "abs": lambda g, x: g.op("Abs", x),
    "relu": lambda g, x: g.op("Relu", x),
    "sigmoid": lambda g, x: g.op("Sigmoid", x),
    "identity": lambda g, x: g.op("Identity", x),
}
check_backend("ONNX", ACTIVATIONS)


class GraphBuilder:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.initializers: list[Tensor] = []
        self._count = 0

    def name(self, stem: str) -> str:
        """A fresh tensor name: ``stem`` and a running number, so nodes never collide."""
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, array: Any) -> str:
        """Add ``array`` as an initializer; returns its name."""
        name = self.name(stem)
        self.initializers.append(Tensor(name, np.asarray(array)))
        return name

    def scalar(self, value: float) -> str:
        """A float32 scalar initializer (broadcast by the ops that use it)."""
        return self.const("c", np.float32(value))

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        """Append one ONNX node of ``op_type`` on ``inputs``; returns its output's name."""
        out = out or self.name(op_type.lower())
        self.nodes.append(Node(op_type, list(inputs), [out], attrs))
        return out

    def rename(self, value: str, out: str) -> str:
        """Give the last result a fixed name (a graph output): rename the node that made it."""
        for node in self.nodes:
            node.output[:] = [out if o == value else o for o in node.output]
        return out

    def activation(self, name: str, x: str) -> str:
        """A hidden activation of the table."""
        return ACTIVATIONS[name](self, x)

    def squash(self, name: str, x: str) -> str:
        """An output activation of the table, onto [0, 1]."""
        spec = OUTPUTS[name]
        for step in spec.chain:
            x = self.activation(step, x)
        if spec.half:
            x = self.op("Add", self.op("Mul", x, self.scalar(0.5)), self.scalar(0.5))
        return x

    def graph(self, name: str, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto]):
        """The graph as an ``onnx.GraphProto`` (inputs and outputs: onnx's or ``proto.ValueInfo``)."""
        import onnx

        return onnx.GraphProto.FromString(self.graph_bytes(name, inputs, outputs))

    def graph_bytes(self, name: str, inputs: Sequence[Any], outputs: Sequence[Any]) -> bytes:
        """The serialised GraphProto, the bytes ``graph(...).SerializeToString()`` gives, without onnx."""
        return graph_bytes(name, self.nodes, inputs, outputs, self.initializers)
