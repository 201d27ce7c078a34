"""Periodic coordinate fronts, so a picture tiles seamlessly in both directions.

**Torus** (random CPPNs): before the first layer, each coordinate goes round a circle whose
circumference is the picture's span P along that axis, radius rho = P / 2 pi::

    theta = 2 pi x / P       x -> rho sin theta,   and a new input rho (cos theta - 1)

so x = P / 2 and x = -P / 2 are the same point. The features sit where x, y and r were (r
becomes the torus chord distance sqrt(sum of the four squared features)), with two new rows of
weights for the cosine features. Near the centre rho sin theta ~ x, rho (cos theta - 1) ~ 0 and
the chord ~ r, so the network keeps its look there; nothing else in the network changes.

**Reflection** (any coordinate model, trained ones included): coordinates fold at the view's
centre m, x -> m - |x - m|, so the right half is the left half mirrored and the bottom the top
mirrored: the edges meet themselves. No weight changes, so a trained model keeps what it learnt.

>>> f = torus_features(np.array([[-1.0, 0.0], [1.0, 0.0]], np.float32), (2.0, 2.0))
>>> bool(np.allclose(f[0], f[1], atol=1e-6))
True
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .weights import CPPNWeights

if TYPE_CHECKING:
    from .builder import GraphBuilder

TORUS_INPUTS = 5  # rho sin(theta_x), rho sin(theta_y), chord r, rho (cos(theta_x) - 1), rho (cos(theta_y) - 1)


def torus_features(coords: np.ndarray, periods: tuple[float, float]) -> np.ndarray:
    """The torus inputs [N, 5] of coordinates [N, 2] for ``periods`` (Px, Py), in float32."""
    coords = np.asarray(coords, np.float32)
    period = np.asarray(periods, np.float32)
    rho = period / np.float32(2 * np.pi)
    theta = coords * (np.float32(2 * np.pi) / period)
    s = np.sin(theta) * rho
    c = (np.cos(theta) - np.float32(1)) * rho
    chord = np.sqrt((s * s).sum(axis=1, keepdims=True) + (c * c).sum(axis=1, keepdims=True))
    return np.concatenate([s, chord, c], axis=1).astype(np.float32)


def torus_weights(weights: CPPNWeights, periods: tuple[float, float], seed: int, std: float) -> CPPNWeights:
    """``weights`` with the torus front: the x, y, r rows kept, two rows for the cosine inputs drawn
    (std ``std``, the preset's ``init_scale``) from a stream of ``seed`` the weights do not use."""
    rng = np.random.default_rng([seed, 7])
    extra = (rng.standard_normal((2, weights.width)) * std).astype(np.float32)
    w_coords = np.concatenate([weights.w_coords[:3], extra]).astype(np.float32)
    return replace(weights, w_coords=w_coords, periods=(float(periods[0]), float(periods[1])))


def torus_front(g: GraphBuilder, coords: str, periods: tuple[float, float]) -> str:
    """ONNX nodes computing ``torus_features`` of the tensor ``coords`` [N, 2]: returns the [N, 5] tensor."""
    period = np.asarray(periods, np.float32)
    theta = g.op("Mul", coords, g.const("torus_freq", (np.float32(2 * np.pi) / period).astype(np.float32)))
    rho = g.const("torus_rho", (period / np.float32(2 * np.pi)).astype(np.float32))
    s = g.op("Mul", g.op("Sin", theta), rho)
    c = g.op("Mul", g.op("Sub", g.op("Cos", theta), g.scalar(1.0)), rho)
    axis1 = g.const("axis1", np.array([1], np.int64))
    squares = g.op("Add", g.op("Mul", s, s), g.op("Mul", c, c))
    chord = g.op("Sqrt", g.op("ReduceSum", squares, axis1, keepdims=1))
    return g.op("Concat", s, chord, c, axis=1)


def reflect_coords(coords: np.ndarray, centre: tuple[float, float], periods: tuple[float, float]) -> np.ndarray:
    """Coordinates folded at ``centre`` m, with period P per axis: d = x - m wrapped into
    [-P/2, P/2), then x -> m - |d| (numpy reference of ``reflect_graph``).

    >>> reflect_coords(np.array([[-0.5, 0.5], [0.5, -0.5], [1.5, 0.0]]), (0.0, 0.0), (2.0, 2.0)).tolist()
    [[-0.5, -0.5], [-0.5, -0.5], [-0.5, 0.0]]
    """
    m = np.asarray(centre, np.float32)
    period = np.asarray(periods, np.float32)
    d = np.asarray(coords, np.float32) - m
    d = d - period * np.floor(d * (np.float32(1) / period) + np.float32(0.5))
    return (m - np.abs(d)).astype(np.float32)


def reflect_graph(proto: Any, centre: tuple[float, float], periods: tuple[float, float]) -> Any:
    """A copy of a coordinate model (``onnx.ModelProto``) whose ``coords`` input is folded
    (``reflect_coords``) before anything else sees it."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    folded = "coords_reflected"
    for node in graph.node:
        node.input[:] = [folded if name == "coords" else name for name in node.input]
    period = np.asarray(periods, np.float32)
    constants = {
        "reflect_centre": np.asarray(centre, np.float32),
        "reflect_period": period,
        "reflect_inverse": (np.float32(1) / period).astype(np.float32),
        "reflect_half": np.asarray(0.5, np.float32),
    }
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in constants.items())
    front = [
        helper.make_node("Sub", ["coords", "reflect_centre"], ["reflect_d"]),
        helper.make_node("Mul", ["reflect_d", "reflect_inverse"], ["reflect_turns"]),
        helper.make_node("Add", ["reflect_turns", "reflect_half"], ["reflect_shifted"]),
        helper.make_node("Floor", ["reflect_shifted"], ["reflect_whole"]),
        helper.make_node("Mul", ["reflect_whole", "reflect_period"], ["reflect_back"]),
        helper.make_node("Sub", ["reflect_d", "reflect_back"], ["reflect_wrapped"]),
        helper.make_node("Abs", ["reflect_wrapped"], ["reflect_distance"]),
        helper.make_node("Sub", ["reflect_centre", "reflect_distance"], [folded]),
    ]
    nodes = front + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model
