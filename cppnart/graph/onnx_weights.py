"""CPPN weights read back from an ONNX file that ``graph.export.cppn_graph`` wrote.

    weights = weights_from_onnx(proto)     # CPPNWeights, or None for any other graph

The graphs cppnart builds for CPPNs (random presets, `train fit`, `train ganvae`) are known:
initializers named ``w_coords_*``, ``w_z_*``, ``b0_*``, ``w_*`` / ``b_*`` per hidden layer,
``w_out_*``, ``b_out_*``, and each activation a fixed run of ONNX ops. The activations are
recognised from those runs, and the result is accepted only if rebuilding the graph from it
gives the same ops and the same arrays, so a graph of another shape (a FiLM generator, a conv
glyph model) is never misread: it gets ``None`` and is rendered by onnxruntime instead.
A seamless tile's torus front (``graph.periodic``) is read too: its periods are the file's
``tile_periods`` (exact, where the graph holds only float32 constants made from them).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from ..configs.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from .builder import GraphBuilder
from .export import cppn_graph
from .periodic import torus_front
from .weights import CPPNWeights


def _ops_of(emit: Any) -> list[str]:
    g = GraphBuilder()
    emit(g)
    return [node.op_type for node in g.nodes]


HIDDEN_OPS = {name: _ops_of(lambda g, name=name: g.activation(name, "x")) for name in HIDDEN_ACTIVATIONS}
OUTPUT_OPS = {name: _ops_of(lambda g, name=name: g.squash(name, "x")) for name in OUTPUT_ACTIVATIONS}
FIRST_LAYER_OPS = ["Mul", "ReduceSum", "Sqrt", "Concat", "MatMul", "MatMul", "Add", "Unsqueeze", "Add"]
TORUS_FIRST_OPS = _ops_of(lambda g: torus_front(g, "coords", (1.0, 1.0))) + FIRST_LAYER_OPS[4:]


def _torus_periods(model: onnx.ModelProto) -> tuple[float, float] | None:
    """(Px, Py) of a torus tile's file (its ``tile`` and ``tile_periods`` metadata), else None."""
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("tile") != "torus":
        return None
    try:
        px, py = (float(v) for v in json.loads(meta.get("tile_periods", "")))
    except (ValueError, TypeError):
        return None
    return px, py


def _match(ops: list[str], at: int, layers: int, residual: bool) -> tuple[list[str], str] | None:
    """(hidden activations, output) whose op runs spell ``ops[at:]``; backtracks over ambiguous prefixes."""

    def hidden(pos: int, done: list[str]) -> tuple[list[str], str] | None:
        if len(done) == layers:
            if ops[pos : pos + 2] != ["MatMul", "Add"]:
                return None
            for name, run in OUTPUT_OPS.items():
                if ops[pos + 2 :] == run:
                    return done, name
            return None
        start = pos
        if done:  # a hidden layer: MatMul, Add, activation (, Add when residual)
            if ops[pos : pos + 2] != ["MatMul", "Add"]:
                return None
            start = pos + 2
        for name, run in HIDDEN_OPS.items():
            if ops[start : start + len(run)] == run:
                end = start + len(run)
                if done and residual:
                    if ops[end : end + 1] != ["Add"]:
                        continue
                    end += 1
                found = hidden(end, [*done, name])
                if found:
                    return found
        return None

    return hidden(at, [])


def weights_from_onnx(model: onnx.ModelProto) -> CPPNWeights | None:
    """The CPPN weights of a graph ``cppn_graph`` built (scale already folded in: ``scale == 1``), else None."""
    graph = model.graph
    ops = [node.op_type for node in graph.node]
    arrays: dict[str, list[np.ndarray]] = {}
    for init in graph.initializer:
        arrays.setdefault(init.name.rsplit("_", 1)[0], []).append(numpy_helper.to_array(init))
    try:  # the initializers carry the names of CPPNWeights' fields
        layers = {key: arrays[key][0] for key in ("w_coords", "w_z", "b0", "w_out", "b_out")}
    except KeyError:
        return None
    hidden = tuple(zip(arrays.get("w", []), arrays.get("b", [])))
    periods = _torus_periods(model)
    first = FIRST_LAYER_OPS if periods is None else TORUS_FIRST_OPS
    if ops[: len(first)] != first:
        return None
    for residual in (False, True):
        found = _match(ops, len(first), len(hidden) + 1, residual)
        if found is None:
            continue
        activations, output = found
        weights = CPPNWeights(
            scale=1.0, activations=tuple(activations), output=output, residual=residual, hidden=hidden,
            periods=periods, **layers,
        )  # fmt: skip
        if _same_graph(cppn_graph(weights), graph):
            return weights
    return None


def _same_graph(rebuilt: onnx.GraphProto, graph: onnx.GraphProto) -> bool:
    if [n.op_type for n in rebuilt.node] != [n.op_type for n in graph.node]:
        return False
    if len(rebuilt.initializer) != len(graph.initializer):
        return False
    for a, b in zip(rebuilt.initializer, graph.initializer):
        x, y = numpy_helper.to_array(a), numpy_helper.to_array(b)
        if x.shape != y.shape or not np.array_equal(x, y):
            return False
    return True
