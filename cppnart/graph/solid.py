"""The ONNX graph of a 3-D CPPN (``configs.solid.SolidConfig``), built with ``GraphBuilder``, and
its numpy reference.

Interface ``volume``: inputs ``points`` float32 [N, 3] (x, y, z) and ``z`` float32 [B, Z]; output
``field`` float32 [B, N, 4] in [0, 1]: the density, then red, green, blue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .numpy_forward import activate, squash
from .weights import LayerWeights, weight_rng

FIELD_CHANNELS = 4  # density, red, green, blue


@dataclass(frozen=True)
class SolidWeights(LayerWeights):
    """The arrays of one 3-D CPPN: first layer over (x, y, z, r) and z, hidden layers, 4 outputs."""

    radius: float
    falloff: float
    w_points: np.ndarray  # [4, W] rows x, y, z, r


def random_solid_weights(config: Any, seed: int) -> SolidWeights:
    """Gaussian weights from ``seed`` (the same stream as the 2-D CPPNs' ``random_weights``)."""
    rng = weight_rng(seed)
    w, s, bs = config.width, config.init_scale, config.bias_scale

    def normal(*shape: int, std: float) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    return SolidWeights(
        scale=config.scale,
        activations=tuple(config.activations),
        output=config.output,
        radius=config.radius,
        falloff=config.falloff,
        w_points=normal(4, w, std=s),
        w_z=normal(config.z_dim, w, std=s),
        b0=normal(w, std=bs),
        hidden=tuple((normal(w, w, std=s), normal(w, std=bs)) for _ in range(config.depth - 1)),
        w_out=normal(w, FIELD_CHANNELS, std=s),
        b_out=normal(FIELD_CHANNELS, std=bs),
    )


def _falloff_rows(weights: SolidWeights) -> tuple[np.ndarray, np.ndarray]:
    """r @ row + bias adds -falloff * (r - radius) to the density's logit only."""
    row = np.zeros((1, FIELD_CHANNELS), np.float32)
    row[0, 0] = -weights.falloff
    bias = np.zeros(FIELD_CHANNELS, np.float32)
    bias[0] = weights.falloff * weights.radius
    return row, bias


def solid_forward(weights: SolidWeights, points: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The field [B, N, 4] at points [N, 3] for latents [B, Z]: the reference the graph is tested against."""
    points = np.asarray(points, dtype=np.float32)
    z = np.atleast_2d(np.asarray(z, dtype=np.float32))
    r = np.sqrt((points * points).sum(axis=1, keepdims=True))
    scale = np.float32(weights.scale)
    inputs = np.concatenate([points, r], axis=1)
    pre = (inputs @ (weights.w_points * scale))[None] + (z @ (weights.w_z * scale))[:, None, :] + weights.b0
    h = activate(weights.activations[0], pre)
    for act, (w, b) in zip(weights.activations[1:], weights.hidden):
        h = activate(act, h @ w + b)
    row, bias = _falloff_rows(weights)
    logits = h @ weights.w_out + weights.b_out + (r @ row + bias)[None]
    return squash(weights.output, logits).astype(np.float32)


def solid_graph(weights: SolidWeights) -> Any:
    """The ONNX graph of ``solid_forward`` (through the builder's public calls only)."""
    from onnx import TensorProto, helper

    from .builder import GraphBuilder

    g = GraphBuilder()
    scale = np.float32(weights.scale)
    axis1 = g.const("axis1", np.array([1], np.int64))
    r = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", "points", "points"), axis1, keepdims=1))  # [N, 1]
    xyzr = g.op("Concat", "points", r, axis=1)  # [N, 4]
    point_part = g.op("MatMul", xyzr, g.const("w_points", (weights.w_points * scale).astype(np.float32)))
    z_part = g.op(
        "Add", g.op("MatMul", "z", g.const("w_z", (weights.w_z * scale).astype(np.float32))), g.const("b0", weights.b0)
    )
    h = g.activation(weights.activations[0], g.op("Add", point_part, g.op("Unsqueeze", z_part, axis1)))
    for act, (w, b) in zip(weights.activations[1:], weights.hidden):
        h = g.activation(act, g.op("Add", g.op("MatMul", h, g.const("w", w)), g.const("b", b)))
    row, bias = _falloff_rows(weights)
    shape = g.op("Add", g.op("MatMul", r, g.const("falloff", row)), g.const("falloff_b", bias))  # [N, 4]
    logits = g.op(
        "Add", g.op("Add", g.op("MatMul", h, g.const("w_out", weights.w_out)), g.const("b_out", weights.b_out)), shape
    )
    g.rename(g.squash(weights.output, logits), "field")
    inputs = [
        helper.make_tensor_value_info("points", TensorProto.FLOAT, ["N", 3]),
        helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", weights.z_dim]),
    ]
    outputs = [helper.make_tensor_value_info("field", TensorProto.FLOAT, ["B", "N", FIELD_CHANNELS])]
    return g.graph("solid", inputs, outputs)


def solid_model_bytes(weights: SolidWeights, metadata: dict[str, Any]) -> bytes:
    """A self-describing ONNX file of a 3-D CPPN (kind ``solid``, interface ``volume``)."""
    from .export import model_proto

    meta = {"kind": "solid", "interface": "volume", "z_dim": str(weights.z_dim), "channels": "3", **metadata}
    return bytes(model_proto(solid_graph(weights), meta).SerializeToString())
