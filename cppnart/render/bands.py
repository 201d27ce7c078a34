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

from ..errors import UserError
from ..io.budget import check_budget
from .canvas import Canvas
from .coords import grid


def check_finite_output(values: np.ndarray) -> np.ndarray:
    """Refuse NaN or infinite network output before it becomes pixels (it would quantise to black)."""
    if not np.isfinite(values).all():
        raise UserError(
            "the model produced NaN or infinite values; its weights or scale overflow float32 "
            "(lower 'scale' or 'init_scale', or retrain it)"
        )
    return values


def run_coords(session: Any, coords: np.ndarray, z: np.ndarray, chunk: int) -> np.ndarray:
    """Evaluate a coordinate generator on coords [N, 2] for z [B, Z] -> [B, N, C], ``chunk`` at a time.

    A session that splits the points itself (``runtime.BoundSession``: fixed shapes, the last call
    padded; ``train.torch_render.TorchSession``) gets them all at once.
    """
    if hasattr(session, "run_coords"):
        return session.run_coords(coords, z, chunk)
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


def render_region(
    session: Any, z: np.ndarray, canvas: Canvas, rows: tuple[int, int], cols: tuple[int, int] | None = None
) -> np.ndarray:
    """Pixels ``rows`` x ``cols`` of the canvas as float32 [B, rows, cols, C].

    Each pixel depends only on its own coordinates, so a band or a tile rendered alone equals
    the same pixels of the whole image, bit for bit (a test keeps it so).
    """
    k = canvas.supersample
    (start, stop), (left, right) = rows, cols or (0, canvas.width)
    coords = grid(canvas.width, canvas.height, canvas.view, rows=(start, stop), supersample=k, columns=(left, right))
    out = check_finite_output(run_coords(session, coords, z, canvas.chunk))  # [B, rows*k*cols*k, C]
    b, c, w = out.shape[0], out.shape[2], right - left
    if k > 1:
        # sub-pixel grid [rows, k, cols, k] -> box average per pixel
        out = out.reshape(b, stop - start, k, w, k, c).mean(axis=(2, 4), dtype=np.float32)
    return out.reshape(b, stop - start, w, c)


def render_band(session: Any, z: np.ndarray, canvas: Canvas, rows: tuple[int, int]) -> np.ndarray:
    """One full-width band [B, rows, W, C]: what a local render yields and a cluster task computes.

    A row wider than the band budget is filled tile by tile, so memory stays flat in width too.
    """
    width = canvas.width
    columns = canvas.tile_columns(z.shape[0])
    if columns >= width:
        return render_region(session, z, canvas, rows)
    band = None
    for left in range(0, width, columns):
        cols = (left, min(width, left + columns))
        tile = render_region(session, z, canvas, rows, cols)
        if band is None:
            band = np.empty((tile.shape[0], rows[1] - rows[0], width, tile.shape[3]), dtype=np.float32)
        band[:, :, cols[0] : cols[1]] = tile
    assert band is not None
    return band


def render_bands(
    session: Any,
    z: np.ndarray,
    canvas: Canvas,
    rows_per_band: int | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield float32 bands [B, rows, width, C] in [0, 1], top to bottom."""
    canvas.check(z.shape[0])
    for start, stop in canvas.band_ranges(z.shape[0], rows_per_band):
        yield render_band(session, z, canvas, (start, stop))
        if on_rows is not None:
            on_rows(stop - start)


def render_array(session: Any, z: np.ndarray, canvas: Canvas, rows_per_band: int | None = None) -> np.ndarray:
    """The whole image(s) as one float32 array [B, H, W, C], filled band by band (no second copy)."""
    width, height = canvas.width, canvas.height
    canvas.check(z.shape[0])
    check_budget(f"an array of {z.shape[0]}x{width}x{height} pixels", memory=float(z.shape[0]) * width * height * 4 * 4)
    image = None
    row = 0
    for band in render_bands(session, z, canvas, rows_per_band):
        if image is None:
            image = np.empty((band.shape[0], height, width, band.shape[3]), dtype=np.float32)
        image[:, row : row + band.shape[1]] = band
        row += band.shape[1]
    assert image is not None  # height >= 1 (Canvas.check)
    return image
