"""`cppnart loop MODEL -o out.mp4 --seconds 8`: a seamless loop through latent space (or of a tile's coordinates)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..configs.choices import GIF_DEFAULT_STRATEGY
from .animation import AudioOption, FrameResOption, render_frames
from .cluster import check_cluster
from .options import GifPalette, ModelArg, RenderFlags, SourceFlags, TileOption, ViewFlags, noted_default, option_groups
from .output import emit, parse_res, user_errors

app = typer.Typer()


LoopOutOption = Annotated[
    Path, typer.Option("--out", "-o", help=".mp4, .gif, .webp, or a folder name for numbered PNG frames.")
]
SecondsOption = Annotated[
    Optional[float], noted_default("Length in seconds (with --audio: the song's first seconds).", "8")
]
LoopFpsOption = Annotated[Optional[float], noted_default("Frames per second.", "30")]
ThroughOption = Annotated[
    Optional[list[Path]],
    typer.Option(
        help="Pass through these latents, in order: repeat the flag, or give one .npy of [K, Z] "
        "(PNGs cppnart made too).",
        show_default=False,
    ),
]
TimeLoopOption = Annotated[
    bool,
    typer.Option(
        "--time", help="Hold the latent and move a seamless tile's coordinates once round instead (implies --tile)."
    ),
]
LapsOption = Annotated[Optional[int], noted_default("Times round the loop in the file.", "1")]
LoopPaletteOption = Annotated[
    GifPalette,  # type: ignore[valid-type]
    typer.Option(help="GIF only: the palette strategy (see `cppnart morph --help`)."),
]


@app.command(
    epilog="Examples: cppnart loop classic -o loop.mp4 --seconds 8 --fps 30   ·   "
    "cppnart loop classic --through a.npy b.npy c.npy -o loop.webp   ·   cppnart loop sine --tile --time -o drift.gif"
)
@user_errors
@option_groups
def loop(
    model: ModelArg = None,
    out: LoopOutOption = Path("loop.mp4"),
    source: SourceFlags = SourceFlags(),
    seconds: SecondsOption = None,
    fps: LoopFpsOption = None,
    res: FrameResOption = None,
    through: ThroughOption = None,
    tile: TileOption = None,
    time_loop: TimeLoopOption = False,
    audio: AudioOption = None,
    laps: LapsOption = None,
    look: ViewFlags = ViewFlags(),
    gif_palette: LoopPaletteOption = GifPalette(GIF_DEFAULT_STRATEGY),
    flags: RenderFlags = RenderFlags(),
) -> None:
    """Render a seamless loop: a closed path through latent space at constant speed, to MP4, GIF, WebP or PNGs."""
    from ..render.loop import resolve_loop, save_loop

    check_cluster(flags.cluster, flags.cluster_timeout)
    request = resolve_loop(
        model, **source.request_args(), through=through, seconds=seconds, fps=fps,
        res=parse_res(res) if res is not None else None, tile=tile, time=time_loop or None, audio=audio,
        laps=laps, device=flags.device.value, gif_palette=gif_palette.value, **look.request_args(),
    )  # fmt: skip
    report, elapsed = render_frames(
        flags, request.frames, lambda renderer, advance: save_loop(request, out, renderer, advance, flags.force)
    )
    _report(request, out, elapsed, report, flags)


def _report(request: Any, out: Path, elapsed: float, report: dict, flags: RenderFlags) -> None:
    """What the loop prints: its seed, curve, tile method, length and file."""
    net, c = request.model, request.canvas
    tile = request.model.metadata.get("tile")
    extras = [f"tiles by {tile}"] if tile else []
    if request.audio is not None:
        extras.append(f"timed by {request.audio.source} ({len(request.audio.beats)} beats)")
    note = f" · {', '.join(extras)}" if extras else ""
    emit(
        {
            "path": str(out),
            "model": net.source,
            "seed": request.seed,
            "curve": request.curve_name,
            "tile": tile,
            "frames": request.frames,
            "fps": request.fps,
            "res": [c.width, c.height],
            "audio": request.audio.source if request.audio is not None else None,
            "beats": len(request.audio.beats) if request.audio is not None else None,
            "seconds": round(elapsed, 3),
            **report,
        },
        f"seed {request.seed} · {net.label} · {request.curve_name} loop{note}, {request.frames} frames "
        f"{c.width}x{c.height} -> {out} ({elapsed:.1f} s)",
        flags.as_json,
        flags.quiet,
    )
