"""Viewing a Deep Zoom pyramid (what ``cppnart render --tiles`` writes) in the browser.

    pyramid = find_pyramid("out/poster")            # the folder, or out/poster/poster.dzi
    with ViewerServer(pyramid_app(pyramid), port=0) as server:
        print(server.url)                           # OpenSeadragon, vendored in static/openseadragon/

The page (``static/pyramid.html``) is OpenSeadragon opening ``/pyramid/NAME.dzi``. Under
``/pyramid/`` only the pyramid's own files are served: ``NAME.dzi``, the tiles
``NAME_files/LEVEL/COL_ROW.FORMAT`` and ``recipe.json`` (checked field by field: the page's
caption), each resolved inside the pyramid's folder; anything else there (a ``secret.txt`` beside
it, a link that leads out) is 404. The app sits behind the same ``http.LocalGuard`` as the
model viewer: Host allow-list, Origin, and the page's token on ``/api/pyramid``.
"""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..configs.recipe import check_recipe
from ..errors import UserError
from ..io.dzi import DZI_NAMESPACE
from ..io.metadata import png_text
from .http import guarded_app, http_error, page_with_token

STATIC = Path(__file__).parent / "static"
RECIPE_FILE = "recipe.json"  # as render.tiles writes it (not imported: view needs no renderer for this)
MAX_DESCRIPTOR_BYTES = 64 * 1024  # a .dzi is a few lines of XML; bound it before parsing
MAX_RECIPE_BYTES = 1024 * 1024
MAX_MODEL_TEXT = 4096
TILE_FORMATS = ("png", "jpg", "jpeg")  # what a .dzi's Format may name (cppnart writes png)


@dataclass(frozen=True)
class Pyramid:
    """A pyramid on disk: its folder, its name (``NAME.dzi`` beside ``NAME_files/``), its size and recipe."""

    folder: Path
    name: str
    width: int
    height: int
    tile_size: int
    overlap: int
    recipe: dict[str, Any] | None
    format: str = "png"

    @property
    def caption(self) -> str:
        """The recipe as one readable line (the PNG ``parameters`` line), or what is known without one."""
        if self.recipe is None:
            return f"{self.name}: {self.width}x{self.height} (no recipe.json beside it)"
        return png_text(self.recipe)["parameters"]

    @property
    def command(self) -> str | None:
        """The `cppnart render` command that renders this pyramid again, when the recipe says how."""
        recipe = self.recipe
        if recipe is None or not recipe.get("model"):
            return None
        parts = ["cppnart", "render", shlex.quote(str(recipe["model"]))]
        if recipe.get("seed") is not None:
            parts += ["--seed", str(recipe["seed"])]
        width, height = recipe.get("res") or (self.width, self.height)
        parts += ["--res", f"{width}x{height}"]
        if recipe.get("zoom", 1.0) != 1.0:
            parts += ["--zoom", f"{recipe['zoom']:g}"]
        cx, cy = recipe.get("center", [0.0, 0.0])
        if (cx, cy) != (0.0, 0.0):
            parts += ["--center", f"{cx:g},{cy:g}"]
        if recipe.get("supersample", 1) != 1:
            parts += ["--supersample", str(recipe["supersample"])]
        parts += ["--tiles", shlex.quote(self.name)]
        return " ".join(parts)

    def file(self, path: str) -> Path | None:
        """The pyramid's file at ``path`` (relative, as in ``/pyramid/PATH``): the descriptor, a tile
        or the recipe, inside the folder once links are followed; None for anything else."""
        tile = rf"{re.escape(self.name)}_files/[0-9]{{1,2}}/[0-9]{{1,9}}_[0-9]{{1,9}}\.{re.escape(self.format)}"
        if path not in (f"{self.name}.dzi", RECIPE_FILE) and not re.fullmatch(tile, path):
            return None
        found = (self.folder / path).resolve()
        return found if found.is_relative_to(self.folder) and found.is_file() else None

    def as_json(self) -> dict[str, Any]:
        """What the page shows: the descriptor's URL, the size, the caption and the command."""
        return {
            "name": self.name,
            "dzi": f"/pyramid/{self.name}.dzi",
            "width": self.width,
            "height": self.height,
            "caption": self.caption,
            "command": self.command,
            "recipe": self.recipe,
        }


def is_pyramid_path(path: str | Path) -> bool:
    """True for what ``find_pyramid`` takes: a ``.dzi`` file name, or a folder holding one."""
    path = Path(path)
    return path.suffix.lower() == ".dzi" or (path.is_dir() and any(path.glob("*.dzi")))


def find_pyramid(path: str | Path) -> Pyramid:
    """The pyramid at ``path``: a ``NAME.dzi`` file, or the folder ``render --tiles`` wrote."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.dzi"))
        if len(found) != 1:
            raise UserError(f"'{path}' holds {len(found)} .dzi files; name the one to view")
        path = found[0]
    if not path.is_file():
        raise UserError(f"no Deep Zoom pyramid at '{path}' (give a .dzi file or the folder `render --tiles` wrote)")
    folder, name = path.parent.resolve(), path.stem
    if not (folder / f"{name}_files").is_dir():
        raise UserError(f"'{path}' has no tile folder '{name}_files' beside it")
    width, height, tile, overlap, tile_format = _read_descriptor(path)
    return Pyramid(folder, name, width, height, tile, overlap, _read_recipe(folder), tile_format)


def _read_descriptor(path: Path) -> tuple[int, int, int, int, str]:
    if path.stat().st_size > MAX_DESCRIPTOR_BYTES:
        raise UserError(f"'{path}' is too large for a .dzi descriptor")
    try:
        root = ET.fromstring(path.read_bytes())
        size = root.find(f"{{{DZI_NAMESPACE}}}Size")
        if root.tag != f"{{{DZI_NAMESPACE}}}Image" or size is None:
            raise ValueError("no Image with a Size")
        values = (size.attrib["Width"], size.attrib["Height"], root.attrib["TileSize"], root.attrib["Overlap"])
        width, height, tile, overlap = (int(v) for v in values)
        tile_format = root.attrib.get("Format", "png").lower()
    except (ET.ParseError, ValueError, KeyError) as exc:
        raise UserError(f"'{path}' is not a Deep Zoom descriptor ({exc})") from None
    if min(width, height, tile) < 1 or overlap < 0:
        raise UserError(f"'{path}': size, tile size and overlap must be positive")
    if tile_format not in TILE_FORMATS:
        raise UserError(f"'{path}': tile format '{tile_format[:20]}' is not one of {', '.join(TILE_FORMATS)}")
    return width, height, tile, overlap, tile_format


def _read_recipe(folder: Path) -> dict[str, Any] | None:
    path = folder / RECIPE_FILE
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_RECIPE_BYTES:
        raise UserError(f"'{path}' is too large for a recipe")
    try:
        recipe = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"'{path}' is not JSON ({exc})") from None
    if not isinstance(recipe, dict):
        raise UserError(f"'{path}': the recipe must be a table")
    # The model is only shown here, never loaded, so it may name any file; it must still be a short string.
    model = recipe.pop("model", None)
    if model is not None and not (isinstance(model, str) and len(model) <= MAX_MODEL_TEXT):
        raise UserError(f"'{path}': 'model' must be a short string")
    checked = check_recipe(recipe, str(path))
    checked["model"] = model
    for key in ("z", "center", "res"):
        if key not in checked:
            raise UserError(f"'{path}': the recipe has no '{key}'")
    return checked


def pyramid_app(pyramid: Pyramid) -> Any:
    """The starlette app: the page, its scripts, ``/api/pyramid`` and the pyramid's own files only."""
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def index(request: Request) -> Response:
        return page_with_token(STATIC / "pyramid.html", request.app.state.token)

    async def info(request: Request) -> Response:
        return JSONResponse(pyramid.as_json())

    async def files(request: Request) -> Response:
        found = pyramid.file(request.path_params["path"])
        if found is None:
            raise HTTPException(404)
        return FileResponse(found)

    routes = [
        Route("/", index),
        Route("/api/pyramid", info),
        Route("/pyramid/{path:path}", files),
        # StaticFiles resolves every request inside its directory and answers 404 for one that leaves it.
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return guarded_app(routes, {HTTPException: http_error})
