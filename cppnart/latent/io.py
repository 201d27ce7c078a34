"""Latent vectors as data: sample, check, load and save ``.npy`` files (float32, [Z] or [B, Z]).

>>> sample_z(3, seed=1).shape
(1, 3)
>>> as_batch(np.zeros(3), 3).shape
(1, 3)
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..configs.schema import check_param
from ..errors import UserError
from ..io.atomic import atomic_output
from ..io.names import refuse_replacing
from ..io.npy import load_npy


def latent_rng(seed: int) -> np.random.Generator:
    """The generator that draws latents from a seed, apart from the weights' stream (``graph.weights``)."""
    # A stream of its own, so `z sample --seed S` gives the z that `render --seed S` draws.
    return np.random.default_rng([seed, 1])


def sample_z(dim: int, seed: int, prior: str = "uniform", count: int = 1) -> np.ndarray:
    """``count`` latents [count, dim]: uniform in [-1, 1] (as in [Patterns]) or standard normal."""
    check_param("dim", dim)
    check_param("count", count)
    check_param("seed", seed)
    rng = latent_rng(seed)
    if prior == "uniform":
        z = rng.uniform(-1.0, 1.0, size=(count, dim))
    elif prior == "normal":
        z = rng.standard_normal((count, dim))
    else:
        raise UserError(f"unknown latent prior '{prior}'; choose uniform or normal")
    return z.astype(np.float32)


def as_batch(z: np.ndarray, z_dim: int, what: str = "z") -> np.ndarray:
    """Validate a latent array against a model: [Z] or [B, Z], finite; returns [B, Z] float32."""
    z = np.asarray(z)
    if z.dtype.kind not in "fiu":
        raise UserError(f"{what} holds {z.dtype} values; a latent must be an array of numbers")
    if z.ndim == 1:
        z = z[None, :]
    if z.ndim != 2 or z.shape[0] < 1:
        raise UserError(f"{what} has shape {tuple(z.shape)}; a latent must have shape [{z_dim}] or [B, {z_dim}]")
    if z.shape[1] != z_dim:
        raise UserError(f"{what} has {z.shape[1]} values but the model takes z of size {z_dim}")
    if not np.isfinite(z).all():
        raise UserError(f"{what} contains NaN or infinite values")
    return z.astype(np.float32)


def load_z(path: str | Path, z_dim: int | None = None) -> np.ndarray:
    """Read a latent ``.npy`` safely (no pickles) and check it; returns [B, Z] float32."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"latent file '{path}' not found")
    z = load_npy(path, f"latent file '{path}'")
    return as_batch(z, z_dim if z_dim is not None else (z.shape[-1] if z.ndim else 0), what=f"latent file '{path}'")


def save_z(path: str | Path, z: np.ndarray, force: bool = False) -> Path:
    """Write a latent atomically; a single latent is stored with shape [Z]. A file that already
    holds other latents is refused unless ``force`` (the one overwrite rule of pictures, too)."""
    z = np.asarray(z, dtype=np.float32)
    if z.size == 0 or z.ndim not in (1, 2):
        raise UserError(f"refusing to save a latent of shape {tuple(z.shape)} to '{path}'; a latent is [Z] or [B, Z]")
    if not np.isfinite(z).all():
        raise UserError(
            f"refusing to save NaN or infinite latent values to '{path}' (float32 overflowed); use smaller values"
        )
    if z.ndim == 2 and z.shape[0] == 1:
        z = z[0]
    refuse_replacing(path, lambda: _holds(path, z), force, what="other latents")
    buffer = io.BytesIO()
    np.save(buffer, z, allow_pickle=False)
    with atomic_output(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return Path(path)


def _holds(path: str | Path, z: np.ndarray) -> bool:
    """Whether the .npy at ``path`` already holds exactly ``z``."""
    held = load_npy(path)
    return held.shape == z.shape and bool(np.array_equal(held, z))
