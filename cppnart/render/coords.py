"""Pixel-centre coordinate grids for a view (pure numpy).

The shorter image side spans [-1, 1] / zoom around ``center``; the longer side extends in
proportion, so a 2880x1800 poster is not stretched. Rows run top to bottom (y grows downward,
as in image arrays). Supersampling by K places K x K sub-pixel centres in every pixel, which is
exactly the grid of a K*W x K*H render of the same view: averaging them is a box filter.
"""

from __future__ import annotations

import numpy as np

from ..configs.view import View


def axis(
    n: int, short: int, zoom: float, center: float, supersample: int = 1, span: tuple[int, int] | None = None
) -> np.ndarray:
    """Coordinates of the (sub-)pixel centres along one axis of n pixels, as float64; ``span``
    keeps pixels start..stop only (computed alone, so a tile costs its own size, not the axis's).

    >>> axis(4, 4, zoom=1.0, center=0.0).tolist()
    [-0.75, -0.25, 0.25, 0.75]
    >>> axis(4, 4, zoom=1.0, center=0.0, span=(1, 3)).tolist()
    [-0.25, 0.25]
    """
    k = supersample
    start, stop = span if span is not None else (0, n)
    idx = np.arange(start * k, min(stop, n) * k, dtype=np.float64)
    # Centre of sub-pixel s of pixel i sits at i + (s + 0.5)/k = (idx + 0.5)/k in pixel units.
    return ((idx + 0.5) / k - n / 2.0) / (short / 2.0) / zoom + center


def grid(
    width: int,
    height: int,
    view: View = View(),
    rows: tuple[int, int] | None = None,
    supersample: int = 1,
    columns: tuple[int, int] | None = None,
) -> np.ndarray:
    """Coordinates [N, 2] float32 (x, y) for pixel rows ``rows = (start, stop)`` of the image.

    >>> grid(2, 1).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]

    With supersampling the rows are sub-pixel rows: pixel row j covers sub-rows
    j*K .. j*K+K-1, and each sub-row holds width*K points, left to right. ``columns = (start, stop)``
    keeps only those pixel columns (a tile of a very wide image).
    """
    short = min(width, height)
    start, stop = rows if rows is not None else (0, height)
    k = supersample
    xs = axis(width, short, view.zoom, view.center[0], k, span=columns)
    ys = axis(height, short, view.zoom, view.center[1], k, span=(start, stop))
    out = np.empty((ys.size, xs.size, 2), dtype=np.float32)
    out[..., 0] = xs[None, :]
    out[..., 1] = ys[:, None]
    return out.reshape(-1, 2)
