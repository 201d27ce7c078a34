"""`cppnart render` (posters, chunked, streamed to PNG) and `cppnart export`."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import UserError
from .cluster import check_cluster, cluster_report, open_renderer
from .model_choice import choose_model, choose_seed, choose_view, read_from
from .options import (
    CenterOption,
    JsonOption,
    ModelArg,
    QuietOption,
    RenderFlags,
    SeedOption,
    ViewFlags,
    ZoomOption,
    option_groups,
)
from .output import check_output, emit, parse_res, progress, user_errors

app = typer.Typer()

DEFAULT_RES = (1024, 1024)
PROGRESS_PIXELS = 1 << 22  # show a bar for renders above ~4 Mpx of samples: they take a moment


def resolve_z(model: Any, z_path: Optional[Path], recipe_z: Any, seed_for_z: int) -> Any:
    """The latent to render: --z file, else the recipe's, else the one drawn from the seed."""
    import numpy as np

    from ..latent.io import load_z

    if z_path is not None:
        z = load_z(z_path, model.z_dim)
        if z.shape[0] != 1:
            raise UserError(
                f"latent file '{z_path}' holds {z.shape[0]} latents; render takes one (use `cppnart grid` for many)"
            )
        return z
    if recipe_z is not None:
        return model.check_z(np.asarray(recipe_z, dtype=np.float32), "the image's recipe z")
    return model.sample_z(seed_for_z)


@app.command(epilog="Example: cppnart render --res 2880x1800 --seed 7 -o poster.png")
@user_errors
@option_groups
def render(
    model: ModelArg = None,
    res: Annotated[
        Optional[str],
        typer.Option(
            help="Output size WIDTHxHEIGHT. \\[default: 1024x1024, or a conv glyph model's native size]",
            show_default=False,
        ),
    ] = None,
    seed: SeedOption = None,
    z: Annotated[
        Optional[Path], typer.Option("--z", help="Latent .npy of shape [Z] (from `cppnart z sample`).")
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Output .png. \\[default: MODEL-SEED-WxH.png, plus a digest of the view and z when not the defaults]",
            show_default=False,
        ),
    ] = None,
    look: ViewFlags = ViewFlags(),
    bits: Annotated[
        Optional[int], typer.Option(help="PNG bit depth, 8 or 16. \\[default: 8]", show_default=False)
    ] = None,
    from_image: Annotated[
        Optional[Path],
        typer.Option(
            "--from", help="Re-render a PNG cppnart made, from the recipe it carries; other options override it."
        ),
    ] = None,
    tiles: Annotated[
        Optional[Path],
        typer.Option(
            "--tiles",
            help="Write a Deep Zoom (DZI) tile pyramid into this new folder instead of one PNG: every level a "
            "real render at its size, for OpenSeadragon.",
            show_default=False,
        ),
    ] = None,
    flags: RenderFlags = RenderFlags(),
) -> None:
    """Render a CPPN to a PNG poster (or a DZI tile pyramid) at any resolution, in bounded memory."""
    from ..io.atomic import check_new_folder, check_writable
    from ..io.metadata import make_recipe
    from ..io.names import check_replace, recipe_name
    from ..render.poster import check_poster_space, save_poster

    check_cluster(flags.cluster, flags.cluster_timeout)
    if tiles is not None:
        if out is not None:
            raise UserError("give -o for one PNG or --tiles for a tile pyramid, not both")
        if bits == 16:
            raise UserError("tile pyramids are 8-bit PNG tiles; drop --bits 16 or render one PNG")
        check_new_folder(tiles)
    recipe = read_from(from_image)
    size = parse_res(res) if res is not None else recipe.get("res")
    view, supersample = look.resolve(recipe)
    bits = bits if bits is not None else int(recipe.get("bits", 8))
    if bits not in (8, 16):
        raise UserError(f"--bits must be 8 or 16, got {bits}")
    if out is not None:
        check_output(out, (".png",))

    seed_given = seed is not None
    seed = choose_seed(recipe, seed)
    net = choose_model(model, recipe, seed, flags.device.value)
    # Image-interface models (conv glyphs) draw a fixed size: keep it unless --res asks to resize.
    width, height = tuple(size) if size else (net.native_size or DEFAULT_RES)
    # A new --seed re-draws z too; otherwise the image's own z comes back.
    latent = resolve_z(net, z, None if seed_given else recipe.get("z"), seed)
    recipe_z_given = bool(recipe.get("z"))

    recipe = make_recipe(net, latent[0], width, height, view, supersample, bits)
    # For a preset the seed picks the weights and z; for a model file only z, and only without --z.
    z_from_seed = z is None and (seed_given or not recipe_z_given)
    canvas = net.canvas(width, height, view, supersample, look.chunk).check()
    if tiles is None:
        if out is None:
            out = recipe_name(net.label, recipe, z_from_seed=z_from_seed)
            check_writable(out)
        check_replace(out, recipe, flags.force)
        check_poster_space(width, height, net.channels, bits, out)
    started = time.perf_counter()
    with open_renderer(flags.cluster, flags.silent, flags.cluster_timeout, flags.verbose) as renderer:
        if tiles is not None:
            from ..render.tiles import save_tiles, tile_count

            count = tile_count(width, height)
            with progress(count, f"{count} tiles of {width}x{height}", not flags.quiet) as advance:
                dzi = save_tiles(net, latent, canvas, tiles, renderer, advance)
        else:
            assert out is not None
            big = canvas.samples() > PROGRESS_PIXELS or renderer is not None
            with progress(height, f"rendering {width}x{height}", big and not flags.quiet) as advance:
                save_poster(net, latent, width, height, out, view, supersample, bits, look.chunk, renderer, advance)
        report = cluster_report(renderer)
    elapsed = time.perf_counter() - started
    seed_note = f"seed {seed} · " if net.from_preset else (f"z seed {seed} · " if z_from_seed else "")
    target = f"{dzi} ({count} tiles)" if tiles is not None else str(out)
    emit(
        {
            "path": str(dzi if tiles is not None else out),
            "model": net.source,
            "seed": seed if (net.from_preset or z_from_seed) else None,
            "z": [float(v) for v in latent[0]],
            "res": [width, height],
            "seconds": round(elapsed, 3),
            **({"tiles": count} if tiles is not None else {}),
            **report,
        },
        f"{seed_note}{net.label} · {width}x{height} -> {target} ({elapsed:.1f} s)",
        flags.as_json,
        flags.quiet,
    )


class ExportFormat(StrEnum):
    """What `export` writes."""

    onnx = "onnx"
    glsl = "glsl"


@app.command(epilog="Example: cppnart export classic --seed 7 -o classic-7.onnx  ·  --format glsl -o classic-7.glsl")
@user_errors
def export(
    model: Annotated[
        str, typer.Argument(help="Preset name or preset .toml (and, for --format glsl, a CPPN .onnx or run folder).")
    ],
    seed: Annotated[
        Optional[int],
        typer.Option(help="Seed for the random weights (and the shader's z); drawn and printed when omitted."),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Output .onnx or .glsl. \\[default: PRESET-SEED.SUFFIX]", show_default=False),
    ] = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", help="onnx: the model file. glsl: a ShaderToy-style fragment shader of it."),
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

    suffix = f".{fmt.value}"
    if out is not None:
        check_output(out, (suffix,))
    if fmt is ExportFormat.glsl:
        out, seed = export_glsl(model, seed, out, z, zoom, center)
        emit({"path": str(out), "model": model, "seed": seed}, f"seed {seed} · {model} -> {out}", as_json, quiet)
        return
    net = load_model(model, seed)
    if net.source.endswith(".onnx"):
        raise UserError(f"'{model}' is already an ONNX file; copy it or render it directly")
    out = out or Path(f"{net.label}-{net.seed}.onnx")
    with atomic_output(out) as tmp:
        tmp.write_bytes(net.onnx_bytes)
    emit(
        {"path": str(out), "model": net.source, "seed": net.seed},
        f"seed {net.seed} · {net.label} -> {out}",
        as_json,
        quiet,
    )


def export_glsl(
    model: str, seed: Optional[int], out: Optional[Path], z_path: Optional[Path], zoom: Any, center: Any
) -> tuple[Path, int]:
    """The shader of a CPPN cppnart built, with z and the view baked in, written atomically."""
    import onnx

    from ..graph.glsl import shadertoy_shader
    from ..graph.onnx_weights import weights_from_onnx
    from ..io.atomic import atomic_output
    from ..render.model import load_model

    seed = choose_seed({}, seed)
    net = load_model(model, seed)
    weights = weights_from_onnx(onnx.load_from_string(net.onnx_bytes)) if net.interface == "coords" else None
    if weights is None:
        raise UserError(
            f"'{model}' is not a coordinate CPPN of the shape cppnart builds (presets, `train fit`, `train ganvae`); "
            "only those compile to GLSL"
        )
    view, _ = choose_view({}, zoom, center, None, 1)
    latent = resolve_z(net, z_path, None, seed)
    out = out or Path(f"{net.label}-{seed}.glsl")
    title = f"cppnart {net.label}" + (f", seed {net.seed}" if net.seed is not None else "")
    with atomic_output(out) as tmp:
        tmp.write_text(shadertoy_shader(weights, latent[0], view, title), encoding="utf-8")
    return out, seed
