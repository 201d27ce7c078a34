"""`cppnart render` (posters, chunked, streamed to PNG) and `cppnart export`."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import UserError
from .cluster import check_cluster, cluster_report, open_renderer
from .options import (
    CenterOption,
    JsonOption,
    ModelArg,
    QuietOption,
    RenderFlags,
    SeedOption,
    TileOption,
    ViewFlags,
    ZoomOption,
    noted_default,
    option_groups,
)
from .output import check_output, emit, parse_center, parse_res, progress, user_errors

app = typer.Typer()

PROGRESS_PIXELS = 1 << 22  # show a bar for renders above ~4 Mpx of samples: they take a moment

PosterResOption = Annotated[
    Optional[str],
    noted_default("Output size WIDTHxHEIGHT.", "1024x1024, or a conv glyph model's native size", "--res"),
]
ZFileOption = Annotated[Optional[Path], typer.Option("--z", help="Latent .npy of shape [Z] (from `cppnart z sample`).")]
PosterOutOption = Annotated[
    Optional[Path],
    noted_default(
        "Output .png.", "MODEL-SEED-WxH.png, plus a digest of the view and z when not the defaults", "--out", "-o"
    ),
]
BitsOption = Annotated[Optional[int], noted_default("PNG bit depth, 8 or 16.", "8", "--bits")]
FromPngOption = Annotated[
    Optional[Path],
    typer.Option("--from", help="Re-render a PNG cppnart made, from the recipe it carries; other options override it."),
]
TilesOption = Annotated[
    Optional[Path],
    typer.Option(
        "--tiles",
        help="Write a Deep Zoom (DZI) tile pyramid into this new folder instead of one PNG: every level a "
        "real render at its size, for OpenSeadragon.",
        show_default=False,
    ),
]


@app.command(epilog="Example: cppnart render --res 2880x1800 --seed 7 -o poster.png")
@user_errors
@option_groups
def render(
    model: ModelArg = None,
    res: PosterResOption = None,
    seed: SeedOption = None,
    z: ZFileOption = None,
    out: PosterOutOption = None,
    look: ViewFlags = ViewFlags(),
    bits: BitsOption = None,
    from_image: FromPngOption = None,
    tiles: TilesOption = None,
    tile: TileOption = None,
    flags: RenderFlags = RenderFlags(),
) -> None:
    """Render a CPPN to a PNG poster (or a DZI tile pyramid) at any resolution, in bounded memory."""
    from ..io.atomic import check_new_folder
    from ..render.request import check_single_output, read_recipe_file, resolve_picture

    check_cluster(flags.cluster, flags.cluster_timeout)
    check_single_output(tiles, out, bits or 8)
    if tiles is not None:
        check_new_folder(tiles)
    if out is not None:
        check_output(out, (".png",))
    request = resolve_picture(
        model,
        recipe=read_recipe_file(from_image),
        seed=seed,
        z=z,
        res=parse_res(res) if res is not None else None,
        bits=bits,
        tile=tile,
        device=flags.device.value,
        **look.request_args(),
    )
    local = flags.local_renderer(request.bits)  # --backend, --precision: checked before any work
    started = time.perf_counter()
    with open_renderer(flags.cluster, flags.silent, flags.cluster_timeout, flags.verbose) as cluster:
        renderer = cluster or local
        if tiles is not None:
            target, count = _render_tiles(request, tiles, renderer, flags.quiet)
        else:
            target, count = _render_poster(request, out, renderer, flags), None
        report = cluster_report(cluster)
    _report(request, target, count, time.perf_counter() - started, report, flags)


def _render_poster(request: Any, out: Optional[Path], renderer: Any, flags: RenderFlags) -> Path:
    """The poster, with a progress bar for renders that take a moment."""
    from ..io.atomic import check_writable
    from ..render.poster import save_poster

    if out is None:
        out = check_writable(request.default_name())
    big = request.canvas.samples() > PROGRESS_PIXELS or renderer is not None
    what = f"rendering {request.width}x{request.height}"
    with progress(request.height, what, big and not flags.quiet, unit="row") as advance:
        return save_poster(request, path=out, renderer=renderer, on_rows=advance, force=flags.force)


def _render_tiles(request: Any, tiles: Path, renderer: Any, quiet: bool) -> tuple[Path, int]:
    """The DZI pyramid, a tile at a time: its .dzi and the number of tiles."""
    from ..render.tiles import save_tiles, tile_count

    count = tile_count(request.width, request.height)
    with progress(count, f"{count} tiles of {request.width}x{request.height}", not quiet) as advance:
        return save_tiles(request, out=tiles, renderer=renderer, on_tile=advance), count


def _report(request: Any, target: Path, tiles: Optional[int], elapsed: float, report: dict, flags: RenderFlags) -> None:
    """What the render prints: the seed that draws it again, the model, the size, the file."""
    net, seed = request.model, request.seed
    seed_note = f"seed {seed} · " if net.from_preset else (f"z seed {seed} · " if request.z_from_seed else "")
    where = f"{target} ({tiles} tiles)" if tiles is not None else str(target)
    if request.tile:
        where += f", tiles seamlessly by {request.tile}"
    emit(
        {
            "path": str(target),
            "model": net.source,
            "seed": seed if (net.from_preset or request.z_from_seed) else None,
            "z": [float(v) for v in request.z[0]],
            "res": [request.width, request.height],
            "seconds": round(elapsed, 3),
            **({"tiles": tiles} if tiles is not None else {}),
            "tile": request.tile,
            **report,
        },
        f"{seed_note}{net.label} · {request.width}x{request.height} -> {where} ({elapsed:.1f} s)",
        flags.as_json,
        flags.quiet,
    )


class ExportFormat(StrEnum):
    """What `export` writes."""

    onnx = "onnx"
    glsl = "glsl"
    genome = "genome"


@app.command(epilog="Example: cppnart export classic --seed 7 -o classic-7.onnx  ·  --format glsl -o classic-7.glsl")
@user_errors
def export(
    model: Annotated[
        str,
        typer.Argument(
            help="Preset name, preset .toml or genome (.genome.json, Picbreeder .xml/.zip); for glsl and genome "
            "also a CPPN .onnx or run folder."
        ),
    ],
    seed: Annotated[
        Optional[int],
        typer.Option(help="Seed for the random weights (and the shader's z); drawn and printed when omitted."),
    ] = None,
    out: Annotated[
        Optional[Path],
        noted_default("Output .onnx, .glsl or .genome.json.", "PRESET-SEED.SUFFIX", "--out", "-o"),
    ] = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="onnx: the model file. glsl: a ShaderToy-style fragment shader of it. genome: its genome, to breed.",
        ),
    ] = ExportFormat.onnx,  # type: ignore[assignment]
    z: Annotated[Optional[Path], typer.Option("--z", help="Latent .npy baked into the shader (glsl).")] = None,
    zoom: ZoomOption = None,
    center: CenterOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Export a preset's random-weight CPPN to a self-describing ONNX file, or any CPPN to a GLSL shader."""
    from ..io.atomic import atomic_output
    from ..render.model import load_model

    suffix = ".json" if fmt is ExportFormat.genome else f".{fmt.value}"
    if out is not None:
        check_output(out, (suffix,))
    if fmt is not ExportFormat.onnx:
        write = export_glsl if fmt is ExportFormat.glsl else export_genome
        out, seed = write(model, seed, out, z, zoom, center)
        emit({"path": str(out), "model": model, "seed": seed}, f"{_seed_note(seed)}{model} -> {out}", as_json, quiet)
        return
    net = load_model(model, seed)
    if net.source.endswith(".onnx"):
        raise UserError(f"'{model}' is already an ONNX file; copy it or render it directly")
    out = out or Path(f"{net.label}-{net.seed}.onnx" if net.seed is not None else f"{net.label}.onnx")
    with atomic_output(out) as tmp:
        tmp.write_bytes(net.onnx_bytes)
    emit(
        {"path": str(out), "model": net.source, "seed": net.seed},
        f"{_seed_note(net.seed)}{net.label} -> {out}",
        as_json,
        quiet,
    )


def _seed_note(seed: Optional[int]) -> str:
    """'seed 7 · ' where a seed drew the model or its latent; nothing where none did (a bred genome)."""
    return f"seed {seed} · " if seed is not None else ""


def export_glsl(
    model: str, seed: Optional[int], out: Optional[Path], z_path: Optional[Path], zoom: Any, center: Any
) -> tuple[Path, Optional[int]]:
    """The shader of a CPPN cppnart built, with z and the view baked in, written atomically."""
    import onnx

    from ..graph.glsl import shadertoy_shader
    from ..graph.onnx_weights import weights_from_onnx
    from ..io.atomic import atomic_output
    from ..render.request import resolve_picture

    request = resolve_picture(model, seed=seed, z=z_path, zoom=zoom, center=parse_center(center) if center else None)
    net = request.model
    if net.genome is not None:
        from ..graph.genome_glsl import genome_shadertoy_shader

        out = out or Path(f"{net.label}.glsl")
        with atomic_output(out) as tmp:
            text = genome_shadertoy_shader(net.genome, request.z[0], request.canvas.view, f"cppnart {net.label}")
            tmp.write_text(text, encoding="utf-8")
        return out, request.seed
    weights = weights_from_onnx(onnx.load_from_string(net.onnx_bytes)) if net.interface == "coords" else None
    if weights is None:
        raise UserError(
            f"'{model}' is not a coordinate CPPN of the shape cppnart builds (presets, `train fit`, `train ganvae`); "
            "only those compile to GLSL"
        )
    out = out or Path(f"{net.label}-{request.seed}.glsl" if request.seed is not None else f"{net.label}.glsl")
    title = f"cppnart {net.label}" + (f", seed {net.seed}" if net.seed is not None else "")
    with atomic_output(out) as tmp:
        tmp.write_text(shadertoy_shader(weights, request.z[0], request.canvas.view, title), encoding="utf-8")
    return out, request.seed


def export_genome(
    model: str, seed: Optional[int], out: Optional[Path], z_path: Optional[Path], zoom: Any, center: Any
) -> tuple[Path, Optional[int]]:
    """The genome of a model (a preset's layered CPPN converted, with its z) as .genome.json."""
    from ..graph.genome import write_genome
    from ..render.breed import genome_of_model
    from ..render.request import resolve_picture

    request = resolve_picture(model, seed=seed)
    net, chosen = request.model, request.seed
    genome = genome_of_model(net, chosen)
    out = out or Path(f"{net.label}-{chosen}.genome.json" if net.from_preset else f"{net.label}.genome.json")
    write_genome(genome, out)
    return out, chosen
