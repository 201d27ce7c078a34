"""`cppnart morph a.npy b.npy [c.npy ...] out.gif`: animate a walk through latent space."""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from ..render import DEFAULT_CHUNK
from ..animation_writers import GIF_DEFAULT_STRATEGY, GIF_STRATEGIES
from .common import Device, parse_res, row_progress, user_errors
from .model_choice import (CenterOption, ChunkOption, FromOption, ModelOption, OnnxDeviceOption, SeedOption,
                           SupersampleOption, ZoomOption, choose_model, choose_view, read_from)

DEFAULT_RES = (512, 512)

Ease = Enum("Ease", {name: name for name in ("linear", "sine", "smooth")}, type=str)
PathKind = Enum("PathKind", {name: name for name in ("slerp", "lerp")}, type=str)
GifPalette = Enum("GifPalette", {name: name for name in GIF_STRATEGIES}, type=str)


def split_inputs(paths: list[Path]) -> tuple[list[Path], Path]:
    """KEYFRAMES... OUT: the last path is the output."""
    if len(paths) < 2:
        raise UserError("give the keyframe latents and then the output: cppnart morph a.npy b.npy out.gif")
    *keys, out = paths
    if out.suffix.lower() in (".npy", ".png"):
        raise UserError(f"the last argument is the output, but '{out}' looks like a keyframe; "
                        "add an output such as out.gif, out.mp4, out.webp or a folder name")
    return keys, out


def morph_comment(net, keyframes, width, height, view, supersample, frames, hold, loop, ease, path, fps) -> str:
    """What the animation file carries so it can be made again (GIF comment, MP4 metadata)."""
    return json.dumps({"cppnart-morph": {
        "model": net.source, "preset": net.preset, "seed": net.seed,
        "keyframes": [[round(float(v), 7) for v in k] for k in keyframes],
        "frames": frames, "hold": hold, "loop": loop, "ease": ease, "path": path, "fps": fps,
        "res": [width, height], "zoom": view.zoom, "center": list(view.center), "supersample": supersample,
    }}, separators=(",", ":"))


def register(app: typer.Typer) -> None:
    @app.command(epilog="Example: cppnart morph a.npy b.npy c.npy out.mp4 --seed 7 --frames 48 --loop")
    @user_errors
    def morph(
        paths: Annotated[list[Path], typer.Argument(metavar="KEYFRAMES... OUT",
            help="Keyframe latents (.npy of [Z] or [B, Z]; or PNGs cppnart made), then the output: "
                 ".gif, .mp4, .webp, or a folder name for numbered PNG frames.", show_default=False)],
        model: ModelOption = None,
        from_image: FromOption = None,
        seed: SeedOption = None,
        frames: Annotated[int, typer.Option(help="Frames per transition, from one keyframe up to the next.")] = 30,
        fps: Annotated[float, typer.Option(help="Frames per second.")] = 25.0,
        res: Annotated[Optional[str], typer.Option(help="Frame size WIDTHxHEIGHT. \\[default: 512x512]", show_default=False)] = None,
        ease: Annotated[Ease, typer.Option(help="Pace of each transition: linear; sine = sin(p·π/2), fast start and slow arrival (seed 002); smooth = ease in and out.")] = Ease.smooth,
        path: Annotated[PathKind, typer.Option("--path", help="slerp keeps latents at a typical length; lerp is the straight line.")] = PathKind.slerp,
        loop: Annotated[bool, typer.Option("--loop/--no-loop", help="Return to the first keyframe so the animation repeats seamlessly.")] = False,
        hold: Annotated[int, typer.Option(help="Extra frames to rest on each keyframe.")] = 0,
        zoom: ZoomOption = None,
        center: CenterOption = None,
        supersample: SupersampleOption = None,
        chunk: ChunkOption = DEFAULT_CHUNK,
        batch: Annotated[Optional[int], typer.Option(help="Frames per onnxruntime call. \\[default: as many as fit ~1 Mpx]", show_default=False)] = None,
        device: OnnxDeviceOption = Device.auto,
        gif_palette: Annotated[GifPalette, typer.Option(help="GIF only: a palette per frame or one shared, with ordered, Floyd-Steinberg or no dither (measured in bench/gif_palette.py).")] = GifPalette(GIF_DEFAULT_STRATEGY),
    ) -> None:
        """Morph between latent vectors: render every frame of the path and stream it to a GIF, MP4, WebP or PNG folder."""
        from ..animation import palette_sample, render_frames
        from ..latent import path_length, plan_path, read_latents
        from ..recipe import make_recipe, png_text
        from ..animation_writers import check_animation_output, open_animation

        # Everything that can be wrong with the arguments is found before the first frame.
        keys, out = split_inputs(paths)
        width, height = parse_res(res) if res is not None else DEFAULT_RES
        if batch is not None and batch < 1:
            raise UserError(f"--batch must be at least 1 frame per call, got {batch}")
        kind = check_animation_output(out, width, height, fps)
        recipe = read_from(from_image)
        view, supersample = choose_view(recipe, zoom, center, supersample, chunk)
        net = choose_model(model, recipe, seed, device.value)

        import numpy as np

        keyframes = np.concatenate([read_latents(k, net.z_dim) for k in keys])
        latents = plan_path(keyframes, frames, hold, loop, ease.value, path.value)
        total = path_length(len(keyframes), frames, hold, loop)

        comment = morph_comment(net, keyframes, width, height, view, supersample, frames, hold, loop,
                                ease.value, path.value, fps)

        def frame_text(i: int) -> dict[str, str]:  # every PNG frame can be re-rendered with --from
            return png_text(make_recipe(net, latents[i], width, height, view, supersample, 8))

        started = time.perf_counter()
        with row_progress(total, f"{total} frames", True) as advance, \
                open_animation(out, width, height, net.channels, fps, loop=True, comment=comment,  # files always repeat; --loop shapes the path
                               frame_text=frame_text if kind == "frames" else None, frame_count=total,
                               gif_strategy=gif_palette.value,
                               palette_sample=lambda: palette_sample(net, latents, width, height, view, supersample)) as writer:
            for frame in render_frames(net, latents, width, height, view, supersample, chunk, batch, on_frame=advance):
                writer.add(frame)
        elapsed = time.perf_counter() - started
        seed_note = f"seed {net.seed} · " if net.from_preset else ""
        typer.echo(f"{seed_note}{net.label} · {len(keyframes)} keyframes, {total} frames {width}x{height} "
                   f"-> {out} ({elapsed:.1f} s, {total / max(elapsed, 1e-9):.1f} frames/s)")
