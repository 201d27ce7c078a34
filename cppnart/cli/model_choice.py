"""Choosing the model and view for commands that render many latents (morph, grid).

The same rules as `cppnart render`: --model names a preset, .toml, .onnx or run folder;
--from takes the model, seed and view from a PNG's recipe; --seed picks a preset's weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..configs.presets import DEFAULT_PRESET
from ..configs.view import View
from ..errors import UserError
from .output import check_positive, parse_center


def read_from(from_image: Optional[Path]) -> dict[str, Any]:
    """The checked recipe of a PNG, GIF, MP4 or WebP cppnart made ({} without --from)."""
    from ..configs.recipe import check_recipe
    from ..io.metadata import read_any_recipe

    if from_image is None:
        return {}
    return check_recipe(read_any_recipe(from_image), f"the recipe in '{from_image}'", from_image.parent)


def choose_view(
    recipe: dict[str, Any],
    zoom: Optional[float],
    center: Optional[str],
    supersample: Optional[int],
    chunk: Optional[int],
) -> tuple[View, int]:
    """The view and supersampling: options first, then the recipe's, then the defaults."""
    check_positive(zoom, "--zoom")
    view = View(
        zoom=zoom if zoom is not None else float(recipe.get("zoom", 1.0)),
        center=parse_center(center) if center is not None else tuple(recipe.get("center", (0.0, 0.0))),
    )
    supersample = supersample if supersample is not None else int(recipe.get("supersample", 1))
    if supersample < 1:
        raise UserError(f"--supersample must be at least 1, got {supersample}")
    if chunk is not None and chunk < 1:
        raise UserError(f"--chunk must be at least 1 coordinate per call, got {chunk}")
    return view, supersample


def choose_seed(recipe: dict[str, Any], seed: Optional[int]) -> int:
    """--seed, else the recipe's, else a fresh one (which the command prints)."""
    from ..render.model import draw_seed

    if seed is None:
        seed = recipe.get("seed") if recipe else None
    return draw_seed() if seed is None else int(seed)


def choose_model(model: Optional[str], recipe: dict[str, Any], seed: Optional[int], device: str):
    """--model, else the recipe's model, else the default preset; the seed is drawn if needed."""
    from ..render.model import load_model, model_from_recipe

    seed = choose_seed(recipe, seed)
    if model is not None:
        return load_model(model, seed, device)
    if recipe:
        return model_from_recipe({**recipe, "seed": seed}, device)
    return load_model(DEFAULT_PRESET, seed, device)
