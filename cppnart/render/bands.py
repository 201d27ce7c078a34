"""The render loop: full-width bands of rows, each band in chunks of coordinates.

Peak memory is one band of output plus one chunk of activations inside onnxruntime, whatever
the image size; callers either stream the bands to a file or stack them into an array. When one
row alone holds more samples than a band's budget (a very wide image, or a wide one supersampled),
the band is rendered in tiles of columns, so the coordinates and sub-pixel samples held at once stay
at the budget however wide the image: only the finished row of pixels grows with the width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..configs.schema import check_param
from ..errors import UserError
from ..io.budget import check_budget
from .coords import View, grid

DEFAULT_CHUNK = 1 << 15  # coordinates per onnxruntime call when the network's width is unknown, and the most
MIN_CHUNK = 1 << 12
# One layer's activations per call, in floats (2 MiB: about a core's L2 cache). On 2 cores
# (bench/render.py --chunks, CPU ns per pixel): a 32x4 net is flat from 2^13 to 2^15 and 10% slower
# at 2^16; a 128x8 net is fastest at 2^12, 26% slower at 2^14 and 28% at 2^16.
ACTIVATIONS_PER_CALL = 1 << 19
# Coordinates per band. 2^18 vs 2^20 cut the peak RSS of a 2880x1800 render from 153 to 98 MB
# at the same speed (bench/render.py); onnxruntime's memory arena stays on: without it, 2-3x more.
BAND_COORDS = 1 << 18


def chunk_for(layer_width: int) -> int:
    """The default coordinates per onnxruntime call for a network whose widest layer has
    ``layer_width`` units: ACTIVATIONS_PER_CALL floats, between MIN_CHUNK and DEFAULT_CHUNK.

    >>> chunk_for(32), chunk_for(128), chunk_for(1024)
    (16384, 4096, 4096)
    """
    return max(MIN_CHUNK, min(DEFAULT_CHUNK, ACTIVATIONS_PER_CALL // max(1, layer_width)))


def band_rows(width: int, supersample: int, batch: int, chunk: int) -> int:
    """Pixel rows per band: about BAND_COORDS coordinates (times the batch), at least one row."""
    per_row = width * supersample * supersample * batch
    return max(1, max(BAND_COORDS, chunk) // per_row)


def tile_columns(width: int, supersample: int, batch: int, chunk: int) -> int:
    """Pixel columns per tile of a one-row band: the whole width unless one row exceeds the budget."""
    per_column = supersample * supersample * batch
    return min(width, max(1, max(BAND_COORDS, chunk) // per_column))


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
    out = check_finite_output(run_coords(session, coords, z, chunk))  # [B, rows*k*cols*k, C]
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
    """One full-width band [B, rows, W, C]: what a local render yields and a cluster task computes.

    A row wider than the band budget is filled tile by tile, so memory stays flat in width too.
    """
    columns = tile_columns(width, supersample, z.shape[0], chunk)
    if columns >= width:
        return render_region(session, z, width, height, view, supersample, chunk, rows)
    band = None
    for left in range(0, width, columns):
        cols = (left, min(width, left + columns))
        tile = render_region(session, z, width, height, view, supersample, chunk, rows, cols)
        if band is None:
            band = np.empty((tile.shape[0], rows[1] - rows[0], width, tile.shape[3]), dtype=np.float32)
        band[:, :, cols[0] : cols[1]] = tile
    assert band is not None
    return band


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
    for start, stop in band_ranges(height, rows_per_band):
        yield render_band(session, z, width, height, view, k, chunk, (start, stop))
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
