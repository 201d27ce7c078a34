"""Choosing the model and view for commands that render many latents (morph, grid).

The same rules as `cppnart render`: --model names a preset, .toml, .onnx or run folder;
--from takes the model, seed and view from a PNG's recipe; --seed picks a preset's weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..config import DEFAULT_PRESET
from ..coords import View
from ..errors import UserError
from .common import Device, check_positive, parse_center

ModelOption = Annotated[Optional[str], typer.Option(
    "--model", "-m", show_default=False,
    help=f"Preset name, preset .toml, .onnx file or training run folder. \\[default: {DEFAULT_PRESET}]")]
FromOption = Annotated[Optional[Path], typer.Option(
    "--from", help="Use the model, weights seed and view of a PNG cppnart rendered.")]
SeedOption = Annotated[Optional[int], typer.Option(
    help="Seed for a preset's random weights; drawn and printed when omitted.")]
ZoomOption = Annotated[Optional[float], typer.Option(help="Zoom factor: 2 shows half the extent. \\[default: 1]", show_default=False)]
CenterOption = Annotated[Optional[str], typer.Option(help="View centre X,Y (the shorter side spans [-1, 1]). \\[default: 0,0]", show_default=False)]
SupersampleOption = Annotated[Optional[int], typer.Option(help="Average KxK sub-pixels per pixel (antialiasing). \\[default: 1]", show_default=False)]
ChunkOption = Annotated[int, typer.Option(help="Coordinates per onnxruntime call (bounds memory).")]
OnnxDeviceOption = Annotated[Device, typer.Option(help="Where onnxruntime runs.")]


def read_from(from_image: Optional[Path]) -> dict[str, Any]:
    from ..recipe import read_recipe

    return read_recipe(from_image) if from_image is not None else {}


def choose_view(recipe: dict[str, Any], zoom: Optional[float], center: Optional[str],
                supersample: Optional[int], chunk: int) -> tuple[View, int]:
    """The view and supersampling: options first, then the recipe's, then the defaults."""
    check_positive(zoom, "--zoom")
    view = View(
        zoom=zoom if zoom is not None else float(recipe.get("zoom", 1.0)),
        center=parse_center(center) if center is not None else tuple(recipe.get("center", (0.0, 0.0))),
    )
    supersample = supersample if supersample is not None else int(recipe.get("supersample", 1))
    if supersample < 1:
        raise UserError(f"--supersample must be at least 1, got {supersample}")
    if chunk < 1:
        raise UserError(f"--chunk must be at least 1 coordinate per call, got {chunk}")
    return view, supersample


def choose_seed(recipe: dict[str, Any], seed: Optional[int]) -> int:
    """--seed, else the recipe's, else a fresh one (which the command prints)."""
    from ..model import draw_seed

    if seed is None:
        seed = recipe.get("seed") if recipe else None
    return draw_seed() if seed is None else int(seed)


def choose_model(model: Optional[str], recipe: dict[str, Any], seed: Optional[int], device: str):
    """--model, else the recipe's model, else the default preset; the seed is drawn if needed."""
    from ..model import load_model, model_from_recipe

    seed = choose_seed(recipe, seed)
    if model is not None:
        return load_model(model, seed, device)
    if recipe:
        return model_from_recipe({**recipe, "seed": seed}, device)
    return load_model(DEFAULT_PRESET, seed, device)
