"""The metadata images carry, written and read in one place: render recipes and grid sheets.

A render's recipe is what it takes to render it again, larger or reframed. It is written into
PNG text chunks the way popular generators carry their parameters: a human-readable
``parameters`` line (as Stable Diffusion front-ends write) and a ``cppnart`` chunk with the same
facts as JSON, which ``--from`` reads back. The chunks are iTXt (UTF-8), so a preset file or
model path in any script survives; files written before that carry Latin-1 tEXt chunks, and the
reader takes both (Pillow merges them into ``image.info``). A contact sheet made by ``grid`` carries every
cell's seed and z under ``cppnart-grid``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..__about__ import __version__
from ..configs.view import View
from ..errors import UserError
from .png import open_own_image

RECIPE_KEY = "cppnart"
GRID_KEY = "cppnart-grid"  # PNG text chunk of a contact sheet: every cell's seed and z


def make_recipe(
    model: Any, z: np.ndarray, width: int, height: int, view: View, supersample: int, bits: int
) -> dict[str, Any]:
    config = model.metadata.get("config")
    recipe: dict[str, Any] = {
        "model": model.source,
        "preset": model.preset,
        "seed": model.seed,
        "z": [float(v) for v in np.asarray(z, dtype=np.float32).reshape(-1)],
        "res": [width, height],
        "zoom": view.zoom,
        "center": list(view.center),
        "supersample": supersample,
        "bits": bits,
        "version": __version__,
    }
    if config and model.kind == "cppn" and not model.source.endswith(".onnx"):
        recipe["config"] = json.loads(config)
    return recipe


def png_text(recipe: dict[str, Any]) -> dict[str, str]:
    """The text chunks of a render: keyword -> UTF-8 text (written as iTXt by ``write_png``)."""
    z = ", ".join(f"{v:.4g}" for v in recipe["z"])
    cx, cy = recipe["center"]
    parameters = (
        f"Model: {recipe['preset'] or recipe['model']}, Seed: {recipe['seed']}, "
        f"Size: {recipe['res'][0]}x{recipe['res'][1]}, "
        f"Zoom: {recipe['zoom']:g}, Center: {cx:g},{cy:g}, Supersample: {recipe['supersample']}, z: [{z}], "
        f"Version: cppnart {recipe['version']}"
    )
    return {
        "Software": f"cppnart {__version__}",
        "parameters": parameters,
        RECIPE_KEY: json.dumps(recipe, separators=(",", ":")),
    }


def read_recipe(path: str | Path) -> dict[str, Any]:
    """The recipe stored in a PNG cppnart made; a clear error for any other file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"image '{path}' not found")
    try:
        with open_own_image(path) as image:
            text = image.info.get(RECIPE_KEY)
            is_sheet = GRID_KEY in image.info
    except Exception:  # Pillow's UnidentifiedImageError, truncated files, ...
        raise UserError(f"'{path}' is not an image Pillow can read") from None
    if not text and is_sheet:
        raise UserError(
            f"'{path}' is a grid sheet of many cells; take one cell's latent with "
            f"`cppnart z get {path} --cell N -o z.npy` and render that"
        )
    if not text:
        raise UserError(f"'{path}' carries no cppnart recipe; --from needs a PNG that cppnart rendered")
    try:
        recipe = json.loads(text)
        if not isinstance(recipe, dict) or not isinstance(recipe.get("z"), list):
            raise ValueError
    except ValueError:
        raise UserError(f"the cppnart recipe in '{path}' is damaged") from None
    return recipe


def read_grid(path: str | Path) -> dict[str, Any] | None:
    """The metadata of a `cppnart grid` sheet (model, layout, and every cell's label, seed and z),
    or None for other files."""
    try:
        with open_own_image(path) as image:
            text = image.info.get(GRID_KEY)
    except Exception:  # not an image Pillow knows: read_recipe gives the message
        return None
    if not text:
        return None
    try:
        sheet = json.loads(text)
        cells = sheet["cells"]
        if not isinstance(cells, list) or not all(isinstance(c, dict) and isinstance(c["z"], list) for c in cells):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise UserError(f"the grid metadata in '{path}' is damaged") from None
    return sheet
