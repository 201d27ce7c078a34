"""`cppnart grid`: a labelled contact sheet of seeds or latents, to pick what to blow up.

Every cell is recoverable: the sheet's PNG carries each cell's seed and z (read them back with
`cppnart z get sheet.png --cell N`), and the command prints a legend with the render command
for each cell.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from ..errors import UserError
from ..render import DEFAULT_CHUNK
from .common import Device, check_output, parse_res, row_progress, user_errors
from .model_choice import (CenterOption, ChunkOption, FromOption, ModelOption, OnnxDeviceOption, SeedOption,
                           SupersampleOption, ZoomOption, choose_model, choose_view, read_from)

DEFAULT_CELL = (256, 256)
DEFAULT_COUNT = 16
MAX_CELLS = 1024
BACKGROUND = (24, 24, 24)
LABEL_COLOUR = (235, 235, 235)


def parse_seeds(text: str) -> list[int]:
    """'1-16', '3,7,42' or a mix like '1-4,10' -> seeds in order."""
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise UserError(f"--seeds '{text}' is not a list of seeds; write it like --seeds 1-16 or --seeds 3,7,42")
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise UserError(f"--seeds range '{part.strip()}' runs backwards; write it low-high")
        seeds.extend(range(first, last + 1))
        if len(seeds) > MAX_CELLS:
            raise UserError(f"--seeds asks for more than {MAX_CELLS} cells; pick fewer")
    return seeds


def label_font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # scalable when Pillow has FreeType
    except TypeError:  # older Pillow: one small bitmap font
        return ImageFont.load_default()


def label_height(cell_height: int) -> int:
    """Font size of the labels: readable on small cells, modest on large ones."""
    return max(10, min(24, cell_height // 14))


def cell_origin(index: int, cols: int, width: int, height: int, gap: int, labelled: bool) -> tuple[int, int]:
    """Top-left pixel of a cell's image in the sheet (the label strip sits under it)."""
    strip = label_height(height) + 8 if labelled else 0
    return gap + (index % cols) * (width + gap), gap + (index // cols) * (height + strip + gap)


def compose_sheet(cells: list[np.ndarray], labels: list[str] | None, cols: int, gap: int) -> np.ndarray:
    """Cells [h, w, C] uint8 in rows of ``cols``, each with its label underneath -> [H, W, 3]."""
    from PIL import Image, ImageDraw

    h, w = cells[0].shape[:2]
    rows = math.ceil(len(cells) / cols)
    font_size = label_height(h)
    strip = font_size + 8 if labels else 0
    sheet = Image.new("RGB", (cols * w + (cols + 1) * gap, rows * (h + strip) + (rows + 1) * gap), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = label_font(font_size)
    for i, cell in enumerate(cells):
        x, y = cell_origin(i, cols, w, h, gap, bool(labels))
        rgb = np.repeat(cell, 3, axis=-1) if cell.shape[-1] == 1 else cell
        sheet.paste(Image.fromarray(rgb), (x, y))
        if labels:
            text = labels[i]
            while len(text) > 3 and draw.textlength(text, font=font) > w:  # keep labels inside their cell
                text = text[:-2] + "…"
            draw.text((x + 2, y + h + 3), text, fill=LABEL_COLOUR, font=font)
    return np.asarray(sheet)


def register(app: typer.Typer) -> None:
    @app.command(epilog="Examples: cppnart grid --seeds 1-16 -o sheet.png    "
                        "cppnart grid --seed 7 --seeds 1-16 -o latents.png    cppnart grid between.npy --seed 7 -o sheet.png")
    @user_errors
    def grid(
        latents: Annotated[Optional[list[Path]], typer.Argument(metavar="LATENTS",
            help="Latent files (.npy, one cell per row; or PNGs cppnart made). Omit to lay out --seeds.",
            show_default=False)] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Output .png contact sheet.")] = Path("grid.png"),
        seeds: Annotated[Optional[str], typer.Option(
            help="Seeds, one cell each, like 1-16 or 3,7,42. Each cell is what `cppnart render MODEL --seed S` draws; "
                 "with --seed W the weights stay those of W and only z follows S. \\[default: 16 drawn at random]",
            show_default=False)] = None,
        count: Annotated[int, typer.Option(help="Random seeds to draw when neither latents nor --seeds are given.")] = DEFAULT_COUNT,
        model: ModelOption = None,
        from_image: FromOption = None,
        seed: SeedOption = None,
        cell: Annotated[Optional[str], typer.Option(help="Size of each cell WIDTHxHEIGHT. \\[default: 256x256]", show_default=False)] = None,
        cols: Annotated[Optional[int], typer.Option(help="Cells per row. \\[default: about square]", show_default=False)] = None,
        labels: Annotated[bool, typer.Option("--labels/--no-labels", help="Write each cell's number and seed or latent under it.")] = True,
        gap: Annotated[int, typer.Option(help="Pixels between cells.")] = 4,
        save_z: Annotated[Optional[Path], typer.Option("--save-z", help="Also write every cell's latent to this .npy ([N, Z], in cell order).")] = None,
        zoom: ZoomOption = None,
        center: CenterOption = None,
        supersample: SupersampleOption = None,
        chunk: ChunkOption = DEFAULT_CHUNK,
        device: OnnxDeviceOption = Device.auto,
    ) -> None:
        """Render a labelled contact sheet of seeds or latents, to explore a preset or model."""
        from ..animation import render_frames
        from ..latent import GRID_KEY, read_latents
        from ..model import draw_seed
        from ..__about__ import __version__
        from ..writers import write_png

        # --- arguments, all checked before rendering ---------------------------------------
        check_output(out, (".png",))
        if save_z is not None:
            check_output(save_z, (".npy",), "--save-z")
        width, height = parse_res(cell, "--cell") if cell is not None else DEFAULT_CELL
        if latents and seeds is not None:
            raise UserError("give latent files or --seeds, not both")
        if cols is not None and cols < 1:
            raise UserError(f"--cols must be at least 1, got {cols}")
        if gap < 0:
            raise UserError(f"--gap must be 0 or more pixels, got {gap}")
        if not latents and seeds is None and not (1 <= count <= MAX_CELLS):
            raise UserError(f"--count must be between 1 and {MAX_CELLS}, got {count}")
        recipe = read_from(from_image)
        view, supersample = choose_view(recipe, zoom, center, supersample, chunk)

        # --- what each cell shows ---------------------------------------------------------------
        cell_seeds: list[int | None]
        if latents:
            net = choose_model(model, recipe, seed, device.value)
            zs, cell_labels = [], []
            for path in latents:
                z = read_latents(path, net.z_dim)
                zs.append(z)
                cell_labels += [path.name if len(z) == 1 else f"{path.name}[{row}]" for row in range(len(z))]
            z_all = np.concatenate(zs)
            cell_seeds = [None] * len(z_all)
            weight_seeds = [net.seed] * len(z_all)
            nets = None
        else:
            cell_seeds = parse_seeds(seeds) if seeds is not None else [draw_seed() for _ in range(count)]
            net = choose_model(model, recipe, seed if seed is not None else cell_seeds[0], device.value)
            # Presets draw their weights from the seed: one network per cell, as `render --seed S`.
            # --seed pins the weights (explore one network's latent space); .onnx weights are fixed.
            own_weights = seed is None and net.from_preset
            nets = [net] + [choose_model(model, recipe, s, device.value) for s in cell_seeds[1:]] if own_weights else None
            z_all = np.concatenate([net.sample_z(s) for s in cell_seeds])
            weight_seeds = list(cell_seeds) if own_weights else [net.seed] * len(cell_seeds)
            cell_labels = [f"seed {s}" for s in cell_seeds]
        n = len(z_all)
        if n > MAX_CELLS:
            raise UserError(f"{n} cells are more than {MAX_CELLS}; split the latents over several sheets")
        cols = cols or math.ceil(math.sqrt(n))
        labels_text = [f"{i} · {label}" for i, label in enumerate(cell_labels)] if labels else None

        # --- render and compose ------------------------------------------------------------
        started = time.perf_counter()
        with row_progress(n, f"{n} cells", True) as advance:
            if nets is None:
                cells = list(render_frames(net, z_all, width, height, view, supersample, chunk, on_frame=advance))
            else:
                cells = [next(render_frames(m, z_all[i:i + 1], width, height, view, supersample, chunk,
                                            on_frame=advance)) for i, m in enumerate(nets)]
        sheet = compose_sheet(cells, labels_text, cols, gap)

        meta: dict[str, Any] = {
            "model": net.source, "preset": net.preset, "cell": [width, height], "cols": cols, "gap": gap,
            "labels": labels, "zoom": view.zoom, "center": list(view.center), "supersample": supersample,
            "cells": [{"index": i, "label": cell_labels[i], "seed": cell_seeds[i], "weights_seed": weight_seeds[i],
                       "z": [float(v) for v in z_all[i]]} for i in range(n)],
        }
        text = {
            "Software": f"cppnart {__version__}",
            "parameters": f"Grid of {n} cells, Model: {net.preset or net.source}, Cell: {width}x{height}",
            GRID_KEY: json.dumps(meta, separators=(",", ":")),
        }
        write_png(out, sheet.shape[1], sheet.shape[0], 3, [sheet.astype(np.float32) / 255.0], text=text)
        if save_z is not None:
            from ..latent import save_z as write_z

            write_z(save_z, z_all)
        elapsed = time.perf_counter() - started

        # --- the legend: how to get each cell back, large -----------------------------------
        model_arg = shlex.quote(net.source)
        view_args = "".join([f" --zoom {view.zoom:g}" if view.zoom != 1 else "",
                             f" --center {view.center[0]:g},{view.center[1]:g}" if any(view.center) else ""])
        for i in range(n):
            if cell_seeds[i] is not None and (nets is not None or weight_seeds[i] == cell_seeds[i]):
                how = f"cppnart render {model_arg} --seed {cell_seeds[i]}{view_args}"
            else:
                seed_arg = f" --seed {weight_seeds[i]}" if weight_seeds[i] is not None else ""
                how = (f"cppnart z get {shlex.quote(str(out))} --cell {i} -o z{i}.npy && "
                       f"cppnart render {model_arg}{seed_arg} --z z{i}.npy{view_args}")
            typer.echo(f"{i:>4}  {cell_labels[i]:<20} {how}")
        weights_note = "" if nets is not None or net.seed is None else f"seed {net.seed} · "
        typer.echo(f"{weights_note}{net.label} · {n} cells {width}x{height} -> {out} ({elapsed:.1f} s)")
