"""CPPN weights as plain numpy arrays, drawn from a seed.

The network ([Patterns]' "customised CPPN"):

    h0 = act0(scale * ([x, y, r] @ w_coords + z @ w_z) + b0)      # coords [N, 3], z [B, Z]
    h_i = act_i(h_{i-1} @ w_i + b_i)         (or h_{i-1} + act_i(...) when residual)
    out = squash(h_last @ w_out + b_out)     # [B, N, C] in [0, 1]

``graph.numpy_forward`` computes it in numpy (the reference the ONNX graph is tested against);
trained torch CPPNs of the same shape convert to these arrays to share one exporter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.cppn import CPPNConfig


@dataclass(frozen=True)
class LayerWeights:
    """What every CPPN's arrays share, whatever its coordinate front (``CPPNWeights`` over x, y,
    ``graph.solid.SolidWeights`` over x, y, z): the scale, the activations, the latent's part of
    the first layer, the hidden layers and the output layer. A subclass adds its front's fields."""

    scale: float
    activations: tuple[str, ...]
    output: str
    w_z: np.ndarray  # [Z, W]
    b0: np.ndarray  # [W]
    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]  # (w [W, W], b [W]) for layers 1..depth-1
    w_out: np.ndarray  # [W, C]
    b_out: np.ndarray  # [C]

    @property
    def z_dim(self) -> int:
        """Length of the latent z the network takes (rows of ``w_z``)."""
        return int(self.w_z.shape[0])


@dataclass(frozen=True)
class CPPNWeights(LayerWeights):
    """The arrays of one CPPN, with the scale and activations needed to evaluate it."""

    residual: bool
    w_coords: np.ndarray  # [3, W]   rows: x, y, r
    # Periods (Px, Py), two floats, of a torus coordinate front (graph.periodic): w_coords is then
    # [5, W]; None: x, y, r. (Typed Any so that arrays unpacked by name still type-check beside it.)
    periods: Any = None

    @property
    def channels(self) -> int:
        """Output channels: 1 grey or 3 colour (columns of ``w_out``)."""
        return self.w_out.shape[1]

    @property
    def width(self) -> int:
        """Units per layer: every layer of the network is as wide as the first (columns of ``w_z``)."""
        return self.w_z.shape[1]


def weight_rng(seed: int) -> np.random.Generator:
    """The generator that draws a CPPN's weights from its seed (kept apart from the latents' stream)."""
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


def save_weights(weights: CPPNWeights, path: str | Path) -> Path:
    """The arrays and settings of a CPPN in one .npz (written atomically), for weight morphs."""
    from ..io.atomic import atomic_output

    arrays: dict[str, Any] = {
        "w_coords": weights.w_coords,
        "w_z": weights.w_z,
        "b0": weights.b0,
        "w_out": weights.w_out,
    }
    arrays["b_out"] = weights.b_out
    for i, (w, b) in enumerate(weights.hidden):
        arrays[f"hidden_w{i}"], arrays[f"hidden_b{i}"] = w, b
    meta = json.dumps(
        {"scale": weights.scale, "activations": list(weights.activations), "output": weights.output,
         "residual": weights.residual, "hidden": len(weights.hidden)}
    )  # fmt: skip
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays, meta=np.array(meta))
    return Path(path)


def load_weights(path: str | Path) -> CPPNWeights:
    """A CPPN saved by ``save_weights``; anything else is a UserError."""
    from ..errors import UserError

    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            hidden = tuple((data[f"hidden_w{i}"], data[f"hidden_b{i}"]) for i in range(meta["hidden"]))
            return CPPNWeights(
                scale=float(meta["scale"]),
                activations=tuple(meta["activations"]),
                output=meta["output"],
                residual=bool(meta["residual"]),
                w_coords=data["w_coords"],
                w_z=data["w_z"],
                b0=data["b0"],
                hidden=hidden,
                w_out=data["w_out"],
                b_out=data["b_out"],
            )
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"cannot read CPPN weights '{path}': {exc}") from None


def lerp_weights(a: CPPNWeights, b: CPPNWeights, t: float) -> CPPNWeights:
    """Every array of two CPPNs of one architecture mixed as (1 - t) a + t b."""

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return ((1 - t) * x + t * y).astype(np.float32)

    return CPPNWeights(
        scale=a.scale,
        activations=a.activations,
        output=a.output,
        residual=a.residual,
        w_coords=mix(a.w_coords, b.w_coords),
        w_z=mix(a.w_z, b.w_z),
        b0=mix(a.b0, b.b0),
        hidden=tuple((mix(wa, wb), mix(ba, bb)) for (wa, ba), (wb, bb) in zip(a.hidden, b.hidden)),
        w_out=mix(a.w_out, b.w_out),
        b_out=mix(a.b_out, b.b_out),
    )


def same_architecture(a: CPPNWeights, b: CPPNWeights) -> bool:
    """Whether two CPPNs can be mixed weight by weight."""
    shapes = [x.shape for x in (a.w_coords, a.w_z, a.b0, a.w_out, a.b_out)] + [w.shape for w, _ in a.hidden]
    other = [x.shape for x in (b.w_coords, b.w_z, b.b0, b.w_out, b.b_out)] + [w.shape for w, _ in b.hidden]
    return shapes == other and (a.scale, a.activations, a.output, a.residual) == (
        b.scale,
        b.activations,
        b.output,
        b.residual,
    )
