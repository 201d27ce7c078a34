"""A genome compiled to ONNX, layerised into matrix multiplies, with the coords interface.

    layers = genome_layers(g)             # topological layers of the nodes the outputs need
    proto = genome_model(g, label="skull") # coords [N, 2], z [B, Z] -> rgb [B, N, C]; metadata kind=genome

Node by node, a 23-node genome would be hundreds of tiny ONNX ops per chunk of pixels. Instead
each node goes into a layer (one more than the deepest of its sources), and each layer is a few
``MatMul`` s: one over the coordinate features [x, y, d] ([N, 3]), one over the latent ([B, Z]),
and one over each earlier layer that links into it ([B, N, n]), plus the bias links as a
constant vector; a preset's genome is then exactly the preset's matrices. Within a layer the nodes are ordered by
activation, so each activation is applied once to a contiguous slice. The numbers a genome
computes are ``graph.genome.evaluate``'s; only the order of the float additions differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from .builder import ACTIVATIONS as BASE_ONNX
from .builder import GraphBuilder
from .export import model_proto
from .genome import D_SCALE, GENOME_ACTIVATIONS, Genome, genome_json, topological_order

ACTIVATIONS: dict[str, Callable[[GraphBuilder, str], str]] = {
    **BASE_ONNX,
    "signed_gaussian": lambda g, x: g.op("Sub", g.op("Mul", BASE_ONNX["gaussian"](g, x), g.scalar(2.0)), g.scalar(1.0)),
    "signed_sigmoid": lambda g, x: g.op("Sub", g.op("Mul", g.op("Sigmoid", x), g.scalar(2.0)), g.scalar(1.0)),
}
assert set(ACTIVATIONS) == set(GENOME_ACTIVATIONS)

# Picbreeder's signed activations are a * base(x) + b of a table one: the graph applies the base
# and folds a and b into the weights of the links that read the node (and into the outputs), two
# elementwise passes fewer per node. With the bias in the coordinate MatMul and each layer's
# sources joined, the skull's graph went from 136 ops to 94, and 2880x1800 from 2.3 s to 1.0 s.
AFFINE: dict[str, tuple[str, float, float]] = {
    "signed_gaussian": ("gaussian", 2.0, -1.0),
    "signed_sigmoid": ("sigmoid", 2.0, -1.0),
}


def emitted(activation: str) -> str:
    """The activation the graph applies for a node (the base of a signed one)."""
    return AFFINE[activation][0] if activation in AFFINE else activation


def needed_nodes(genome: Genome) -> set[int]:
    """Ids of the non-input nodes some output depends on (the others are dead and not compiled)."""
    sources: dict[int, list[int]] = {}
    for link in genome.enabled_links:
        sources.setdefault(link.target, []).append(link.source)
    kinds = {n.id: n.kind for n in genome.nodes}
    todo = [n.id for n in genome.outputs]
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if node in seen or kinds[node] == "input":
            continue
        seen.add(node)
        todo.extend(sources.get(node, []))
    return seen


def genome_layers(genome: Genome) -> list[list[int]]:
    """The needed non-input nodes in topological layers; within a layer, grouped by activation."""
    needed = needed_nodes(genome)
    by_id = genome.by_id
    depth: dict[int, int] = {}
    sources: dict[int, list[int]] = {}
    for link in genome.enabled_links:
        sources.setdefault(link.target, []).append(link.source)
    for node in topological_order(genome):
        if node in needed:
            depth[node] = 1 + max((depth.get(s, 0) for s in sources.get(node, [])), default=0)
    layers: list[list[int]] = [[] for _ in range(max(depth.values(), default=0))]
    for node, d in depth.items():
        layers[d - 1].append(node)
    return [sorted(layer, key=lambda n: (emitted(by_id[n].activation), n)) for layer in layers]


def layer_weights(genome: Genome, layer: list[int], column: dict[int, int]) -> dict[str, np.ndarray]:
    """The weight matrices of one layer: rows x, y, d (coords), z, earlier outputs; bias as a vector."""
    by_id = genome.by_id
    n = len(layer)
    at = {node: j for j, node in enumerate(layer)}
    w = {
        "coords": np.zeros((3, n), np.float32),
        "z": np.zeros((genome.z_dim, n), np.float32),
        "hidden": np.zeros((len(column), n), np.float32),
        "bias": np.zeros(n, np.float32),
    }
    rows = {"x": 0, "y": 1, "d": 2}
    for link in genome.enabled_links:
        if link.target not in at:
            continue
        j, source = at[link.target], by_id[link.source]
        if source.kind != "input":
            w["hidden"][column[link.source], j] += link.weight
        elif source.label == "bias":
            w["bias"][j] += link.weight
        elif source.label in rows:
            w["coords"][rows[source.label], j] += link.weight
        else:
            w["z"][int(source.label[1:]), j] += link.weight
    return w


def _activate_groups(g: GraphBuilder, genome: Genome, layer: list[int], pre: str) -> str:
    """Each run of one activation in the layer applied to its slice of ``pre`` [B, N, n], rejoined."""
    by_id = genome.by_id
    runs: list[tuple[str, int, int]] = []
    for j, node in enumerate(layer):
        name = emitted(by_id[node].activation)
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1], j + 1)
        else:
            runs.append((name, j, j + 1))
    if len(runs) == 1:
        return ACTIVATIONS[runs[0][0]](g, pre)
    axis = g.const("axis", np.array([2], np.int64))
    parts = []
    for name, start, stop in runs:
        piece = g.op(
            "Slice", pre, g.const("s", np.array([start], np.int64)), g.const("e", np.array([stop], np.int64)), axis
        )
        parts.append(ACTIVATIONS[name](g, piece))
    return g.op("Concat", *parts, axis=2)


def _colour(g: GraphBuilder, genome: Genome, out: str) -> str:
    """Output values [B, N, K] -> colours [B, N, C] in [0, 1], as ``genome.colour_map``."""
    zero, one = g.scalar(0.0), g.scalar(1.0)
    if genome.colour != "hsv":
        if genome.squash == "half":
            out = g.op("Add", g.op("Mul", out, g.scalar(0.5)), g.scalar(0.5))
        elif genome.squash == "abs":
            out = g.op("Abs", out)
        return g.op("Clip", out, zero, one)

    def channel(k: int) -> str:
        return g.op("Gather", out, g.const("k", np.array([k], np.int64)), axis=2)  # [B, N, 1]

    h, s, v = channel(0), channel(1), channel(2)
    h = g.op("Add", h, one)
    h = g.op("Sub", h, g.op("Floor", h))
    s = g.op("Clip", s, zero, one)
    v = g.op("Clip", g.op("Abs", v), zero, one)
    k = g.op("Add", g.op("Mul", h, g.scalar(6.0)), g.const("n", np.array([5.0, 3.0, 1.0], np.float32)))
    six = g.scalar(6.0)
    k = g.op("Sub", k, g.op("Mul", six, g.op("Floor", g.op("Div", k, six))))
    ramp = g.op("Clip", g.op("Min", k, g.op("Sub", g.scalar(4.0), k)), zero, one)
    return g.op("Sub", v, g.op("Mul", g.op("Mul", v, s), ramp))


def _fold_affine(genome: Genome, w: dict[str, np.ndarray], order: list[int]) -> None:
    """Rows of ``w["hidden"]`` that read a signed node: a * row, and b * row into the bias."""
    by_id = genome.by_id
    for row, node in enumerate(order):
        spec = AFFINE.get(by_id[node].activation)
        if spec is not None and w["hidden"][row].any():
            w["bias"] += spec[2] * w["hidden"][row]
            w["hidden"][row] *= spec[1]


def genome_graph(genome: Genome) -> onnx.GraphProto:
    """The layerised ONNX graph of a genome (see the module docstring)."""
    g = GraphBuilder()
    axis1 = g.const("axis1", np.array([1], np.int64))
    r = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", "coords", "coords"), axis1, keepdims=1))
    ones = g.op("Add", g.op("Mul", r, g.scalar(0.0)), g.scalar(1.0))
    # [N, 4]: x, y, d and 1, so the bias links ride in the coordinate MatMul
    features = g.op("Concat", "coords", g.op("Mul", r, g.scalar(D_SCALE)), ones, axis=1)
    column: dict[int, int] = {}
    order: list[int] = []  # node of each column
    outs: list[tuple[str, int, int]] = []  # each earlier layer's output [B, N, n] and its columns
    for index, layer in enumerate(genome_layers(genome)):
        w = layer_weights(genome, layer, column)
        _fold_affine(genome, w, order)
        coords = np.vstack([w["coords"], w["bias"][None]])
        terms = []
        if index == 0 or coords.any():  # layer 0 always: it gives every value its N axis
            terms.append(g.op("MatMul", features, g.const("wc", coords)))
        if index == 0 or w["z"].any():  # and its B axis
            terms.append(g.op("Unsqueeze", g.op("MatMul", "z", g.const("wz", w["z"])), axis1))
        # The earlier layers that feed this one, joined for one MatMul: not all earlier values (a
        # preset's genome ran 3.2x slower joining those), not one MatMul each (the skull's narrow
        # layers made 36 tiny MatMuls).
        sources = [(value, w["hidden"][a:b]) for value, a, b in outs if w["hidden"][a:b].any()]
        if len(sources) == 1:
            terms.append(g.op("MatMul", sources[0][0], g.const("wh", sources[0][1])))
        elif sources:
            joined = g.op("Concat", *(value for value, _ in sources), axis=2)
            terms.append(g.op("MatMul", joined, g.const("wh", np.vstack([block for _, block in sources]))))
        pre = terms[0]
        for term in terms[1:]:
            pre = g.op("Add", pre, term)
        start = len(column)
        for node in layer:
            column[node] = len(column)
            order.append(node)
        outs.append((_activate_groups(g, genome, layer, pre), start, len(column)))
    picks = []
    for output in genome.outputs:
        value, start, _ = next(o for o in outs if o[1] <= column[output.id] < o[2])
        pick = g.op("Gather", value, g.const("k", np.array([column[output.id] - start], np.int64)), axis=2)
        spec = AFFINE.get(output.activation)
        if spec is not None:
            pick = g.op("Add", g.op("Mul", pick, g.scalar(spec[1])), g.scalar(spec[2]))
        picks.append(pick)
    joined = picks[0] if len(picks) == 1 else g.op("Concat", *picks, axis=2)
    g.rename(_colour(g, genome, joined), "rgb")
    inputs = [
        helper.make_tensor_value_info("coords", TensorProto.FLOAT, ["N", 2]),
        helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", genome.z_dim]),
    ]
    outputs = [helper.make_tensor_value_info("rgb", TensorProto.FLOAT, ["B", "N", genome.channels])]
    return g.graph("genome", inputs, outputs)


def genome_metadata(genome: Genome, label: str = "") -> dict[str, Any]:
    """The metadata_props of a genome model: the coords interface's fields plus the genome itself."""
    return {
        "kind": "genome",
        "interface": "coords",
        "z_dim": str(genome.z_dim),
        "channels": str(genome.channels),
        "preset": label,
        "seed": "",
        "z_prior": "uniform",
        "genome": genome_json(genome),
    }


def genome_model(genome: Genome, label: str = "") -> onnx.ModelProto:
    """A self-describing ONNX model of a genome (``render``, ``grid``, ``morph`` need nothing else)."""
    return model_proto(genome_graph(genome), genome_metadata(genome, label))
