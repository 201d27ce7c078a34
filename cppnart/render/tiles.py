"""``save_tiles``: a Deep Zoom pyramid rendered level by level straight from the network.

Every level is a real render at that level's size, not a downsampled copy of the one below: a
CPPN is resolution-free, so level 9 of a 100000 x 100000 pyramid costs what a 391 x 391 render
costs, and the whole pyramid 4/3 of the deepest level. Tiles are independent pieces of work,
so a cluster's renderer spreads them over its workers; they are written in order, into a
folder that appears only when complete.

    save_tiles(resolve_picture("classic", seed=7, res=(100_000, 100_000)), out="poster")   # poster/poster.dzi + _files/
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ParamError, UserError
from ..io.atomic import atomic_output
from ..io.dzi import OVERLAP, TILE_SIZE, descriptor, level_size, max_level, tile_path, tile_spans
from .renderer import Renderer, TileJob

RECIPE_FILE = "recipe.json"


def tile_jobs(width: int, height: int, tile: int = TILE_SIZE, overlap: int = OVERLAP) -> Iterator[TileJob]:
    """Every tile of the pyramid, level 0 first, row by row within a level.

    >>> [(j.level, j.col, j.row) for j in tile_jobs(300, 2)][-2:]
    [(9, 0, 0), (9, 1, 0)]
    """
    for level in range(max_level(width, height) + 1):
        w, h = level_size(width, height, level)
        for row, rows in enumerate(tile_spans(h, tile, overlap)):
            for col, cols in enumerate(tile_spans(w, tile, overlap)):
                yield TileJob(level, col, row, w, h, rows, cols)


def tile_count(width: int, height: int, tile: int = TILE_SIZE) -> int:
    """How many tiles ``tile_jobs`` yields (for a progress bar).

    >>> tile_count(300, 2)
    11
    """
    total = 0
    for level in range(max_level(width, height) + 1):
        w, h = level_size(width, height, level)
        total += -(-w // tile) * -(-h // tile)
    return total


def save_tiles(
    request: Any,
    *args: Any,
    out: str | Path | None = None,
    renderer: Renderer | None = None,
    on_tile: Callable[[int], None] | None = None,
) -> Path:
    """Render a DZI pyramid of a ``PictureRequest`` (its size is the deepest level's) into the new
    folder ``out``: ``out/NAME.dzi``, ``out/NAME_files/LEVEL/COL_ROW.png`` and the recipe in
    ``out/recipe.json``. Returns the ``.dzi`` path (what OpenSeadragon opens).

    The older form ``save_tiles(model, z, canvas, out, renderer, on_tile)`` still works for this release."""
    from .request import PictureRequest

    if not isinstance(request, PictureRequest):
        loose = (request, *args)
        if len(loose) < 3:
            raise TypeError("save_tiles(model, z, canvas, out, ...) needs a model, z and a canvas")
        rest = list(loose[3:])
        out = rest[0] if len(rest) > 0 else out
        renderer = rest[1] if len(rest) > 1 else renderer
        on_tile = rest[2] if len(rest) > 2 else on_tile
        request = PictureRequest(loose[0], loose[1], loose[2], 8, loose[0].seed)
    if out is None:
        raise ParamError("out", "must name the pyramid's new folder")
    model, z, canvas = request.model, request.z, request.canvas
    width, height = canvas.width, canvas.height
    canvas.check()
    if model.interface != "coords":
        raise UserError(
            "tile pyramids need a coordinate model (a CPPN); this model draws a fixed-size image, "
            "render it with `cppnart render` instead"
        )
    out = Path(out)
    name = out.name or "tiles"
    recipe = {**request.recipe(), "bits": 8}  # tiles are 8-bit PNGs
    recipe["tiles"] = {
        "format": "dzi",
        "tile_size": TILE_SIZE,
        "overlap": OVERLAP,
        "levels": max_level(width, height) + 1,
    }
    source = renderer or Renderer()
    with atomic_output(out, folder=True) as tmp:
        tmp.mkdir()
        files = tmp / f"{name}_files"
        made: set[Path] = set()
        # The jobs are listed twice, lazily, rather than kept: a gigapixel pyramid has 10^5 tiles.
        tiles = source.tiles(model, z, tile_jobs(width, height), canvas)
        try:
            for job, data in zip(tile_jobs(width, height), tiles):
                folder = files / str(job.level)
                if folder not in made:
                    folder.mkdir(parents=True)
                    made.add(folder)
                tile_path(files, job.level, job.col, job.row).write_bytes(data)
                if on_tile is not None:
                    on_tile(1)
        finally:
            close = getattr(tiles, "close", None)
            if close is not None:
                close()
        (tmp / f"{name}.dzi").write_text(descriptor(width, height), encoding="utf-8")
        (tmp / RECIPE_FILE).write_text(json.dumps(recipe, indent=1) + "\n", encoding="utf-8")
    return out / f"{name}.dzi"
