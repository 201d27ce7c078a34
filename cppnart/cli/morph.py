"""`cppnart morph a.npy b.npy [c.npy ...] -o out.gif`: animate a walk through latent space."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import UserError
from ..io.animation import GIF_DEFAULT_STRATEGY
from .cluster import check_cluster, cluster_report, open_renderer
from .model_choice import choose_model, read_from
from .options import (
    Ease,
    EaseOption,
    FromOption,
    GifPalette,
    ModelOption,
    PathKind,
    PathOption,
    RenderFlags,
    SeedOption,
    ViewFlags,
    option_groups,
)
from .output import emit, parse_res, progress, user_errors

app = typer.Typer()

DEFAULT_RES = (512, 512)


def split_inputs(paths: list[Path]) -> tuple[list[Path], Path]:
    """The older positional form KEYFRAMES... OUT: the last path is the output."""
    if len(paths) < 2:
        raise UserError("give the keyframe latents and then the output: cppnart morph a.npy b.npy -o out.gif")
    return paths[:-1], paths[-1]


def morph_comment(
    net: Any, keyframes: Any, width: int, height: int, view: Any, supersample: int, options: dict[str, Any]
) -> str:
    """What the animation file carries so it can be made again (GIF comment, MP4 metadata)."""
    return json.dumps(
        {
            "cppnart-morph": {
                "model": net.source,
                "preset": net.preset,
                "seed": net.seed,
                "keyframes": [[round(float(v), 7) for v in k] for k in keyframes],
                **options,
                "res": [width, height],
                "zoom": view.zoom,
                "center": list(view.center),
                "supersample": supersample,
            }
        },
        separators=(",", ":"),
    )


@app.command(epilog="Example: cppnart morph a.npy b.npy c.npy -o out.mp4 --seed 7 --frames 48 --loop")
@user_errors
@option_groups
def morph(
    keyframes: Annotated[
        list[Path],
        typer.Argument(
            metavar="KEYFRAMES...",
            help="Keyframe latents: .npy of [Z] or [B, Z], or PNGs cppnart made. (Without -o "
            "the last one is taken as the output, as older versions wrote it.)",
            show_default=False,
        ),
    ],
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out", "-o", help=".gif, .mp4, .webp, or a folder name for numbered PNG frames.", show_default=False
        ),
    ] = None,
    model: ModelOption = None,
    from_image: FromOption = None,
    seed: SeedOption = None,
    frames: Annotated[int, typer.Option(help="Frames per transition, from one keyframe up to the next.")] = 30,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 25.0,
    res: Annotated[
        Optional[str], typer.Option(help="Frame size WIDTHxHEIGHT. \\[default: 512x512]", show_default=False)
    ] = None,
    ease: EaseOption = Ease.smooth,  # type: ignore[attr-defined]
    path: PathOption = PathKind.slerp,  # type: ignore[attr-defined]
    loop: Annotated[
        bool, typer.Option("--loop/--no-loop", help="Return to the first keyframe so the animation repeats seamlessly.")
    ] = False,
    hold: Annotated[int, typer.Option(help="Extra frames to rest on each keyframe.")] = 0,
    look: ViewFlags = ViewFlags(),
    batch: Annotated[
        Optional[int],
        typer.Option(help="Frames per onnxruntime call. \\[default: as many as fit ~1 Mpx]", show_default=False),
    ] = None,
    gif_palette: Annotated[
        GifPalette,
        typer.Option(  # type: ignore[valid-type]
            help="GIF only: a palette per frame or one shared, with ordered, Floyd-Steinberg or no dither "
            "(measured in bench/gif_palette.py)."
        ),
    ] = GifPalette(GIF_DEFAULT_STRATEGY),
    flags: RenderFlags = RenderFlags(),
) -> None:
    """Morph between latent vectors, streaming every frame to a GIF, MP4, WebP or PNG folder."""
    import numpy as np

    from ..io.animation import check_animation_output, save_animation
    from ..io.budget import check_budget
    from ..io.metadata import make_recipe, png_text, read_animation_recipe
    from ..io.names import refuse_replacing
    from ..latent.files import read_latents
    from ..latent.paths import path_length, plan_path
    from ..render.frames import palette_sample, render_frames

    # Everything that can be wrong with the arguments is found before the first frame.
    check_cluster(flags.cluster, flags.cluster_timeout)
    if out is None:
        keyframes, out = split_inputs(keyframes)
    if out.suffix.lower() in (".npy", ".png"):
        raise UserError(f"the output '{out}' looks like a keyframe; add -o out.gif (or .mp4, .webp, a folder name)")
    width, height = parse_res(res) if res is not None else DEFAULT_RES
    if batch is not None and batch < 1:
        raise UserError(f"--batch must be at least 1 frame per call, got {batch}")
    kind = check_animation_output(out, width, height, fps)
    from ..render.weight_morph import weights_of_runs

    run_weights = weights_of_runs(keyframes)
    if run_weights is not None:  # run folders of one CPPN architecture (e.g. dreams): mix their weights
        _weight_morph(run_weights, keyframes, out, width, height, frames, hold, loop, ease.value, fps,
                      flags.device.value, gif_palette.value, flags.as_json, flags.quiet)  # fmt: skip
        return
    recipe = read_from(from_image)
    view, supersample = look.resolve(recipe)
    net = choose_model(model, recipe, seed, flags.device.value)
    keys = np.concatenate([read_latents(k, net.z_dim) for k in keyframes])
    latents = plan_path(keys, frames, hold, loop, ease.value, path.value)
    total = path_length(len(keys), frames, hold, loop)
    # Output sizes at the best compression CPPN morphs see: refused only when clearly too big.
    best_ratio = {"mp4": 400, "gif": 12, "webp": 40, "frames": 20}[kind]
    check_budget(
        f"{total} frames of {width}x{height}",
        samples=float(total) * width * height * supersample**2,
        output=(float(total) * width * height * 3 / best_ratio, out),
    )
    options = {"frames": frames, "hold": hold, "loop": loop, "ease": ease.value, "path": path.value, "fps": fps}
    comment = morph_comment(net, keys, width, height, view, supersample, options)
    if kind != "frames":  # a frame folder must be new or empty already
        new = json.loads(comment)["cppnart-morph"]
        refuse_replacing(out, lambda: {**read_animation_recipe(out), "z": None} == {**new, "z": None}, flags.force)

    def frame_text(i: int) -> dict[str, str]:  # every PNG frame can be re-rendered with --from
        return png_text(make_recipe(net, latents[i], width, height, view, supersample, 8))

    started = time.perf_counter()
    with (
        open_renderer(flags.cluster, flags.silent, flags.cluster_timeout, flags.verbose) as renderer,
        progress(total, f"{total} frames", not flags.quiet) as advance,
    ):
        canvas = net.canvas(width, height, view, supersample, look.chunk)
        frames_iter = render_frames(net, latents, canvas, batch, on_frame=advance, renderer=renderer)
        # Files always repeat; --loop shapes the path so that the repeat is seamless.
        save_animation(
            out,
            frames_iter,
            width,
            height,
            net.channels,
            fps,
            loop=True,
            comment=comment,
            frame_text=frame_text if kind == "frames" else None,
            frame_count=total,
            gif_strategy=gif_palette.value,
            palette_sample=lambda: palette_sample(net, latents, canvas),
        )
        report = cluster_report(renderer)
    elapsed = time.perf_counter() - started
    seed_note = f"seed {net.seed} · " if net.from_preset else ""
    emit(
        {
            "path": str(out),
            "model": net.source,
            "seed": net.seed,
            "keyframes": len(keys),
            "frames": total,
            "res": [width, height],
            "seconds": round(elapsed, 3),
            **report,
        },
        f"{seed_note}{net.label} · {len(keys)} keyframes, {total} frames {width}x{height} "
        f"-> {out} ({elapsed:.1f} s, {total / max(elapsed, 1e-9):.1f} frames/s)",
        flags.as_json,
        flags.quiet,
    )


def _weight_morph(
    weights: list, keyframes: list[Path], out: Path, width: int, height: int, frames: int, hold: int, loop: bool,
    ease: str, fps: float, device: str, gif_strategy: str, as_json: bool, quiet: bool,
) -> None:  # fmt: skip
    from ..io.animation import save_animation
    from ..latent.paths import path_length
    from ..render.weight_morph import weight_morph_frames

    total = path_length(len(weights), frames, hold, loop)
    options = {"frames": frames, "hold": hold, "loop": loop, "ease": ease, "fps": fps, "res": [width, height]}
    comment = json.dumps({"cppnart-morph": {"weights": [str(k) for k in keyframes], **options}})
    started = time.perf_counter()
    with progress(total, f"{total} frames", not quiet and not as_json) as advance:
        stream = weight_morph_frames(
            weights, width, height, frames=frames, hold=hold, loop=loop, ease=ease, device=device, on_frame=advance
        )
        save_animation(
            out, stream, width, height, weights[0].channels, fps, loop=True, comment=comment, frame_count=total,
            gif_strategy=gif_strategy,
        )  # fmt: skip
    elapsed = time.perf_counter() - started
    emit(
        {"path": str(out), "keyframes": len(weights), "frames": total, "res": [width, height], "seconds": elapsed},
        f"weight morph of {len(weights)} CPPNs, {total} frames {width}x{height} -> {out} ({elapsed:.1f} s)",
        as_json,
        quiet,
    )
