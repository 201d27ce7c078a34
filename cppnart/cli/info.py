"""`cppnart presets` and `cppnart info`: what is there and what a file says about itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import user_errors


def register(app: typer.Typer) -> None:
    @app.command(epilog="Example: cppnart presets")
    @user_errors
    def presets() -> None:
        """List the bundled presets with a one-line description."""
        from rich.console import Console
        from rich.table import Table

        from ..config import load_preset, preset_names

        table = Table("preset", "kind", "description", box=None, pad_edge=False)
        for name in preset_names():
            config = load_preset(name)
            table.add_row(name, config.kind, config.description)
        Console(width=160).print(table)

    @app.command(epilog="Example: cppnart info classic   ·   cppnart info model.onnx   ·   cppnart info poster.png")
    @user_errors
    def info(
        model: Annotated[str, typer.Argument(help="Preset name, preset .toml, .onnx file, run folder, or a PNG cppnart made.")],
    ) -> None:
        """Print a model's metadata, a preset's settings or an image's recipe."""
        from ..config import load_preset, to_dict
        from ..model import load_model

        rows: dict[str, object]
        if model.lower().endswith(".png"):
            from ..latent import read_grid
            from ..recipe import read_recipe

            sheet = read_grid(model)  # None for other PNGs (and missing files: read_recipe says so)
            if sheet is not None:  # a contact sheet: its layout, then one line per cell
                cells = sheet.pop("cells")
                rows = {**sheet, "cells": f"{len(cells)} (take one with `cppnart z get {model} --cell N -o z.npy`)"}
                rows.update({f"cell {c['index']}": c["label"] for c in cells})
            else:
                rows = read_recipe(model)
        elif model.endswith(".onnx") or Path(model).is_dir():
            net = load_model(model)
            rows = {k: v for k, v in net.metadata.items() if k != "config"}
            if "config" in net.metadata:
                rows["config"] = json.loads(net.metadata["config"])
        else:
            rows = to_dict(load_preset(model))
        width = max(len(k) for k in rows)
        for key, value in rows.items():
            shown = value if isinstance(value, str) else json.dumps(value)
            typer.echo(f"{key:<{width}}  {shown}")
