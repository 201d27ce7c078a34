"""`cppnart presets` and `cppnart info`: what is there and what a file says about itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .options import JsonOption
from .output import emit, user_errors

app = typer.Typer()


@app.command(epilog="Example: cppnart presets")
@user_errors
def presets(as_json: JsonOption = False) -> None:
    """List the bundled presets, one line each: name, kind, description (TSV when piped)."""
    import sys

    from rich.console import Console

    from ..configs.presets import load_preset, preset_names

    configs = [load_preset(name) for name in preset_names()]
    if as_json:
        emit({"presets": [{"name": c.name, "kind": c.kind, "description": c.description} for c in configs]}, "", True)
        return
    console = Console()
    if not console.is_terminal:  # a pipe or a file: tab-separated, whole descriptions, for cut and awk
        sys.stdout.write("".join(f"{c.name}\t{c.kind}\t{c.description}\n" for c in configs))
        return
    # One line a preset at any width: the description is cut to the terminal with an ellipsis.
    rows = [("preset", "kind", "description")] + [(c.name, c.kind, c.description) for c in configs]
    name_w, kind_w = (max(len(row[i]) for row in rows) for i in (0, 1))
    for i, (name, kind, description) in enumerate(rows):
        line = f"{name:<{name_w}}  {kind:<{kind_w}}  {description}"
        console.print(
            line, style="bold" if i == 0 else None, no_wrap=True, overflow="ellipsis", markup=False, highlight=False
        )


@app.command(epilog="Example: cppnart info classic   ·   cppnart info model.onnx   ·   cppnart info poster.png")
@user_errors
def info(
    model: Annotated[
        str,
        typer.Argument(
            help="Preset name, preset .toml, .onnx file, run folder, genome, or a PNG, animation, SVG or mesh "
            "cppnart made."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Print a model's metadata, a preset's settings or an image's recipe."""
    from ..configs.presets import load_preset
    from ..configs.recipe import check_recipe
    from ..configs.schema import to_dict
    from ..render.model import load_model

    rows: dict[str, Any]
    if model.lower().endswith(".png"):
        from ..configs.recipe import check_grid_sheet
        from ..io.metadata import read_grid, read_recipe

        sheet = read_grid(model)  # None for other PNGs (and missing files: read_recipe says so)
        if sheet is not None:
            sheet = check_grid_sheet(sheet, f"'{model}'")  # a contact sheet: its layout, then one line per cell
            cells = sheet.pop("cells")
            rows = {**sheet, "cells": f"{len(cells)} (take one with `cppnart z get {model} --cell N -o z.npy`)"}
            rows.update({f"cell {c.get('index', i)}": c.get("label", "") for i, c in enumerate(cells)})
            if as_json:
                rows = {**sheet, "cells": cells}
        else:
            rows = check_recipe(read_recipe(model), f"the recipe in '{model}'", Path(model).parent)
    elif model.lower().endswith((".gif", ".mp4", ".webp", ".svg", ".glb", ".ply", ".obj", ".stl")):
        from ..io.metadata import read_any_recipe

        rows = check_recipe(read_any_recipe(model), f"the recipe in '{model}'", Path(model).parent)
    elif model.endswith(".onnx") or Path(model).is_dir() or model.lower().endswith((".json", ".xml", ".zip")):
        net = load_model(model)
        rows = {k: v for k, v in net.metadata.items() if k not in ("config", "genome")}
        if net.genome is not None:  # a genome model: its shape, not kilobytes of JSON
            g = net.genome
            rows.update(nodes=len(g.nodes), links=len(g.links), colour=g.colour, squash=g.squash, z=list(g.z))
        if "config" in net.metadata:
            rows["config"] = json.loads(net.metadata["config"])
    else:
        rows = to_dict(load_preset(model))
    if as_json:
        emit(rows, "", True)
        return
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        typer.echo(f"{key:<{width}}  {shown}")
