"""The numpy forward pass of a CPPN: the reference every other backend is tested against.

rgb = forward(weights, coords, z)     # coords [N, 2], z [B, Z] -> [B, N, C] in [0, 1]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..configs.activations import OUTPUTS, check_backend
from .weights import CPPNWeights

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(0, x).astype(x.dtype),
    "sin": np.sin,
    "cos": np.cos,
    "gaussian": lambda x: np.exp(-x * x),
    "abs": np.abs,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "identity": lambda x: x,
}
check_backend("numpy", ACTIVATIONS)


def activate(name: str, x: np.ndarray) -> np.ndarray:
    """A hidden activation of the table.

    >>> float(activate("gaussian", np.float32(0.0)))
    1.0
    """
    return ACTIVATIONS[name](x)


def squash(name: str, x: np.ndarray) -> np.ndarray:
    """An output activation of the table, onto [0, 1].

    >>> float(squash("sin", np.float32(0.0)))
    0.5
    """
    spec = OUTPUTS[name]
    for step in spec.chain:
        x = activate(step, x)
    return 0.5 + 0.5 * x if spec.half else x


def forward(weights: CPPNWeights, coords: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Colours [B, N, C] for coordinates [N, 2] and latents [B, Z] (float32 numpy)."""
    coords = np.asarray(coords, dtype=np.float32)
    z = np.atleast_2d(np.asarray(z, dtype=np.float32))
    if weights.periods is not None:  # a seamless tile: torus inputs (graph.periodic) where x, y, r were
        from .periodic import torus_features

        xyr = torus_features(coords, weights.periods)  # [N, 5]
    else:
        r = np.sqrt((coords * coords).sum(axis=1, keepdims=True))
        xyr = np.concatenate([coords, r], axis=1)  # [N, 3]
    scale = np.float32(weights.scale)
    # scale * (inputs @ w) written as inputs @ (scale * w): the same float rounding as the exported graph
    pre = (xyr @ (weights.w_coords * scale))[None] + (z @ (weights.w_z * scale))[:, None, :] + weights.b0
    h = activate(weights.activations[0], pre)  # [B, N, W]
    for act, (w, b) in zip(weights.activations[1:], weights.hidden):
        y = activate(act, h @ w + b)
        h = h + y if weights.residual else y
    return squash(weights.output, h @ weights.w_out + weights.b_out).astype(np.float32)
