"""The render loop: full-width bands of rows, each band in chunks of coordinates.

Peak memory is one band of output plus one chunk of activations inside onnxruntime, whatever
the image size; callers either stream the bands to a file or stack them into an array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import ParamError
from .coords import View, grid

DEFAULT_CHUNK = 1 << 15  # coordinates per onnxruntime call: 2^15-2^16 measured fastest on CPU
# Coordinates per band. 2^18 vs 2^20 cut the peak RSS of a 2880x1800 render from 153 to 98 MB
# at the same speed (bench/render.py); onnxruntime's memory arena stays on: without it, 2-3x more.
BAND_COORDS = 1 << 18


def band_rows(width: int, supersample: int, batch: int, chunk: int) -> int:
    """Pixel rows per band: about BAND_COORDS coordinates (times the batch), at least one row."""
    per_row = width * supersample * supersample * batch
    return max(1, max(BAND_COORDS, chunk) // per_row)


def check_render_args(width: int, height: int, supersample: int, chunk: int) -> None:
    if width < 1 or height < 1:
        raise ParamError("width" if width < 1 else "height", f"must be at least 1 pixel, got {width}x{height}")
    if supersample < 1:
        raise ParamError("supersample", f"must be at least 1, got {supersample}")
    if chunk < 1:
        raise ParamError("chunk", f"must be at least 1 coordinate per call, got {chunk}")


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


def band_ranges(height: int, rows_per_band: int) -> list[tuple[int, int]]:
    """(start, stop) rows of every band, top to bottom: the one split a local and a cluster render share.

    >>> band_ranges(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    return [(start, min(height, start + rows_per_band)) for start in range(0, height, rows_per_band)]


def render_region(
    session: Any,
    z: np.ndarray,
    width: int,
    height: int,
    view: View,
    supersample: int,
    chunk: int,
    rows: tuple[int, int],
    cols: tuple[int, int] | None = None,
) -> np.ndarray:
    """Pixels ``rows`` x ``cols`` of a width x height image as float32 [B, rows, cols, C].

    Each pixel depends only on its own coordinates, so a band or a tile rendered alone equals
    the same pixels of the whole image, bit for bit (a test keeps it so).
    """
    k = supersample
    (start, stop), (left, right) = rows, cols or (0, width)
    coords = grid(width, height, view, rows=(start, stop), supersample=k, columns=(left, right))
    out = run_coords(session, coords, z, chunk)  # [B, rows*k*cols*k, C]
    b, c, w = out.shape[0], out.shape[2], right - left
    if k > 1:
        # sub-pixel grid [rows, k, cols, k] -> box average per pixel
        out = out.reshape(b, stop - start, k, w, k, c).mean(axis=(2, 4), dtype=np.float32)
    return out.reshape(b, stop - start, w, c)


def render_band(
    session: Any,
    z: np.ndarray,
    width: int,
    height: int,
    view: View,
    supersample: int,
    chunk: int,
    rows: tuple[int, int],
) -> np.ndarray:
    """One full-width band [B, rows, W, C]: what a local render yields and a cluster task computes."""
    return render_region(session, z, width, height, view, supersample, chunk, rows)


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
    check_render_args(width, height, supersample, chunk)
    k = supersample
    rows_per_band = rows_per_band or band_rows(width, k, z.shape[0], chunk)
    for start, stop in band_ranges(height, rows_per_band):
        yield render_band(session, z, width, height, view, k, chunk, (start, stop))
        if on_rows is not None:
            on_rows(stop - start)


def render_array(session: Any, z: np.ndarray, width: int, height: int, **kwargs: Any) -> np.ndarray:
    """The whole image(s) as one float32 array [B, H, W, C], filled band by band (no second copy)."""
    image = None
    row = 0
    for band in render_bands(session, z, width, height, **kwargs):
        if image is None:
            image = np.empty((band.shape[0], height, width, band.shape[3]), dtype=np.float32)
        image[:, row : row + band.shape[1]] = band
        row += band.shape[1]
    assert image is not None  # height >= 1 (check_render_args)
    return image
