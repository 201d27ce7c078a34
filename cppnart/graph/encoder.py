"""ONNX for a trained VAE encoder's mean: the softplus MLP of ``train ganvae``, from numpy weights.

The graph takes ``image`` [B, C, crop, crop] in [0, 1] and returns ``z`` [B, Z]; its metadata
says the crop and data size, so ``render.encoder.RunEncoder`` preprocesses images as training did.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from .builder import GraphBuilder
from .export import model_proto


def encoder_model(
    layers: list[tuple[np.ndarray, np.ndarray]],
    mu: tuple[np.ndarray, np.ndarray],
    *,
    channels: int,
    crop: int,
    data_size: int,
    preset: str,
) -> onnx.ModelProto:
    """ONNX for the softplus MLP encoder: weights as (w [in, out], b [out]) pairs."""
    g = GraphBuilder()
    h = g.op("Flatten", "image", axis=1)
    for w, b in layers:
        h = g.op("Softplus", g.op("Add", g.op("MatMul", h, g.const("w", w)), g.const("b", b)))
    g.op("Add", g.op("MatMul", h, g.const("w_mu", mu[0])), g.const("b_mu", mu[1]), out="z")
    z_dim = mu[0].shape[1]
    graph = g.graph(
        "encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", channels, crop, crop])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", z_dim])],
    )
    metadata = {
        "kind": "encoder",
        "z_dim": str(z_dim),
        "channels": str(channels),
        "crop": str(crop),
        "data_size": str(data_size),
        "preset": preset,
    }
    return model_proto(graph, metadata)
