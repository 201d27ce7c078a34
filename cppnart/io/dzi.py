"""Deep Zoom (DZI) tile pyramids, the layout OpenSeadragon reads.

A pyramid of a W x H image is ``NAME.dzi`` (an XML descriptor) beside ``NAME_files/``, which
holds one folder per level, ``0`` (1x1 pixel) up to ``ceil(log2(max(W, H)))`` (W x H); level L
is the image at ``ceil(W / 2^(max - L))`` x ``ceil(H / 2^(max - L))``, cut into tiles of
``TILE_SIZE`` pixels named ``COL_ROW.png``, each overlapping its neighbours by ``OVERLAP``
pixels on the sides it shares with them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

TILE_SIZE = 254  # 254 + 2 x 1 overlap = 256: the size OpenSeadragon's own examples use
OVERLAP = 1
TILE_FORMAT = "png"
DZI_NAMESPACE = "http://schemas.microsoft.com/deepzoom/2008"


def max_level(width: int, height: int) -> int:
    """The deepest level's number: the one at full size.

    >>> max_level(1, 1), max_level(2, 1), max_level(100000, 100000)
    (0, 1, 17)
    """
    return math.ceil(math.log2(max(width, height))) if max(width, height) > 1 else 0


def level_size(width: int, height: int, level: int) -> tuple[int, int]:
    """(width, height) of ``level``.

    >>> level_size(1000, 600, 10), level_size(1000, 600, 9), level_size(1000, 600, 0)
    ((1000, 600), (500, 300), (1, 1))
    """
    scale = 2 ** (max_level(width, height) - level)
    return math.ceil(width / scale), math.ceil(height / scale)


def tile_spans(length: int, tile: int = TILE_SIZE, overlap: int = OVERLAP) -> list[tuple[int, int]]:
    """(start, stop) pixels of each tile along one side, overlap included.

    >>> tile_spans(600)
    [(0, 255), (253, 509), (507, 600)]
    """
    return [
        (max(0, i * tile - overlap), min(length, (i + 1) * tile + overlap)) for i in range(math.ceil(length / tile))
    ]


def descriptor(width: int, height: int, tile: int = TILE_SIZE, overlap: int = OVERLAP) -> str:
    """The ``.dzi`` XML of a W x H pyramid."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Image xmlns="{DZI_NAMESPACE}" Format="{TILE_FORMAT}" Overlap="{overlap}" TileSize="{tile}">\n'
        f'  <Size Width="{width}" Height="{height}"/>\n'
        "</Image>\n"
    )


def read_descriptor(path: str | Path) -> dict[str, int | str]:
    """Width, Height, TileSize, Overlap and Format of a ``.dzi`` file (a second reader for tests)."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    size = root.find(f"{{{DZI_NAMESPACE}}}Size")
    assert size is not None, f"{path} has no Size element"
    return {
        "width": int(size.attrib["Width"]),
        "height": int(size.attrib["Height"]),
        "tile_size": int(root.attrib["TileSize"]),
        "overlap": int(root.attrib["Overlap"]),
        "format": root.attrib["Format"],
    }


def tile_path(files: Path, level: int, col: int, row: int) -> Path:
    """Where tile (col, row) of ``level`` lives under the ``NAME_files`` folder."""
    return files / str(level) / f"{col}_{row}.{TILE_FORMAT}"


def encode_tile(pixels: np.ndarray) -> bytes:
    """uint8 [h, w, C] (C = 1 or 3) -> PNG bytes (tiles are small, and encoding them where they are
    rendered keeps the writer of a huge pyramid from becoming the bottleneck)."""
    from .png import encode_small_png

    return encode_small_png(pixels, compress_level=6)
