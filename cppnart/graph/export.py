"""ONNX models for CPPN weights, built with onnx.helper from numpy arrays (no torch).

The interface every coordinate generator shares (docs/design.md): inputs ``coords`` float32
[N, 2] and ``z`` float32 [B, Z], output ``rgb`` float32 [B, N, C] in [0, 1], N and B dynamic.
Metadata_props make a file self-describing: kind, interface, z_dim, channels, preset, seed,
z_prior, version, and the config as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..__about__ import __version__
from ..io.atomic import atomic_output
from .builder import GraphBuilder
from .weights import CPPNWeights

OPSET = 17
IR_VERSION = 8  # the lowest IR that carries opset 17: readable by every onnxruntime since 1.11


def cppn_graph(weights: CPPNWeights) -> onnx.GraphProto:
    """The graph of ``graph.numpy_forward.forward`` for these weights."""
    g = GraphBuilder()
    scale = np.float32(weights.scale)
    # Fold the input scale into the first layer's weights: one multiply less per coordinate.
    w_coords = g.const("w_coords", (weights.w_coords * scale).astype(np.float32))
    w_z = g.const("w_z", (weights.w_z * scale).astype(np.float32))
    axis1 = g.const("axis1", np.array([1], np.int64))

    if weights.periods is not None:  # a seamless tile: the coordinates go round a torus first
        from .periodic import torus_front

        xyr = torus_front(g, "coords", weights.periods)  # [N, 5]
    else:
        r = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", "coords", "coords"), axis1, keepdims=1))
        xyr = g.op("Concat", "coords", r, axis=1)  # [N, 3]
    coord_part = g.op("MatMul", xyr, w_coords)  # [N, W]
    z_part = g.op("Add", g.op("MatMul", "z", w_z), g.const("b0", weights.b0))  # [B, W]
    z_part = g.op("Unsqueeze", z_part, axis1)  # [B, 1, W]
    h = g.activation(weights.activations[0], g.op("Add", coord_part, z_part))  # [B, N, W]
    for act, (w, b) in zip(weights.activations[1:], weights.hidden):
        y = g.activation(act, g.op("Add", g.op("MatMul", h, g.const("w", w)), g.const("b", b)))
        h = g.op("Add", h, y) if weights.residual else y
    logits = g.op("Add", g.op("MatMul", h, g.const("w_out", weights.w_out)), g.const("b_out", weights.b_out))
    g.rename(g.squash(weights.output, logits), "rgb")

    inputs = [
        helper.make_tensor_value_info("coords", TensorProto.FLOAT, ["N", 2]),
        helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", weights.z_dim]),
    ]
    outputs = [helper.make_tensor_value_info("rgb", TensorProto.FLOAT, ["B", "N", weights.channels])]
    return g.graph("cppn", inputs, outputs)


def model_proto(graph: onnx.GraphProto, metadata: dict[str, Any]) -> onnx.ModelProto:
    """A model around ``graph`` with cppnart's opset, IR version and metadata (non-strings as JSON)."""
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="cppnart",
        producer_version=__version__,
    )
    model.ir_version = IR_VERSION
    meta = {"version": __version__, **metadata}
    helper.set_model_props(model, {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()})
    return model


def cppn_model(
    weights: CPPNWeights,
    *,
    preset: str,
    seed: int | None,
    config: dict[str, Any],
    z_prior: str = "uniform",
    kind: str = "cppn",
    extra: dict[str, Any] | None = None,
) -> onnx.ModelProto:
    """A self-describing ONNX model for CPPN weights."""
    metadata = {
        "kind": kind,
        "interface": "coords",
        "z_dim": str(weights.z_dim),
        "channels": str(weights.channels),
        "preset": preset,
        "seed": "" if seed is None else str(seed),
        "z_prior": z_prior,
        "config": config,
        **(extra or {}),
    }
    return model_proto(cppn_graph(weights), metadata)


def save_model(model: onnx.ModelProto, path: str | Path) -> Path:
    """Write one self-contained .onnx file atomically."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(model.SerializeToString())
    return Path(path)
