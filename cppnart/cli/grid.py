"""`cppnart grid`: a labelled contact sheet of seeds or latents, to pick what to blow up.

Every cell is recoverable: the sheet's PNG carries each cell's seed and z (read them back with
`cppnart z get sheet.png --cell N`), and the command prints a legend with the render command
for each cell. The work is ``render.sheets.grid``; this module parses and reports.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..configs.schema import MAX_SEED
from ..errors import UserError
from .cluster import check_cluster, cluster_report, open_renderer
from .model_choice import choose_model, read_from
from .options import (
    FromOption,
    ModelOption,
    RenderFlags,
    SeedOption,
    ViewFlags,
    option_groups,
)
from .output import check_output, emit, parse_res, progress, user_errors

app = typer.Typer()

DEFAULT_CELL = (256, 256)
DEFAULT_COUNT = 16


def parse_seeds(text: str, limit: int) -> list[int]:
    """'1-16', '3,7,42' or a mix like '1-4,10' -> seeds in order.

    >>> parse_seeds("1-3,7", 100)
    [1, 2, 3, 7]
    """
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d{1,19})\s*(?:-\s*(\d{1,19})\s*)?", part)
        if not match:
            raise UserError(f"--seeds '{text}' is not a list of seeds; write it like --seeds 1-16 or --seeds 3,7,42")
        first, last = int(match[1]), int(match[2] or match[1])
        if last > MAX_SEED:
            raise UserError(f"--seeds '{part.strip()}': seeds are at most {MAX_SEED} (stored as 64-bit integers)")
        if last < first:
            raise UserError(f"--seeds range '{part.strip()}' runs backwards; write it low-high")
        if len(seeds) + last - first + 1 > limit:
            raise UserError(f"--seeds asks for more than {limit} cells; pick fewer")
        seeds.extend(range(first, last + 1))
    return seeds


def _plain(sheet: Any) -> Any:
    """A sheet's metadata as JSON would give it back (tuples become lists), for comparing."""
    return json.loads(json.dumps(sheet, default=list))


@app.command(
    epilog="Examples: cppnart grid --seeds 1-16 -o sheet.png    "
    "cppnart grid --seed 7 --seeds 1-16 -o latents.png    cppnart grid between.npy --seed 7 -o s.png"
)
@user_errors
@option_groups
def grid(
    latents: Annotated[
        Optional[list[Path]],
        typer.Argument(
            metavar="LATENTS",
            help="Latent files (.npy, one cell per row; or PNGs cppnart made). Omit to lay out --seeds.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .png contact sheet.")] = Path("grid.png"),
    seeds: Annotated[
        Optional[str],
        typer.Option(
            help="Seeds, one cell each, like 1-16 or 3,7,42. Each cell is what `cppnart render MODEL --seed S` draws; "
            "with --seed W the weights stay those of W and only z follows S. \\[default: 16 drawn at random]",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int, typer.Option(help="Random seeds to draw when neither latents nor --seeds are given.")
    ] = DEFAULT_COUNT,
    model: ModelOption = None,
    from_image: FromOption = None,
    seed: SeedOption = None,
    cell: Annotated[
        Optional[str], typer.Option(help="Size of each cell WIDTHxHEIGHT. \\[default: 256x256]", show_default=False)
    ] = None,
    cols: Annotated[
        Optional[int], typer.Option(help="Cells per row. \\[default: about square]", show_default=False)
    ] = None,
    labels: Annotated[
        bool, typer.Option("--labels/--no-labels", help="Write each cell's number and seed or latent under it.")
    ] = True,
    gap: Annotated[int, typer.Option(help="Pixels between cells.")] = 4,
    save_z: Annotated[
        Optional[Path],
        typer.Option("--save-z", help="Also write every cell's latent to this .npy ([N, Z], in cell order)."),
    ] = None,
    look: ViewFlags = ViewFlags(),
    flags: RenderFlags = RenderFlags(),
) -> None:
    """Render a labelled contact sheet of seeds or latents, to explore a preset or model."""
    import numpy as np

    from ..io.metadata import read_grid
    from ..io.names import refuse_replacing
    from ..latent.files import read_latents
    from ..latent.io import save_z as write_z
    from ..render.model import draw_seed
    from ..render.sheets import MAX_CELLS
    from ..render.sheets import grid as make_grid

    check_cluster(flags.cluster, flags.cluster_timeout)
    check_output(out, (".png",))
    if save_z is not None:
        check_output(save_z, (".npy",), "--save-z")
    size = parse_res(cell, "--cell") if cell is not None else DEFAULT_CELL
    if latents and seeds is not None:
        raise UserError("give latent files or --seeds, not both")
    if not latents and seeds is None and not (1 <= count <= MAX_CELLS):
        raise UserError(f"--count must be between 1 and {MAX_CELLS}, got {count}")
    recipe = read_from(from_image)
    view, supersample = look.resolve(recipe)
    layout: dict[str, Any] = dict(
        cell=size, cols=cols, gap=gap, labelled=labels, view=view, supersample=supersample, chunk=look.chunk
    )

    started = time.perf_counter()
    with open_renderer(flags.cluster, flags.silent, flags.cluster_timeout, flags.verbose) as renderer:
        layout["renderer"] = renderer
        if latents:
            net = choose_model(model, recipe, seed, flags.device.value)
            zs = [read_latents(path, net.z_dim) for path in latents]
            names = [
                path.name if len(z) == 1 else f"{path.name}[{row}]"
                for path, z in zip(latents, zs)
                for row in range(len(z))
            ]
            with progress(len(names), f"{len(names)} cells", not flags.quiet) as advance:
                sheet = make_grid(net, latents=np.concatenate(zs), labels=names, on_cell=advance, **layout)
        else:
            cell_seeds = parse_seeds(seeds, MAX_CELLS) if seeds is not None else [draw_seed() for _ in range(count)]
            net = choose_model(model, recipe, seed if seed is not None else cell_seeds[0], flags.device.value)
            # Presets draw their weights from the seed: one network per cell, as `render --seed S`.
            # --seed pins the weights (explore one network's latent space); .onnx weights are fixed.
            with progress(len(cell_seeds), f"{len(cell_seeds)} cells", not flags.quiet) as advance:
                sheet = make_grid(net, seeds=cell_seeds, own_weights=seed is None, on_cell=advance, **layout)
        report = cluster_report(renderer)
    refuse_replacing(out, lambda: _plain(read_grid(out)) == _plain(sheet.metadata()), flags.force)
    sheet.save(out)
    if save_z is not None:
        write_z(save_z, sheet.latents())
    elapsed = time.perf_counter() - started

    n = len(sheet.cells)
    if not flags.silent:  # the legend: how to get each cell back, large
        for c in sheet.cells:
            typer.echo(f"{c.index:>4}  {c.label:<20} {sheet.render_command(c.index, out)}")
    weights_note = (
        "" if net.seed is None or any(c.weights_seed != net.seed for c in sheet.cells) else f"seed {net.seed} · "
    )
    emit(
        {
            "path": str(out),
            "model": net.source,
            "cells": [
                {
                    "index": c.index,
                    "seed": c.seed,
                    "weights_seed": c.weights_seed,
                    "command": sheet.render_command(c.index, out),
                }
                for c in sheet.cells
            ],
            "seconds": round(elapsed, 3),
            **report,
        },
        f"{weights_note}{net.label} · {n} cells {size[0]}x{size[1]} -> {out} ({elapsed:.1f} s)",
        flags.as_json,
        flags.quiet,
    )
