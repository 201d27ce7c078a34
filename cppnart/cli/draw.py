"""`cppnart draw`: a CPPN as pen-plotter lines (SVG in millimetres, one Inkscape layer per pen)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import (
    Device,
    ForceOption,
    JsonOption,
    ModelArg,
    OnnxDeviceOption,
    QuietOption,
    Reporting,
    SeedOption,
    ViewFlags,
    noted_default,
    option_groups,
)
from .output import check_output, emit, progress, user_errors

app = typer.Typer()


@dataclass(frozen=True)
class OutputFlags(Reporting):
    """The flags of `draw` and `mesh` that say where onnxruntime runs, what may be replaced and
    what is printed: --device, --force, --json, --quiet."""

    device: OnnxDeviceOption = Device.auto  # type: ignore[attr-defined]
    force: ForceOption = False
    as_json: JsonOption = False
    quiet: QuietOption = False


class Style(StrEnum):
    """What the pen draws."""

    contours = "contours"
    hatch = "hatch"
    flow = "flow"


OutOpt = Annotated[Optional[Path], noted_default("Output .svg.", "MODEL-SEED-STYLE-PAPER.svg", "--out", "-o")]

StyleOpt = Annotated[
    Optional[Style],
    noted_default(
        "contours: iso-lines of brightness; hatch: hatching as dense as the picture is dark; "
        "flow: streamlines along the gradient.",
        "contours",
    ),
]

LevelsOpt = Annotated[Optional[int], noted_default("Contour levels, or hatch layers.", "8")]
SpacingOpt = Annotated[Optional[float], noted_default("Millimetres between hatch lines or streamlines.", "1")]
PaperOpt = Annotated[Optional[str], noted_default("A5, A4, A3, A2, letter or WIDTHxHEIGHTmm.", "A4")]
MarginOpt = Annotated[Optional[float], noted_default("Blank border in millimetres.", "15")]
DensityOpt = Annotated[Optional[float], noted_default("Trace samples per millimetre.", "4")]

PerChannelOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--per-channel/--brightness",
        help="Contours of each colour channel, one pen layer each.",
        show_default=False,
    ),
]

ZOpt = Annotated[Optional[Path], typer.Option("--z", help="Latent .npy of shape [Z].")]

FromFileOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--from", help="Draw again from the recipe of an SVG (or PNG) cppnart made; other options override it."
    ),
]


@app.command(epilog="Example: cppnart draw classic --seed 7 --style contours --paper A4 -o classic.svg")
@user_errors
@option_groups
def draw(
    model: ModelArg = None,
    out: OutOpt = None,
    style: StyleOpt = None,
    levels: LevelsOpt = None,
    spacing: SpacingOpt = None,
    paper: PaperOpt = None,
    margin: MarginOpt = None,
    density: DensityOpt = None,
    per_channel: PerChannelOpt = None,
    seed: SeedOption = None,
    z: ZOpt = None,
    from_file: FromFileOpt = None,
    look: ViewFlags = ViewFlags(),
    flags: OutputFlags = OutputFlags(),
) -> None:
    """Draw a CPPN as plotter lines: contours, hatching or streamlines, simplified and ordered."""  # fmt: skip
    from ..render.draw import resolve_drawing, save_drawing
    from ..render.request import read_recipe_file

    if out is not None:
        check_output(out, (".svg",))
    args = look.request_args()
    request = resolve_drawing(
        model, recipe=read_recipe_file(from_file), seed=seed, z=z, style=style.value if style else None,
        levels=levels, spacing_mm=spacing, paper=paper, margin_mm=margin, density=density,
        per_channel=per_channel, device=flags.device.value, **args,
    )  # fmt: skip
    with progress(request.picture.height, "tracing", not flags.silent) as advance:
        result = save_drawing(request, out, force=flags.force, on_rows=advance)
    pic = request.picture
    emit(
        {"path": str(result.path), "model": pic.model.source, "seed": pic.seed, "style": request.style,
         "paper_mm": list(request.page_mm), "layers": result.layers, "lines": result.lines,
         "points": result.points, "pen_down_mm": round(result.pen_down_mm, 1),
         "pen_up_before_mm": round(result.pen_up_before_mm, 1), "pen_up_after_mm": round(result.pen_up_after_mm, 1),
         "travel_ratio": round(result.travel_ratio, 4)},
        f"seed {pic.seed} · {pic.model.label} · {request.style} · {result.lines} lines, pen-up travel "
        f"{result.pen_up_before_mm / 1000:.1f} -> {result.pen_up_after_mm / 1000:.1f} m -> {result.path}",
        flags.as_json,
        flags.quiet,
    )  # fmt: skip
