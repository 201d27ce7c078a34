"""Contact sheets: images laid out in a grid, optionally labelled, and ``grid`` of seeds or latents.

    sheet = compose_sheet(images, cols=8)               # [B, H, W, C] in [0, 1] -> uint8 sheet
    save_sheet(run / "samples" / "step-000500.png", images, channels_last=False)   # training layout
    g = grid(load_model("classic"), seeds=range(1, 17))  # one network per seed, as `render --seed S`
    g.save("sheet.png")                                  # every cell's seed and z in its metadata

One composer serves training sample sheets and ``cppnart grid``.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..configs.view import View
from ..errors import ParamError, UserError
from ..io.atomic import atomic_output
from ..io.png import quantize, write_png

if TYPE_CHECKING:
    from .model import Model
    from .request import SheetRequest

GRID_BACKGROUND = 24 / 255
LABEL_COLOUR = (235, 235, 235)


def _as_numpy(images: Any) -> np.ndarray:
    if hasattr(images, "detach"):  # a torch tensor from a training loop
        images = images.detach().float().cpu().numpy()
    return np.asarray(images)


def label_height(cell_height: int) -> int:
    """Font size of the labels: readable on small cells, modest on large ones.

    >>> label_height(256)
    18
    """
    return max(10, min(24, cell_height // 14))


def cell_origin(index: int, cols: int, width: int, height: int, gap: int, labelled: bool) -> tuple[int, int]:
    """Top-left pixel of a cell's image in the sheet (the label strip sits under it).

    >>> cell_origin(5, 4, 10, 10, 2, labelled=False)
    (14, 14)
    """
    strip = label_height(height) + 8 if labelled else 0
    return gap + (index % cols) * (width + gap), gap + (index // cols) * (height + strip + gap)


def label_font(size: int) -> Any:
    """Pillow's default font at ``size`` (scalable with FreeType; its bitmap font otherwise)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # scalable when Pillow has FreeType
    except TypeError:  # older Pillow: one small bitmap font
        return ImageFont.load_default()


def compose_sheet(
    images: Any,
    cols: int | None = None,
    gap: int = 2,
    background: float = 1.0,
    labels: Sequence[str] | None = None,
    upscale: int = 1,
    channels_last: bool = True,
) -> np.ndarray:
    """Images [B, H, W, C] (or [B, C, H, W] with ``channels_last=False``; floats in [0, 1] or
    uint8) in rows of ``cols`` -> one uint8 sheet; labels go in a strip under each cell.

    >>> compose_sheet(np.zeros((3, 4, 4, 1)), cols=2, gap=1).shape
    (11, 11, 1)
    """
    array = _as_numpy(images)
    if array.ndim != 4:
        raise ParamError("images", f"must be a batch [B, H, W, C], got shape {array.shape}")
    if not channels_last:
        array = array.transpose(0, 2, 3, 1)
    if array.dtype != np.uint8:
        array = quantize(array)
    if upscale > 1:
        array = array.repeat(upscale, axis=1).repeat(upscale, axis=2)
    count, h, w, channels = array.shape
    if labels is not None and channels == 1:
        array, channels = np.repeat(array, 3, axis=-1), 3  # labels are drawn in colour
    cols = cols or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / cols)
    strip = label_height(h) + 8 if labels is not None else 0
    fill = int(round(background * 255))
    sheet = np.full((rows * (h + strip) + (rows + 1) * gap, cols * w + (cols + 1) * gap, channels), fill, np.uint8)
    for index, image in enumerate(array):
        x, y = cell_origin(index, cols, w, h, gap, labels is not None)
        sheet[y : y + h, x : x + w] = image
    if labels is not None:
        from PIL import Image, ImageDraw

        canvas = Image.fromarray(sheet)
        draw = ImageDraw.Draw(canvas)
        font = label_font(label_height(h))
        for index, text in enumerate(labels):
            x, y = cell_origin(index, cols, w, h, gap, True)
            while len(text) > 3 and draw.textlength(text, font=font) > w:  # keep labels inside their cell
                text = text[:-2] + "…"
            draw.text((x + 2, y + h + 3), text, fill=LABEL_COLOUR, font=font)
        sheet = np.asarray(canvas)
    return sheet


def save_sheet(path: str | Path, images: Any, **layout: Any) -> Path:
    """``compose_sheet`` saved as a PNG, atomically (parent folders are created)."""
    from ..io.png import encode_small_png

    sheet = compose_sheet(images, **layout)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_bytes(encode_small_png(sheet, compress_level=6))
    return Path(path)


def _plain(sheet: Any) -> Any:
    """A sheet's metadata as JSON would give it back (tuples become lists), for comparing."""
    return json.loads(json.dumps(sheet, default=list))


@dataclass(frozen=True)
class GridCell:
    """One cell: its label, the seed it was drawn from (None for a latent file), its weights' seed and z."""

    index: int
    label: str
    seed: int | None
    weights_seed: int | None
    z: list[float]


@dataclass
class Grid:
    """A rendered contact sheet and what it takes to render any cell again."""

    image: np.ndarray  # uint8 [H, W, 3]
    cells: list[GridCell]
    model: Model  # the Model of the first cell
    cell: tuple[int, int]
    cols: int
    gap: int
    labelled: bool
    view: View = field(default_factory=View)
    supersample: int = 1

    def metadata(self) -> dict[str, Any]:
        """What the sheet's PNG carries under ``cppnart-grid``: model, layout, view, each cell's label, seed and z."""
        return {
            "model": self.model.source,
            "preset": self.model.preset,
            "cell": list(self.cell),
            "cols": self.cols,
            "gap": self.gap,
            "labels": self.labelled,
            "zoom": self.view.zoom,
            "center": list(self.view.center),
            "supersample": self.supersample,
            **({"tile": self.model.metadata["tile"]} if self.model.metadata.get("tile") else {}),
            "cells": [
                {"index": c.index, "label": c.label, "seed": c.seed, "weights_seed": c.weights_seed, "z": c.z}
                for c in self.cells
            ],
        }

    def save(self, path: str | Path, force: bool = False) -> Path:
        """The sheet as a PNG that carries every cell's seed and z (``cppnart z get SHEET --cell N``);
        a file holding a different sheet is refused unless ``force``."""
        from ..io.metadata import grid_text, read_grid
        from ..io.names import refuse_replacing
        from .request import check_poster_space

        metadata = self.metadata()
        refuse_replacing(path, lambda: _plain(read_grid(path)) == _plain(metadata), force)
        check_poster_space(self.image.shape[1], self.image.shape[0], self.image.shape[2], 8, path)
        parameters = (
            f"Grid of {len(self.cells)} cells, Model: {self.model.preset or self.model.source}, "
            f"Cell: {self.cell[0]}x{self.cell[1]}"
        )
        return write_png(
            path,
            self.image.shape[1],
            self.image.shape[0],
            3,
            [self.image.astype(np.float32) / 255.0],
            text=grid_text(metadata, parameters),
        )

    def latents(self) -> np.ndarray:
        """Every cell's latent [N, Z], in cell order (what ``grid --save-z`` writes)."""
        return np.asarray([c.z for c in self.cells], dtype=np.float32)

    def _repr_png_(self) -> bytes:
        """The sheet as PNG bytes: a notebook (IPython's display) shows a Grid as its picture."""
        from ..io.png import encode_small_png

        return encode_small_png(np.ascontiguousarray(self.image, dtype=np.uint8), compress_level=1)

    def render_command(self, index: int, sheet_path: str | Path) -> str:
        """The shell command that renders cell ``index`` large."""
        cell, source = self.cells[index], shlex.quote(self.model.source)
        view = "".join(
            [
                f" --zoom {self.view.zoom:g}" if self.view.zoom != 1 else "",
                f" --center {self.view.center[0]:g},{self.view.center[1]:g}" if any(self.view.center) else "",
                " --tile" if self.model.metadata.get("tile") else "",
            ]
        )
        if cell.seed is not None and cell.weights_seed == cell.seed:
            return f"cppnart render {source} --seed {cell.seed}{view}"
        seed = f" --seed {cell.weights_seed}" if cell.weights_seed is not None else ""
        return (
            f"cppnart z get {shlex.quote(str(sheet_path))} --cell {index} -o z{index}.npy && "
            f"cppnart render {source}{seed} --z z{index}.npy{view}"
        )


def check_sheet_size(count: int, width: int, height: int, cols: int | None, gap: int, supersample: int = 1) -> None:
    """The sheet's sides within PNG limits and its pixels within the budget, before any cell renders."""
    from ..configs.schema import MAX_SIDE
    from ..io.budget import check_budget

    cols = min(cols or math.ceil(math.sqrt(count)), count)
    rows = math.ceil(count / cols)
    sheet_w = cols * width + (cols + 1) * gap
    sheet_h = rows * (height + label_height(height) + 8) + (rows + 1) * gap
    if sheet_w > MAX_SIDE or sheet_h > MAX_SIDE:
        raise UserError(
            f"a sheet of {count} cells of {width}x{height} in {cols} columns would be {sheet_w}x{sheet_h} pixels; "
            f"sides are at most {MAX_SIDE}: use smaller cells, fewer cells or another number of columns"
        )
    check_budget(
        f"a sheet of {count} cells of {width}x{height}",
        samples=float(count) * width * height * supersample * supersample,
        memory=(float(count) * width * height + float(sheet_w) * sheet_h) * 3 * 2,
    )


def grid(
    model: Model | SheetRequest,
    *,
    seeds: Iterable[int] | None = None,
    latents: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    own_weights: bool = True,
    cell: tuple[int, int] = (256, 256),
    cols: int | None = None,
    gap: int = 4,
    labelled: bool = True,
    view: View = View(),
    supersample: int = 1,
    chunk: int | None = None,
    on_cell: Callable[[int], None] | None = None,
    renderer: Any = None,
) -> Grid:
    """A contact sheet of a ``SheetRequest`` (``render.request.resolve_sheet``), or, in the loose
    form, of ``model`` with ``seeds`` (each cell the z that seed draws; for a preset with
    ``own_weights`` also that seed's weights, exactly `cppnart render MODEL --seed S`) or
    ``latents`` [N, Z] (one network, labels from ``labels`` or the row number). ``renderer``
    (default: this process) renders the cells, a cluster's in parallel."""
    from .request import SheetRequest

    if isinstance(model, SheetRequest):
        return render_sheet(model, on_cell, renderer)
    request = SheetRequest(
        model,
        model.canvas(cell[0], cell[1], view, supersample, chunk),  # every cell's network has the preset's width
        seeds=tuple(seeds) if seeds is not None else None,
        latents=latents,
        labels=tuple(labels) if labels is not None else None,
        own_weights=own_weights,
        cols=cols,
        gap=gap,
        labelled=labelled,
    )
    return render_sheet(request, on_cell, renderer)


def render_sheet(request: SheetRequest, on_cell: Callable[[int], None] | None = None, renderer: Any = None) -> Grid:
    """Render every cell of a ``SheetRequest`` and lay them out (see ``grid``)."""
    from .frames import render_frames
    from .renderer import Renderer
    from .seamless import reseeded

    model, canvas = request.model, request.canvas
    if request.latents is not None:
        z_all = request.latents
        cell_seeds: list[int | None] = [None] * len(z_all)
        nets = None
        names = list(request.labels) if request.labels is not None else [f"z[{i}]" for i in range(len(z_all))]
    else:
        seeds = list(request.seeds or ())
        cell_seeds = list(seeds)
        per_seed = request.own_weights and model.from_preset
        nets = [model] + [reseeded(model, s) for s in seeds[1:]] if per_seed else None
        z_all = np.concatenate([model.sample_z(s) for s in seeds])
        names = [f"seed {s}" for s in seeds]
    from .request import MAX_CELLS

    if len(z_all) > MAX_CELLS:
        raise UserError(f"{len(z_all)} cells are more than {MAX_CELLS}; split them over several sheets")
    check_sheet_size(len(z_all), canvas.width, canvas.height, request.cols, request.gap, canvas.supersample)
    # A trained model's file holds its weights: no weights seed (its metadata's seed is the training's).
    one_seed = model.seed if model.from_preset else None
    weight_seeds = list(cell_seeds) if nets is not None else [one_seed] * len(z_all)
    source = renderer or Renderer()
    if nets is None:
        images = list(render_frames(model, z_all, canvas, on_frame=on_cell, renderer=source))
    else:
        jobs = ((m, z_all[i : i + 1]) for i, m in enumerate(nets))
        images = []
        for frames in source.frame_batches(jobs, canvas):
            images.append(frames[0])
            if on_cell is not None:
                on_cell(1)
    cols = request.cols or math.ceil(math.sqrt(len(z_all)))
    text = [f"{i} · {name}" for i, name in enumerate(names)] if request.labelled else None
    rgb = [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im for im in images]
    sheet = compose_sheet(np.stack(rgb), cols, request.gap, GRID_BACKGROUND, labels=text)
    cells = [
        GridCell(i, names[i], cell_seeds[i], weight_seeds[i], [float(v) for v in z_all[i]]) for i in range(len(z_all))
    ]
    cell = (canvas.width, canvas.height)
    return Grid(sheet, cells, model, cell, cols, request.gap, request.labelled, canvas.view, canvas.supersample)
