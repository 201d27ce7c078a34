"""``Canvas``: what every render of one picture shares, and the split of its work derived from it.

A poster, a morph's frames, a sheet's cells and a tile pyramid's tiles are all pixels of a
width x height picture of some view, sampled k x k per pixel and fed to onnxruntime ``chunk``
coordinates at a time. Those five numbers travel together as one frozen value, from the public
functions down to a cluster's workers, and the split into bands and tiles is computed from it in
one place, so a local and a cluster render cannot disagree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..configs.schema import check_param
from ..configs.view import View
from ..io.budget import check_budget

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


@dataclass(frozen=True)
class Canvas:
    """A width x height picture of ``view``, ``supersample`` x ``supersample`` samples per pixel,
    ``chunk`` coordinates per onnxruntime call (``Model.canvas`` picks the model's default).

    >>> Canvas(5, 5, chunk=1 << 18).band_ranges()
    [(0, 5)]
    >>> Canvas(1 << 16, 5).band_ranges()
    [(0, 4), (4, 5)]
    """

    width: int
    height: int
    view: View = field(default_factory=View)
    supersample: int = 1
    chunk: int = DEFAULT_CHUNK

    def samples(self, batch: int = 1) -> float:
        """Network evaluations of the whole picture for ``batch`` latents."""
        return float(self.width) * self.height * self.supersample * self.supersample * batch

    def band_rows(self, batch: int = 1) -> int:
        """Pixel rows per band: about BAND_COORDS coordinates (times the batch), at least one row."""
        per_row = self.width * self.supersample * self.supersample * batch
        return max(1, max(BAND_COORDS, self.chunk) // per_row)

    def band_ranges(self, batch: int = 1, rows_per_band: int | None = None) -> list[tuple[int, int]]:
        """(start, stop) rows of every band, top to bottom: the one split a local and a cluster render share."""
        step = rows_per_band or self.band_rows(batch)
        return [(start, min(self.height, start + step)) for start in range(0, self.height, step)]

    def tile_columns(self, batch: int = 1) -> int:
        """Pixel columns per tile of a one-row band: the whole width unless one row exceeds the budget."""
        per_column = self.supersample * self.supersample * batch
        return min(self.width, max(1, max(BAND_COORDS, self.chunk) // per_column))

    def check(self, batch: int = 1) -> Canvas:
        """Sizes in range and the work within budget, before the first coordinate; returns itself."""
        for name in ("width", "height", "supersample", "chunk"):
            check_param(name, getattr(self, name))
        rows = min(self.height, self.band_rows(batch))
        # one band of coordinates and outputs (up to 4 float32 each) plus the chunk's activations
        band_bytes = float(rows) * self.width * self.supersample * self.supersample * batch * 4 * 6
        what = f"rendering {self.width}x{self.height} (supersample {self.supersample}, {batch} at once)"
        check_budget(what, self.samples(batch), band_bytes)
        return self

    def resized(self, width: int, height: int) -> Canvas:
        """The same view, sampling and chunk at another size (a pyramid level, a palette sample)."""
        return replace(self, width=width, height=height)
