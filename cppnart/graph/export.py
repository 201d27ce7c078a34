"""ONNX models for CPPN weights, built from numpy arrays (no torch, and no onnx on the way to bytes).

The interface every coordinate generator shares (docs/design.md): inputs ``coords`` float32
[N, 2] and ``z`` float32 [B, Z], output ``rgb`` float32 [B, N, C] in [0, 1], N and B dynamic.
Metadata_props make a file self-describing: kind, interface, z_dim, channels, preset, seed,
z_prior, version, and the config as JSON.

``cppn_model_bytes`` is what a preset's render uses: the serialised file, written by
``graph/proto.py`` without importing onnx. ``cppn_model`` and ``model_proto`` give the same bytes
as an ``onnx.ModelProto`` for code that inspects or edits it (training, the viewer, tests).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

import numpy as np

from ..__about__ import __version__
from ..io.atomic import atomic_output
from .builder import GraphBuilder
from .proto import FLOAT, ValueInfo, model_bytes
from .weights import CPPNWeights

if TYPE_CHECKING:
    import onnx

OPSET = 17
IR_VERSION = 8  # the lowest IR that carries opset 17: readable by every onnxruntime since 1.11

P = ParamSpec("P")


def cppn_graph(weights: CPPNWeights) -> onnx.GraphProto:
    """The graph of ``graph.numpy_forward.forward`` for these weights."""
    import onnx

    return onnx.GraphProto.FromString(cppn_graph_bytes(weights))


def cppn_graph_bytes(weights: CPPNWeights) -> bytes:
    """The serialised graph of ``cppn_graph``, built without onnx."""
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

    inputs = [ValueInfo("coords", FLOAT, ["N", 2]), ValueInfo("z", FLOAT, ["B", weights.z_dim])]
    outputs = [ValueInfo("rgb", FLOAT, ["B", "N", weights.channels])]
    return g.graph_bytes("cppn", inputs, outputs)


def metadata_props(metadata: dict[str, Any]) -> dict[str, str]:
    """The metadata_props of a cppnart file: the version first, then ``metadata`` (non-strings as JSON)."""
    meta = {"version": __version__, **metadata}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}


def model_proto_bytes(graph: bytes, metadata: dict[str, Any]) -> bytes:
    """A serialised model around serialised ``graph`` with cppnart's opset, IR version and metadata."""
    return model_bytes(
        graph,
        ir_version=IR_VERSION,
        opset=OPSET,
        producer_name="cppnart",
        producer_version=__version__,
        metadata=metadata_props(metadata),
    )


def model_proto(graph: onnx.GraphProto, metadata: dict[str, Any]) -> onnx.ModelProto:
    """A model around ``graph`` with cppnart's opset, IR version and metadata (non-strings as JSON)."""
    import onnx

    return onnx.ModelProto.FromString(model_proto_bytes(graph.SerializeToString(), metadata))


def cppn_model_bytes(
    weights: CPPNWeights,
    *,
    preset: str,
    seed: int | None,
    config: dict[str, Any],
    z_prior: str = "uniform",
    kind: str = "cppn",
    extra: dict[str, Any] | None = None,
) -> bytes:
    """``cppn_model(...).SerializeToString()``, without importing onnx: what a preset's render uses."""
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
    return model_proto_bytes(cppn_graph_bytes(weights), metadata)


def parsed_model(build: Callable[P, bytes], name: str, doc: str) -> Callable[P, onnx.ModelProto]:
    """The ``onnx.ModelProto`` twin of an onnx-free builder: the same arguments, its bytes parsed.

    One signature serves both, so they cannot drift apart; onnx is imported on the call, not
    here, so importing this module (a preset's render) still never pays onnx's 1.2 s import.
    """

    def model(*args: P.args, **kwargs: P.kwargs) -> onnx.ModelProto:
        import onnx

        return onnx.ModelProto.FromString(build(*args, **kwargs))

    model.__name__ = model.__qualname__ = name
    model.__doc__ = doc
    # help() and inspect.signature show build's arguments, returning the proto
    model.__signature__ = inspect.signature(build).replace(return_annotation="onnx.ModelProto")  # type: ignore[attr-defined]
    return model


cppn_model = parsed_model(cppn_model_bytes, "cppn_model", "A self-describing ONNX model for CPPN weights.")


def save_model(model: onnx.ModelProto | bytes, path: str | Path) -> Path:
    """Write one self-contained .onnx file (a ModelProto or its bytes) atomically."""
    data = model if isinstance(model, bytes) else model.SerializeToString()
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
