"""CPPN weights as plain numpy arrays, drawn from a seed.

The network ([Patterns]' "customised CPPN"):

    h0 = act0(scale * ([x, y, r] @ w_coords + z @ w_z) + b0)      # coords [N, 3], z [B, Z]
    h_i = act_i(h_{i-1} @ w_i + b_i)         (or h_{i-1} + act_i(...) when residual)
    out = squash(h_last @ w_out + b_out)     # [B, N, C] in [0, 1]

``graph.numpy_forward`` computes it in numpy (the reference the ONNX graph is tested against);
trained torch CPPNs of the same shape convert to these arrays to share one exporter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..configs.cppn import CPPNConfig


@dataclass(frozen=True)
class CPPNWeights:
    """The arrays of one CPPN, with the scale and activations needed to evaluate it."""

    scale: float
    activations: tuple[str, ...]
    output: str
    residual: bool
    w_coords: np.ndarray  # [3, W]   rows: x, y, r
    w_z: np.ndarray  # [Z, W]
    b0: np.ndarray  # [W]
    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]  # (w [W, W], b [W]) for layers 1..depth-1
    w_out: np.ndarray  # [W, C]
    b_out: np.ndarray  # [C]

    @property
    def z_dim(self) -> int:
        return self.w_z.shape[0]

    @property
    def channels(self) -> int:
        return self.w_out.shape[1]

    @property
    def width(self) -> int:
        return self.w_z.shape[1]


def weight_rng(seed: int) -> np.random.Generator:
    # PCG64 streams are identical on every platform numpy supports: same seed, same weights.
    return np.random.default_rng([seed, 0])


def random_weights(config: CPPNConfig, seed: int) -> CPPNWeights:
    """Gaussian weights (std ``init_scale``) and biases (std ``bias_scale``) from ``seed``."""
    rng = weight_rng(seed)
    w, s, bs = config.width, config.init_scale, config.bias_scale

    def normal(*shape: int, std: float) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w_coords = normal(3, w, std=s)
    w_z = normal(config.z_dim, w, std=s)
    b0 = normal(w, std=bs)
    hidden = tuple((normal(w, w, std=s), normal(w, std=bs)) for _ in range(config.depth - 1))
    w_out = normal(w, config.channels, std=s)
    b_out = normal(config.channels, std=bs)
    return CPPNWeights(
        scale=config.scale,
        activations=tuple(config.activations),
        output=config.output,
        residual=config.residual,
        w_coords=w_coords,
        w_z=w_z,
        b0=b0,
        hidden=hidden,
        w_out=w_out,
        b_out=b_out,
    )
