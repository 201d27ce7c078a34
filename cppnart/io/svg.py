"""Plotter SVG: millimetre units, one Inkscape layer per pen, the recipe in ``<metadata>``; its
writer beside its reader.

    write_svg("out.svg", (210, 297), [PenLayer("1 black", "#000", 0.3, lines)], recipe)
    read_svg_recipe("out.svg")

Layers are top-level ``<g inkscape:groupmode="layer" inkscape:label=...>`` groups (what Inkscape,
vpype and AxiDraw's tools read as layers); the viewBox is the page in millimetres, so a
coordinate is a millimetre. Paths are written one at a time into a temporary file renamed into
place at the end (``io.atomic``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr, unescape

import numpy as np

from ..__about__ import __version__
from ..errors import UserError
from .atomic import atomic_output

RECIPE_NS = "https://github.com/cppnart/cppnart"
MAX_HEAD = 1 << 22  # the recipe sits before the first layer: read at most this much to find it
ROUND = "stroke-linecap:round;stroke-linejoin:round"
_RECIPE = re.compile(r"<cppnart:recipe[^>]*>(.*?)</cppnart:recipe>", re.S)


@dataclass(frozen=True)
class PenLayer:
    """One pen: its label, stroke colour and width (mm), and its polylines [n, 2] (x, y) in mm."""

    label: str
    colour: str
    width_mm: float
    lines: Sequence[np.ndarray]


def path_data(line: np.ndarray) -> str:
    """``M x,y L x,y ...`` with coordinates to a micrometre."""
    pts = [f"{x:.3f},{y:.3f}" for x, y in line]
    return f"M{pts[0]} L{' '.join(pts[1:])}"


def write_svg(
    path: str | Path, page_mm: tuple[float, float], layers: Sequence[PenLayer], recipe: dict[str, Any]
) -> Path:
    """The plotter SVG of ``layers`` on a page of ``page_mm`` (width, height), atomically."""
    w, h = page_mm
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(
            f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
            f'width="{w:g}mm" height="{h:g}mm" viewBox="0 0 {w:g} {h:g}">\n'
        )
        text = escape(json.dumps(recipe, separators=(",", ":")))
        f.write(f'<metadata><cppnart:recipe xmlns:cppnart="{RECIPE_NS}">{text}</cppnart:recipe></metadata>\n')
        f.write(f"<!-- cppnart {__version__} -->\n")
        for i, layer in enumerate(layers, start=1):
            style = f"fill:none;stroke:{layer.colour};stroke-width:{layer.width_mm:g};{ROUND}"
            label = quoteattr(layer.label)
            f.write(f'<g inkscape:groupmode="layer" id="layer{i}" inkscape:label={label} style="{style}">\n')
            for line in layer.lines:
                if len(line) >= 2:
                    f.write(f'<path d="{path_data(line)}"/>\n')
            f.write("</g>\n")
        f.write("</svg>\n")
    return Path(path)


def read_svg_recipe(path: str | Path) -> dict[str, Any]:
    """The recipe an SVG cppnart drew carries; a one-line error for any other file."""
    from ..configs.schema import loads_bounded

    path = Path(path)
    if not path.is_file():
        raise UserError(f"drawing '{path}' not found")
    try:
        with open(path, "rb") as f:
            head = f.read(MAX_HEAD).decode("utf-8", "replace")
    except OSError as exc:
        raise UserError(f"cannot read '{path}': {exc.strerror}") from None
    match = _RECIPE.search(head)
    if match is None:
        raise UserError(f"'{path}' carries no cppnart recipe; only SVGs cppnart drew carry one")
    recipe = loads_bounded(unescape(match[1]), f"the recipe in '{path}'")
    if not isinstance(recipe, dict) or not isinstance(recipe.get("drawing"), dict):
        raise UserError(f"the cppnart recipe in '{path}' is damaged")
    return recipe
