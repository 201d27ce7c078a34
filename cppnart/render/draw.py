"""Pen-plotter drawings of a picture: ``resolve_drawing`` and ``save_drawing``.

    request = resolve_drawing("classic", seed=7, style="contours", paper="A4")
    save_drawing(request, "classic.svg")

The picture is rendered at ``density`` samples per millimetre of the paper's drawing area (4 by
default: a quarter of a millimetre, finer than a 0.3 mm pen's line), traced into lines
(``render.trace``), simplified (shapely's Douglas-Peucker, an eighth of a sample), merged where
ends meet and ordered by vpype's nearest-neighbour index to cut pen-up travel (the ratio is in
the result), and written as an SVG with one Inkscape layer per pen (``io.svg``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.schema import Range, check_param
from ..errors import ParamError, UserError
from ..io.budget import check_budget
from .request import PictureRequest, resolve_picture
from .trace import Line, flow_lines, hatch_lines, rebanded, sort_lines, trace_contours

STYLES = ("contours", "hatch", "flow")
PAPERS = {
    "A5": (148.0, 210.0),
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "A2": (420.0, 594.0),
    "letter": (215.9, 279.4),
}
DRAW_RANGES = {
    "paper": Range(10.0, 3000.0, "a paper side in millimetres (plotters take up to A0 rolls)"),
    "margin_mm": Range(0.0, 1000.0, "the blank border in millimetres"),
    "levels": Range(1, 256, "contour levels or hatch layers"),
    "spacing_mm": Range(0.05, 100.0, "millimetres between hatch lines or streamlines"),
    "density": Range(0.5, 40.0, "trace samples per millimetre"),
    "pen_mm": Range(0.01, 10.0, "the pen's line width in millimetres"),
}
CHANNEL_PENS = (("red", "#e41a1c"), ("green", "#4daf4a"), ("blue", "#377eb8"))
HATCH_ANGLES = (45.0, 135.0, 0.0, 90.0, 22.5, 112.5, 67.5, 157.5)
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709
FLOW_LENGTH_MM = 40.0  # the longest streamline


def check_draw_param(name: str, value: Any) -> Any:
    """A drawing option within ``DRAW_RANGES`` (ParamError naming it otherwise)."""
    return check_param(name, value, DRAW_RANGES[name])


def paper_size(paper: str | tuple[float, float]) -> tuple[float, float]:
    """(width, height) in mm of ``A5``, ``A4``, ``A3``, ``A2``, ``letter`` or ``WxHmm``.

    >>> paper_size("A4"), paper_size("300x200mm")
    ((210.0, 297.0), (300.0, 200.0))
    """
    if isinstance(paper, tuple):
        size = (float(paper[0]), float(paper[1]))
    else:
        named = {k.lower(): v for k, v in PAPERS.items()}.get(paper.strip().lower())
        match = re.fullmatch(r"\s*([0-9.]+)\s*[xX×]\s*([0-9.]+)\s*mm\s*", paper)
        if named is None and match is None:
            raise ParamError("paper", f"must be {', '.join(PAPERS)} or WIDTHxHEIGHTmm, got {paper!r}")
        try:
            size = named or (float(match[1]), float(match[2]))  # type: ignore[index]
        except ValueError:
            raise ParamError("paper", f"must be {', '.join(PAPERS)} or WIDTHxHEIGHTmm, got {paper!r}") from None
    for side in size:
        check_draw_param("paper", side)
    return size


@dataclass(frozen=True, eq=False)
class DrawRequest:
    """A drawing: a picture rendered over the drawing area (its canvas is the trace grid), a
    ``style``, ``levels`` (contour levels, hatch layers), ``spacing_mm`` (hatch and flow), the
    page, its margin, ``per_channel`` (contours of each colour channel as its own pen) and the pen.
    ``band_rows`` re-cuts the rendered bands (None: as rendered); the drawing is the same."""

    picture: PictureRequest
    style: str = "contours"
    levels: int = 8
    spacing_mm: float = 1.0
    page_mm: tuple[float, float] = PAPERS["A4"]
    margin_mm: float = 15.0
    density: float = 4.0
    per_channel: bool = False
    pen_mm: float = 0.3
    band_rows: int | None = field(default=None)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ParamError("style", f"must be one of {', '.join(STYLES)}, got {self.style!r}")
        for name in ("levels", "spacing_mm", "margin_mm", "density", "pen_mm"):
            check_draw_param(name, getattr(self, name))
        if self.per_channel and self.style != "contours":
            raise ParamError("per_channel", "draws contours of each channel; hatch and flow follow brightness")

    @property
    def area_mm(self) -> tuple[float, float]:
        """The drawing area (the page less its margins), width and height in mm."""
        return drawing_area(self.page_mm, self.margin_mm)

    def recipe(self) -> dict[str, Any]:
        """The picture's recipe and the drawing's options: what the SVG carries."""
        options = {
            "style": self.style,
            "levels": self.levels,
            "spacing_mm": self.spacing_mm,
            "paper": list(self.page_mm),
            "margin_mm": self.margin_mm,
            "density": self.density,
            "per_channel": self.per_channel,
            "pen_mm": self.pen_mm,
        }
        return {**self.picture.recipe(), "drawing": options}

    def default_name(self) -> Path:
        """``LABEL-SEED-STYLE-WxHmm.svg``."""
        seed = "z" if self.picture.seed is None else self.picture.seed
        w, h = self.page_mm
        return Path(f"{self.picture.model.label}-{seed}-{self.style}-{w:g}x{h:g}mm.svg")

    def check(self) -> None:
        """The render within budget, and the raster hatch and flow hold within memory."""
        c = self.picture.canvas
        c.check()
        if self.style != "contours":
            check_budget(f"a {c.width}x{c.height} trace", memory=float(c.width) * c.height * 4 * 10)


def drawing_area(page_mm: tuple[float, float], margin_mm: float) -> tuple[float, float]:
    """The page less its margins; an error when nothing is left."""
    w, h = page_mm[0] - 2 * margin_mm, page_mm[1] - 2 * margin_mm
    if w < 1 or h < 1:
        raise ParamError(
            "margin_mm", f"{margin_mm:g} leaves no drawing area on a {page_mm[0]:g}x{page_mm[1]:g} mm page"
        )
    return w, h


def resolve_drawing(
    model: str | Path | Any = None,
    *,
    recipe: dict[str, Any] | None = None,
    seed: int | None = None,
    z: Any = None,
    style: str | None = None,
    levels: int | None = None,
    spacing_mm: float | None = None,
    paper: str | tuple[float, float] | None = None,
    margin_mm: float | None = None,
    density: float | None = None,
    per_channel: bool | None = None,
    zoom: float | None = None,
    center: Sequence[float] | None = None,
    supersample: int | None = None,
    chunk: int | None = None,
    device: str = "auto",
) -> DrawRequest:
    """The drawing these arguments ask for, with ``resolve_picture``'s precedence: an argument,
    then the ``recipe``'s (an SVG cppnart drew, or a PNG's), then the defaults."""
    recipe = recipe or {}
    found = recipe.get("drawing")
    options: dict[str, Any] = found if isinstance(found, dict) else {}

    def pick(name: str, given: Any, default: Any) -> Any:
        return given if given is not None else options.get(name, default)

    page = paper_size(paper if paper is not None else _recipe_paper(options.get("paper", PAPERS["A4"])))
    margin = check_draw_param("margin_mm", pick("margin_mm", margin_mm, 15.0))
    dens = check_draw_param("density", pick("density", density, 4.0))
    area = drawing_area(page, margin)
    res = (max(2, round(area[0] * dens)), max(2, round(area[1] * dens)))
    picture = resolve_picture(
        model, recipe=recipe, seed=seed, z=z, res=res, zoom=zoom, center=center,
        supersample=supersample, chunk=chunk, device=device,
    )  # fmt: skip
    return DrawRequest(
        picture,
        pick("style", style, "contours"),
        pick("levels", levels, 8),
        pick("spacing_mm", spacing_mm, 1.0),
        page,
        margin,
        dens,
        bool(pick("per_channel", per_channel, False)),
        check_draw_param("pen_mm", options.get("pen_mm", 0.3)),
    )


def _recipe_paper(value: Any) -> tuple[float, float]:
    """A recipe's ``drawing.paper``: [width, height] in mm (checked: recipes come from elsewhere)."""
    numbers = isinstance(value, (list, tuple)) and len(value) == 2
    if not numbers or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        raise UserError(f"the recipe's 'drawing.paper' must be [width, height] in mm, got {str(value)[:60]}")
    return float(value[0]), float(value[1])


# --- tracing, ordering, writing -----------------------------------------------------------------


@dataclass(frozen=True)
class DrawResult:
    """What ``save_drawing`` wrote: the file, its layers, lines and points, the drawn length and
    the pen-up travel (mm) in the traced order and after ordering."""

    path: Path
    layers: int
    lines: int
    points: int
    pen_down_mm: float
    pen_up_before_mm: float
    pen_up_after_mm: float

    @property
    def travel_ratio(self) -> float:
        """Pen-up travel after ordering over before (lower is better)."""
        return self.pen_up_after_mm / self.pen_up_before_mm if self.pen_up_before_mm else 1.0


def _scalar_bands(request: DrawRequest, on_rows: Callable[[int], None] | None) -> Any:
    """The picture's bands as [rows, W, C] float32, re-cut to ``band_rows``."""
    pic = request.picture
    bands = (band[0] for band in pic.model.canvas_bands(pic.z, pic.canvas, on_rows))
    return rebanded(bands, request.band_rows)


def _brightness(band: np.ndarray) -> np.ndarray:
    return band[..., 0] if band.shape[-1] == 1 else band @ LUMA


def trace_layers(
    request: DrawRequest, on_rows: Callable[[int], None] | None = None
) -> list[tuple[str, str, list[Line]]]:
    """(label, colour, lines in pixel (row, col)) of each pen, in ``sort_lines`` order."""
    levels = [(k + 1) / (request.levels + 1) for k in range(request.levels)]
    if request.style == "contours":
        if request.per_channel and request.picture.model.channels == 3:
            bands = list(_scalar_bands(request, on_rows))  # three passes over the same bands
            layers = []
            for c, (name, colour) in enumerate(CHANNEL_PENS):
                found = trace_contours((b[..., c] for b in bands), levels)
                layers.append((name, colour, sort_lines([line for lv in levels for line in found[lv]])))
            return layers
        found = trace_contours((_brightness(b) for b in _scalar_bands(request, on_rows)), levels)
        return [("brightness", "#000000", sort_lines([line for lv in levels for line in found[lv]]))]
    bright = np.concatenate([_brightness(b) for b in _scalar_bands(request, on_rows)])
    spacing = request.spacing_mm * request.density
    if request.style == "hatch":
        lines = []
        for k, level in enumerate(reversed(levels)):  # the widest (lightest) layer first, at 45 degrees
            lines += hatch_lines(bright, level, HATCH_ANGLES[k % len(HATCH_ANGLES)], spacing)
        return [("hatch", "#000000", sort_lines(lines))]
    steps = int(FLOW_LENGTH_MM * request.density * 2)
    return [("flow", "#000000", sort_lines(flow_lines(bright, spacing, steps)))]


def to_page(lines: list[Line], request: DrawRequest) -> list[np.ndarray]:
    """Pixel (row, col) lines as page (x, y) millimetres: pixel centres inside the margins."""
    d, m = request.density, request.margin_mm
    return [np.stack([m + (p[:, 1] + 0.5) / d, m + (p[:, 0] + 0.5) / d], 1) for p in lines]


def simplify(lines: list[np.ndarray], tolerance: float) -> list[np.ndarray]:
    """Douglas-Peucker through shapely (vectorised over all lines); end points are kept."""
    import shapely

    lines = [p for p in lines if len(p) >= 2]
    if not lines:
        return []
    index = np.repeat(np.arange(len(lines)), [len(p) for p in lines])
    strings = shapely.linestrings(np.concatenate(lines), indices=index)
    simple = shapely.simplify(strings, tolerance, preserve_topology=False)
    return [np.asarray(shapely.get_coordinates(g)) for g in simple]


def pen_up_mm(lines: Sequence[np.ndarray]) -> float:
    """Travel with the pen up between consecutive lines, in mm."""
    if len(lines) < 2:
        return 0.0
    ends = np.array([line[-1] for line in lines[:-1]])
    starts = np.array([line[0] for line in lines[1:]])
    return float(np.hypot(*(starts - ends).T).sum())


def order(lines: list[np.ndarray], merge_mm: float) -> list[np.ndarray]:
    """Merge lines whose ends are within ``merge_mm`` and order them greedily, nearest next end
    first, reversing a line where that is nearer (vpype's ``LineCollection.merge`` and ``LineIndex``,
    as its ``linemerge`` and ``linesort`` commands do)."""
    import vpype as vp

    if len(lines) < 2:
        return lines
    collection = vp.LineCollection([p[:, 0] + 1j * p[:, 1] for p in lines])
    collection.merge(tolerance=merge_mm, flip=True)
    todo = list(collection)
    index = vp.LineIndex(todo[1:], reverse=True)
    out = [todo[0]]
    while len(index) > 0:
        i, reverse = index.find_nearest(out[-1][-1])
        line = index.pop(i)
        out.append(line[::-1] if reverse else line)
    return [np.stack([c.real, c.imag], 1) for c in out]


def save_drawing(
    request: DrawRequest,
    out: str | Path | None = None,
    *,
    force: bool = False,
    on_rows: Callable[[int], None] | None = None,
) -> DrawResult:
    """Trace the request's picture into pen lines and write the plotter SVG ``out`` (default the
    request's name), atomically, with its recipe; a different drawing there is refused unless
    ``force``. ``on_rows(n)`` is told of each band of rows rendered."""
    from ..io.atomic import check_writable
    from ..io.extras import require
    from ..io.names import refuse_replacing
    from ..io.svg import PenLayer, read_svg_recipe, write_svg

    require("drawing", "draw", "skimage", "shapely", "vpype")
    path = Path(out) if out is not None else request.default_name()
    if path.suffix.lower() != ".svg":
        raise ParamError("out", f"must end in .svg, got '{path}'")
    check_writable(path)
    request.check()
    recipe = request.recipe()
    refuse_replacing(path, lambda: _same(read_svg_recipe(path), recipe), force)
    pens: list[PenLayer] = []
    before, after, down, count, points = 0.0, 0.0, 0.0, 0, 0
    for label, colour, traced in trace_layers(request, on_rows):
        lines = simplify(to_page(traced, request), 0.125 / request.density)
        before += pen_up_mm(lines)
        lines = order(lines, 0.5 / request.density)
        after += pen_up_mm(lines)
        down += sum(float(np.hypot(*np.diff(p, axis=0).T).sum()) for p in lines)
        count, points = count + len(lines), points + sum(len(p) for p in lines)
        pens.append(PenLayer(f"{len(pens) + 1} {label}", colour, request.pen_mm, lines))
    if count == 0:
        raise ParamError(
            "levels",
            f"the picture gives no {request.style} lines at these settings (it may be flat); "
            "try more {param}, a smaller {spacing_mm}, or another seed",
            also=("spacing_mm",),
        )
    write_svg(path, request.page_mm, pens, recipe)
    return DrawResult(path, len(pens), count, points, down, before, after)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("model", "seed", "z", "res", "zoom", "center", "config", "drawing")
    return all(a.get(k) == b.get(k) for k in keys)
