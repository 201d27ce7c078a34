"""The activation table checked across backends: numpy (the reference) vs ONNX through onnxruntime
(and torch, when the caller passes its forward). Used by the parity test and ``bench/parity.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..configs.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from ..configs.cppn import CPPNConfig
from ..graph.export import cppn_model
from ..graph.numpy_forward import forward
from ..graph.weights import CPPNWeights, random_weights

Backend = Callable[[CPPNWeights, np.ndarray, np.ndarray], np.ndarray]


def probe_weights(activation: str, output: str, seed: int = 0) -> CPPNWeights:
    """A tiny net with ``activation`` on both hidden layers and ``output`` on top; weights small
    enough that no activation saturates, so every difference shows."""
    config = CPPNConfig(
        z_dim=3,
        channels=3,
        width=8,
        depth=2,
        activations=(activation,),
        output=output,
        scale=2.0,
        init_scale=0.7,
        bias_scale=0.3,
    )
    return replace(random_weights(config, seed), activations=(activation, activation))


def probe_inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The inputs every backend is compared on: seeded coordinates [257, 2] in [-1.5, 1.5], a little
    past the default view's [-1, 1], and two latents [2, 3]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.5, 1.5, (257, 2)).astype(np.float32), rng.uniform(-1, 1, (2, 3)).astype(np.float32)


def onnx_forward(weights: CPPNWeights, coords: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The ONNX backend for ``parity_table``: export ``weights`` and run them once in onnxruntime on
    one CPU thread."""
    from .runtime import create_session

    proto = cppn_model(weights, preset="parity", seed=0, config={})
    return create_session(proto.SerializeToString(), "cpu", threads=1).run(None, {"coords": coords, "z": z})[0]


def parity_table(backends: dict[str, Backend]) -> dict[tuple[str, str, str], float]:
    """Max |backend - numpy| for every hidden activation x output activation x backend."""
    coords, z = probe_inputs()
    table = {}
    for activation in HIDDEN_ACTIVATIONS:
        for output in OUTPUT_ACTIVATIONS:
            weights = probe_weights(activation, output)
            expected = forward(weights, coords, z)
            for name, backend in backends.items():
                table[(activation, output, name)] = float(np.abs(backend(weights, coords, z) - expected).max())
    return table
