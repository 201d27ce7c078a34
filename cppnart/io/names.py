"""Default output names that encode the recipe, and no silent replacement of a different picture.

``recipe_name`` turns a render's recipe into a file name: the model, the seed, the size, and a
short digest of everything else (z, view, supersampling, depth, a tile) when any of it is not the
default, so two different pictures never get the same default name. ``check_replace`` refuses
to write over a PNG that holds a different recipe unless ``force`` is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import PARAM, ParamError, UserError

# The fields that decide the pixels; version and preset labels do not. A seamless tile ("tile":
# torus or reflect) is another picture than the plain one: another name, and not replaced by it.
PICTURE_KEYS = ("model", "seed", "z", "res", "zoom", "center", "supersample", "bits", "config", "tile")
DEFAULTS = {"zoom": 1.0, "center": [0.0, 0.0], "supersample": 1, "bits": 8, "tile": None}


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._") or "model"


def picture_of(recipe: dict[str, Any]) -> dict[str, Any]:
    """The part of a recipe that decides the pixels, in a canonical form."""
    out: dict[str, Any] = {k: recipe[k] for k in PICTURE_KEYS if recipe.get(k) is not None}
    if isinstance(out.get("z"), list):
        out["z"] = [round(float(v), 6) for v in out["z"]]
    if isinstance(out.get("center"), list):
        out["center"] = [float(v) for v in out["center"]]
    return out


def digest(recipe: dict[str, Any]) -> str:
    """Eight hex digits of the picture's recipe."""
    import hashlib  # here: its OpenSSL extension costs every render ~5 ms to load, and few need a digest

    text = json.dumps(picture_of(recipe), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def recipe_name(
    label: str, recipe: dict[str, Any], suffix: str = ".png", z_from_seed: bool = True, seed: Any = "recipe"
) -> Path:
    """``LABEL-SEED-WxH[-DIGEST].png``; the digest appears when the view, supersampling, bit depth
    or a latent not drawn from the seed make the picture differ from the plain seed's. ``seed`` is
    the seed that drew the picture (default: the recipe's; a model file's z seed is not in its
    recipe); ``z`` stands in for it when there is none.

    >>> recipe_name("classic", {"seed": 7, "res": [640, 480], "zoom": 1.0, "center": [0, 0]})
    PosixPath('classic-7-640x480.png')
    """
    width, height = recipe["res"]
    seed = recipe.get("seed") if seed == "recipe" else seed
    plain = z_from_seed and seed is not None and all(recipe.get(k, v) == v for k, v in DEFAULTS.items())
    tail = "" if plain else f"-{digest(recipe)}"
    return Path(f"{_clean(label)}-{'z' if seed is None else seed}-{width}x{height}{tail}{suffix}")


def holds_picture(path: str | Path, recipe: dict[str, Any]) -> bool:
    """Whether the PNG at ``path`` carries the recipe of the same picture as ``recipe``."""
    from .metadata import read_recipe

    return picture_of(read_recipe(path)) == picture_of(recipe)


def check_replace(path: str | Path, recipe: dict[str, Any], force: bool) -> None:
    """Refuse to replace an existing file unless it holds the same picture's recipe (or ``force``)."""
    refuse_replacing(path, lambda: holds_picture(path, recipe), force)


def refuse_replacing(
    path: str | Path, same: Callable[[], bool], force: bool, what: str = "a different picture"
) -> None:
    """Refuse to replace an existing file unless ``same()`` says it already holds this output (or
    ``force``): the one overwrite rule of every picture, animation, sheet, drawing, mesh and latent.
    The error is a ``ParamError`` of ``force``, so the CLI names ``--force``."""
    path = Path(path)
    if force or not path.exists() or path.is_dir():
        return
    try:
        unchanged = same()
    except (UserError, ValueError, TypeError, KeyError, AttributeError):  # not ours, or not comparable
        unchanged = False
    if not unchanged:
        raise ParamError(
            "force", f"'{path}' already exists and holds {what}; pass {PARAM} to replace it or write elsewhere"
        )
