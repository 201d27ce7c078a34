"""`cppnart grid`: a labelled contact sheet of seeds or latents, to pick what to blow up.

Every cell is recoverable: the sheet's PNG carries each cell's seed and z (read them back with
`cppnart z get sheet.png --cell N`), and the command prints a legend with the render command
for each cell. The work is ``render.sheets.grid``; this module parses and reports.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..configs.schema import MAX_SEED
from ..errors import UserError
from .cluster import check_cluster, cluster_report, open_renderer
from .options import ModelOption, RenderFlags, SourceFlags, TileOption, ViewFlags, noted_default, option_groups
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


LatentsArg = Annotated[
    Optional[list[Path]],
    typer.Argument(
        metavar="LATENTS",
        help="Latent files (.npy, one cell per row; or PNGs cppnart made). Omit to lay out --seeds.",
        show_default=False,
    ),
]
SeedsOption = Annotated[
    Optional[str],
    noted_default(
        "Seeds, one cell each, like 1-16 or 3,7,42. Each cell is what `cppnart render MODEL --seed S` draws; "
        "with --seed W the weights stay those of W and only z follows S.",
        "16 drawn at random",
    ),
]
CountOption = Annotated[int, typer.Option(help="Random seeds to draw when neither latents nor --seeds are given.")]


@dataclass(frozen=True)
class SheetFlags:
    """How the sheet is laid out: --cell, --cols, --labels, --gap."""

    cell: Annotated[Optional[str], noted_default("Size of each cell WIDTHxHEIGHT.", "256x256")] = None
    cols: Annotated[Optional[int], noted_default("Cells per row.", "about square")] = None
    labels: Annotated[
        bool, typer.Option("--labels/--no-labels", help="Write each cell's number and seed or latent under it.")
    ] = True
    gap: Annotated[int, typer.Option(help="Pixels between cells.")] = 4
    tile: TileOption = None

    def request_args(self) -> dict[str, Any]:
        """These flags as ``render.request.resolve_sheet`` arguments."""
        cell = parse_res(self.cell, "--cell") if self.cell is not None else DEFAULT_CELL
        return {"cell": cell, "cols": self.cols, "gap": self.gap, "labelled": self.labels, "tile": self.tile}


@app.command(
    epilog="Examples: cppnart grid --seeds 1-16 -o sheet.png    "
    "cppnart grid --seed 7 --seeds 1-16 -o latents.png    cppnart grid between.npy --seed 7 -o s.png"
)
@user_errors
@option_groups
def grid(
    latents: LatentsArg = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .png contact sheet.")] = Path("grid.png"),
    seeds: SeedsOption = None,
    count: CountOption = DEFAULT_COUNT,
    model: ModelOption = None,
    source: SourceFlags = SourceFlags(),
    layout: SheetFlags = SheetFlags(),
    save_z: Annotated[
        Optional[Path],
        typer.Option("--save-z", help="Also write every cell's latent to this .npy ([N, Z], in cell order)."),
    ] = None,
    look: ViewFlags = ViewFlags(),
    flags: RenderFlags = RenderFlags(),
) -> None:
    """Render a labelled contact sheet of seeds or latents, to explore a preset or model."""
    from ..render.request import MAX_CELLS, resolve_sheet
    from ..render.sheets import grid as make_grid

    check_cluster(flags.cluster, flags.cluster_timeout)
    check_output(out, (".png",))
    if save_z is not None:
        check_output(save_z, (".npy",), "--save-z")
    request = resolve_sheet(
        model,
        **source.request_args(),
        seeds=parse_seeds(seeds, MAX_CELLS) if seeds is not None else None,
        latents=latents or None,
        count=count,
        device=flags.device.value,
        **layout.request_args(),
        **look.request_args(),
    )
    started = time.perf_counter()
    cells = len(request.latents) if request.latents is not None else len(request.seeds or ())
    local = flags.local_renderer()
    with (
        open_renderer(flags.cluster, flags.silent, flags.cluster_timeout, flags.verbose) as cluster,
        progress(cells, f"{cells} cells", not flags.quiet) as advance,
    ):
        sheet = make_grid(request, on_cell=advance, renderer=cluster or local)
        report = cluster_report(cluster)
    sheet.save(out, flags.force)
    if save_z is not None:
        from ..latent.io import save_z as write_z

        write_z(save_z, sheet.latents(), flags.force)
    _report(sheet, out, time.perf_counter() - started, report, flags)


def _report(sheet: Any, out: Path, elapsed: float, report: dict, flags: RenderFlags) -> None:
    """The legend (how to get each cell back, large) and the summary line or JSON."""
    net = sheet.model
    if not flags.silent:
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
        f"{weights_note}{net.label} · {len(sheet.cells)} cells {sheet.cell[0]}x{sheet.cell[1]} -> {out} "
        f"({elapsed:.1f} s)",
        flags.as_json,
        flags.quiet,
    )
