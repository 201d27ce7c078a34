"""The render loop: full-width bands of rows, each band in chunks of coordinates.

Peak memory is one band of output plus one chunk of activations inside onnxruntime, whatever
the image size; callers either stream the bands to a file or stack them into an array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..configs.schema import check_param
from ..errors import UserError
from ..io.budget import check_budget
from .coords import View, grid

DEFAULT_CHUNK = 1 << 15  # coordinates per onnxruntime call: 2^15-2^16 measured fastest on CPU
# Coordinates per band. 2^18 vs 2^20 cut the peak RSS of a 2880x1800 render from 153 to 98 MB
# at the same speed (bench/render.py); onnxruntime's memory arena stays on: without it, 2-3x more.
BAND_COORDS = 1 << 18


def band_rows(width: int, supersample: int, batch: int, chunk: int) -> int:
    """Pixel rows per band: about BAND_COORDS coordinates (times the batch), at least one row."""
    per_row = width * supersample * supersample * batch
    return max(1, max(BAND_COORDS, chunk) // per_row)


def check_render_args(width: int, height: int, supersample: int, chunk: int, batch: int = 1) -> None:
    """Sizes in range and the work within budget, before the first coordinate."""
    for name, value in (("width", width), ("height", height), ("supersample", supersample), ("chunk", chunk)):
        check_param(name, value)
    samples = float(width) * height * supersample * supersample * batch
    rows = min(height, band_rows(width, supersample, batch, chunk))
    # one band of coordinates and outputs (up to 4 float32 each) plus the chunk's activations
    band_bytes = float(rows) * width * supersample * supersample * batch * 4 * 6
    check_budget(f"rendering {width}x{height} (supersample {supersample}, {batch} at once)", samples, band_bytes)


def check_finite_output(values: np.ndarray) -> np.ndarray:
    """Refuse NaN or infinite network output before it becomes pixels (it would quantise to black)."""
    if not np.isfinite(values).all():
        raise UserError(
            "the model produced NaN or infinite values; its weights or scale overflow float32 "
            "(lower 'scale' or 'init_scale', or retrain it)"
        )
    return values


def run_coords(session: Any, coords: np.ndarray, z: np.ndarray, chunk: int) -> np.ndarray:
    """Evaluate a coordinate generator on coords [N, 2] for z [B, Z] -> [B, N, C], ``chunk`` at a time."""
    per_call = max(1, chunk // z.shape[0])  # chunk bounds points x batch, so frames share the budget
    out = None
    for i in range(0, coords.shape[0], per_call):
        part = session.run(["rgb"], {"coords": coords[i : i + per_call], "z": z})[0]
        if out is None:
            if part.shape[1] == coords.shape[0]:
                return part
            out = np.empty((z.shape[0], coords.shape[0], part.shape[2]), dtype=np.float32)
        out[:, i : i + part.shape[1]] = part
    assert out is not None  # coords holds at least one point (checked by the callers)
    return out


def render_bands(
    session: Any,
    z: np.ndarray,
    width: int,
    height: int,
    view: View = View(),
    supersample: int = 1,
    chunk: int = DEFAULT_CHUNK,
    rows_per_band: int | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield float32 bands [B, rows, width, C] in [0, 1], top to bottom."""
    check_render_args(width, height, supersample, chunk, z.shape[0])
    k = supersample
    rows_per_band = rows_per_band or band_rows(width, k, z.shape[0], chunk)
    for start in range(0, height, rows_per_band):
        stop = min(height, start + rows_per_band)
        coords = grid(width, height, view, rows=(start, stop), supersample=k)
        out = check_finite_output(run_coords(session, coords, z, chunk))  # [B, rows*k*width*k, C]
        b, c = out.shape[0], out.shape[2]
        if k > 1:
            # sub-pixel grid [rows, k, width, k] -> box average per pixel
            out = out.reshape(b, stop - start, k, width, k, c).mean(axis=(2, 4), dtype=np.float32)
        yield out.reshape(b, stop - start, width, c)
        if on_rows is not None:
            on_rows(stop - start)


def render_array(session: Any, z: np.ndarray, width: int, height: int, **kwargs: Any) -> np.ndarray:
    """The whole image(s) as one float32 array [B, H, W, C], filled band by band (no second copy)."""
    check_render_args(width, height, kwargs.get("supersample", 1), kwargs.get("chunk", DEFAULT_CHUNK), z.shape[0])
    check_budget(f"an array of {z.shape[0]}x{width}x{height} pixels", memory=float(z.shape[0]) * width * height * 4 * 4)
    image = None
    row = 0
    for band in render_bands(session, z, width, height, **kwargs):
        if image is None:
            image = np.empty((band.shape[0], height, width, band.shape[3]), dtype=np.float32)
        image[:, row : row + band.shape[1]] = band
        row += band.shape[1]
    assert image is not None  # height >= 1 (check_render_args)
    return image
