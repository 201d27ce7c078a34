"""The metadata cppnart's files carry, each format's writer beside its reader: render recipes
(PNG), grid sheets (PNG), and morph recipes (GIF comment, MP4 metadata, WebP chunk).

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
from typing import Any, Protocol

import numpy as np

from ..__about__ import __version__
from ..configs.view import View
from ..errors import UserError
from .png import open_own_image

RECIPE_KEY = "cppnart"
GRID_KEY = "cppnart-grid"  # PNG text chunk of a contact sheet: every cell's seed and z
# A genome goes into the recipe when it fits Pillow's 1 MiB text-chunk limit with room to spare
# (a 32-wide preset's genome is 260 KB; `wide`'s 8.9 MB is rendered again from its file).
MAX_RECIPE_GENOME = 512 << 10
MAX_RECIPE_LINEAGE = 256 << 10  # with the genome's 512 KB, still under Pillow's 1 MiB


class ModelFacts(Protocol):
    """What a recipe records of a model (``render.model.Model`` has it): where it came from, its
    preset and weights seed, its kind and the metadata its file carries."""

    source: str
    metadata: dict[str, str]

    @property
    def preset(self) -> str:
        """The preset it was built from ('' when none)."""

    @property
    def seed(self) -> int | None:
        """The seed of its weights, None when none was involved."""

    @property
    def kind(self) -> str:
        """Its kind (cppn, genome, ganvae, ...)."""


class CanvasFacts(Protocol):
    """What a recipe records of a canvas (``render.canvas.Canvas`` has it)."""

    @property
    def width(self) -> int:
        """Pixels across."""

    @property
    def height(self) -> int:
        """Pixels down."""

    @property
    def view(self) -> View:
        """The part of the plane shown."""

    @property
    def supersample(self) -> int:
        """Samples per pixel along each side."""


def make_recipe(
    model: ModelFacts, z: np.ndarray, width: int, height: int, view: View, supersample: int, bits: int
) -> dict[str, Any]:
    """The recipe of one picture (model, preset, seed, z, size, view, sampling, bit depth, version, and
    the config, genome, tile and lineage where they apply): what ``--from`` renders again."""
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
    genome = model.metadata.get("genome") if model.kind == "genome" else None
    if genome and len(genome) <= MAX_RECIPE_GENOME:
        recipe["genome"] = json.loads(genome)
    lineage = model.metadata.get("lineage") if model.kind == "genome" else None
    if lineage and len(lineage) <= MAX_RECIPE_LINEAGE:  # a bred child's picks back to its first ancestor
        recipe["lineage"] = json.loads(lineage)
    if model.metadata.get("tile"):  # a seamless tile: `torus` or `reflect` (render.seamless)
        recipe["tile"] = model.metadata["tile"]
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
        raise UserError(f"'{path}' carries no cppnart recipe; only PNGs cppnart rendered carry one")
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


def grid_text(sheet: dict[str, Any], parameters: str) -> dict[str, str]:
    """The text chunks of a grid sheet: every cell's seed and z under ``GRID_KEY`` (``read_grid``)."""
    return {
        "Software": f"cppnart {__version__}",
        "parameters": parameters,
        GRID_KEY: json.dumps(sheet, separators=(",", ":")),
    }


# --- recipes in animations: GIF comments, MP4 metadata, a WebP chunk ---------------------------
MORPH_KEY = "cppnart-morph"  # the JSON key of the recipe an animation carries


def morph_recipe(
    model: ModelFacts, keyframes: np.ndarray, canvas: CanvasFacts, options: dict[str, Any]
) -> dict[str, Any]:
    """The recipe of a morph through ``keyframes`` [K, Z] on ``canvas`` (width, height, view,
    supersample), with the path ``options`` (frames, hold, loop, ease, path, fps)."""
    return {
        "model": model.source,
        "preset": model.preset,
        "seed": model.seed,
        "keyframes": [[round(float(v), 7) for v in k] for k in keyframes],
        **options,
        "res": [canvas.width, canvas.height],
        "zoom": canvas.view.zoom,
        "center": list(canvas.view.center),
        "supersample": canvas.supersample,
        **({"tile": model.metadata["tile"]} if model.metadata.get("tile") else {}),
    }


def weight_morph_recipe(keyframes: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """The recipe of a morph that mixes the weights of CPPN run folders (``keyframes``)."""
    return {"weights": list(keyframes), **options}


def genome_morph_recipe(keyframes: list[str], options: dict[str, Any], first: dict[str, Any]) -> dict[str, Any]:
    """The recipe of a morph between genomes (``keyframes``: their files): the files under
    ``genomes``, the path ``options``, and the ``first`` keyframe's genome inline with its file as
    ``model`` (a render recipe: ``--from`` draws the first frame); ``read_animation_recipe`` reads it."""
    genome = first if len(json.dumps(first)) <= MAX_RECIPE_GENOME else None
    return {"model": keyframes[0], "genomes": list(keyframes), **options, **({"genome": genome} if genome else {})}


def animation_comment(recipe: dict[str, Any], compact: bool = True) -> str:
    """The text an animation carries (GIF comment, MP4 comment tag, WebP chunk): ``read_animation_recipe``
    reads it back."""
    return json.dumps({MORPH_KEY: recipe}, separators=(",", ":") if compact else None)


WEBP_RECIPE_CHUNK = b"CPNA"  # a WebP chunk of our own; readers skip chunks they do not know
MAX_COMMENT = 1 << 22  # bytes of recipe text read from an animation


def _gif_comment(path: Path) -> bytes:
    from PIL import Image

    with Image.open(path) as image:
        return bytes(image.info.get("comment", b""))[:MAX_COMMENT]


def _webp_comment(path: Path) -> bytes:
    """Walk the RIFF chunk headers (seeking past image data) to our recipe chunk."""
    with open(path, "rb") as f:
        if f.read(4) != b"RIFF" or (f.read(4), f.read(4))[1] != b"WEBP":
            raise ValueError("not a WebP file")
        while header := f.read(8):
            if len(header) < 8:
                break
            tag, size = header[:4], int.from_bytes(header[4:], "little")
            if tag == WEBP_RECIPE_CHUNK:
                if size > MAX_COMMENT:
                    raise ValueError("recipe chunk too large")
                return f.read(size)
            f.seek(size + size % 2, 1)
    return b""


def _mp4_comment(path: Path) -> bytes:
    """The comment tag (``©cmt``, what ffmpeg's ``-metadata comment=`` writes), read with mutagen:
    0.2 ms against 77 ms for the bundled ffmpeg's ``-f ffmetadata`` and a hand-written unescaper
    (measured on a 64x64 morph)."""
    from mutagen.mp4 import MP4

    tags = MP4(path).tags
    values: list[Any] = list(tags.get("\xa9cmt", [])) if tags is not None else []
    return str(values[0]).encode("utf-8")[:MAX_COMMENT] if values else b""


ANIMATION_READERS = {".gif": _gif_comment, ".webp": _webp_comment, ".mp4": _mp4_comment}


def read_animation_recipe(path: str | Path) -> dict[str, Any]:
    """The morph recipe a GIF, MP4 or WebP made by `cppnart morph` carries, as a render recipe
    (its first keyframe's z, or a genome morph's first genome) plus ``keyframes`` (``genomes``)
    and the morph options."""
    from ..configs.schema import loads_bounded

    path = Path(path)
    reader = ANIMATION_READERS.get(path.suffix.lower())
    if reader is None:
        raise UserError(f"'{path}' is not a GIF, MP4 or WebP")
    if not path.is_file():
        raise UserError(f"animation '{path}' not found")
    try:
        text = reader(path).decode("utf-8")
    except Exception:  # unreadable container, ffmpeg errors, bad UTF-8: all mean "not ours"
        raise UserError(f"'{path}' is not an animation cppnart can read") from None
    if MORPH_KEY not in text:
        raise UserError(f"'{path}' carries no cppnart recipe; only files cppnart made carry one")
    data = loads_bounded(text, f"the recipe in '{path}'")
    morph = data.get(MORPH_KEY) if isinstance(data, dict) else None
    if isinstance(morph, dict) and isinstance(morph.get("genomes"), list) and morph["genomes"]:
        return dict(morph)  # a genome morph: already a render recipe of its first keyframe
    keyframes = morph.get("keyframes") if isinstance(morph, dict) else None
    if not isinstance(morph, dict) or not isinstance(keyframes, list) or not keyframes:
        raise UserError(f"the cppnart recipe in '{path}' is damaged")
    return {**morph, "z": keyframes[0]}


def read_any_recipe(path: str | Path) -> dict[str, Any]:
    """The recipe of any file cppnart makes: a PNG's, an animation's (see read_animation_recipe),
    a drawing's (``io.svg``) or a mesh's (``io.meshfile``)."""
    suffix = Path(path).suffix.lower()
    if suffix in ANIMATION_READERS:
        return read_animation_recipe(path)
    if suffix == ".svg":
        from .svg import read_svg_recipe

        return read_svg_recipe(path)
    if suffix in (".glb", ".ply", ".obj", ".stl"):
        from .meshfile import read_mesh_recipe

        return read_mesh_recipe(path)
    return read_recipe(path)
