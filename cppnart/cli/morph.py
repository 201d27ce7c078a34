"""`cppnart morph a.npy b.npy [c.npy ...] -o out.gif`: animate a walk through latent space."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..configs.choices import GIF_DEFAULT_STRATEGY
from ..errors import UserError
from .animation import AudioOption, FrameResOption, render_frames
from .cluster import check_cluster
from .options import (
    Ease,
    EaseOption,
    GifPalette,
    ModelOption,
    PathKind,
    PathOption,
    RenderFlags,
    SourceFlags,
    TileOption,
    ViewFlags,
    noted_default,
    option_groups,
)
from .output import emit, parse_res, progress, user_errors

app = typer.Typer()


@dataclass(frozen=True)
class MusicFlags:
    """The flags that time a morph to a song: --audio, --seconds, --beats-per-key, and --tile."""

    audio: AudioOption = None
    seconds: Annotated[
        Optional[float], typer.Option(help="With --audio: render the song's first seconds only (a preview).")
    ] = None
    beats_per_key: Annotated[
        int, typer.Option(help="With --audio: beats from one keyframe to the next (keyframes change on beats).")
    ] = 4
    tile: TileOption = None

    def refuse_for_weights(self) -> None:
        """A weight morph of run folders (or a genome morph) has no latent path to time or tile."""
        if self.audio is not None or self.tile:
            raise UserError("--audio and --tile work on latent morphs of one model, not on weight or genome morphs")

    def request_args(self) -> dict[str, Any]:
        """These flags as ``render.request.resolve_morph`` arguments."""
        return {"audio": self.audio, "seconds": self.seconds, "tile": self.tile, "beats_per_key": self.beats_per_key}


def _inputs_and_output(keyframes: list[Path], out: Optional[Path]) -> tuple[list[Path], Path]:
    """The keyframes and the output (the older form's last path), which must not look like a keyframe."""
    if out is None:
        keyframes, out = split_inputs(keyframes)
    if out.suffix.lower() in (".npy", ".png"):
        raise UserError(f"the output '{out}' looks like a keyframe; add -o out.gif (or .mp4, .webp, a folder name)")
    return keyframes, out


def split_inputs(paths: list[Path]) -> tuple[list[Path], Path]:
    """The older positional form KEYFRAMES... OUT: the last path is the output."""
    if len(paths) < 2:
        raise UserError("give the keyframe latents and then the output: cppnart morph a.npy b.npy -o out.gif")
    return paths[:-1], paths[-1]


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
    source: SourceFlags = SourceFlags(),
    frames: Annotated[int, typer.Option(help="Frames per transition, from one keyframe up to the next.")] = 30,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 25.0,
    res: FrameResOption = None,
    ease: EaseOption = Ease.smooth,  # type: ignore[attr-defined]
    path: PathOption = PathKind.slerp,  # type: ignore[attr-defined]
    loop: Annotated[
        bool, typer.Option("--loop/--no-loop", help="Return to the first keyframe so the animation repeats seamlessly.")
    ] = False,
    hold: Annotated[int, typer.Option(help="Extra frames to rest on each keyframe.")] = 0,
    look: ViewFlags = ViewFlags(),
    batch: Annotated[
        Optional[int],
        noted_default("Frames per onnxruntime call.", "as many as fit ~1 Mpx"),
    ] = None,
    gif_palette: Annotated[
        GifPalette,
        typer.Option(  # type: ignore[valid-type]
            help="GIF only: a palette per frame or one shared, with ordered, Floyd-Steinberg or no dither "
            "(measured in bench/gif_palette.py)."
        ),
    ] = GifPalette(GIF_DEFAULT_STRATEGY),
    music: MusicFlags = MusicFlags(),
    flags: RenderFlags = RenderFlags(),
) -> None:
    """Morph between latent vectors, streaming every frame to a GIF, MP4, WebP or PNG folder (--audio: music video)."""
    check_cluster(flags.cluster, flags.cluster_timeout)
    keyframes, out = _inputs_and_output(keyframes, out)
    size = parse_res(res) if res is not None else None
    plan = {"frames": frames, "hold": hold, "loop": loop, "ease": ease.value, "fps": fps}
    if _model_morph(keyframes, out, size, plan, gif_palette.value, flags, music):
        return
    plan.update(path=path.value, batch=batch, gif_palette=gif_palette.value, **music.request_args())
    _latent_morph(keyframes, out, size, model, source, look, flags, plan)


def _model_morph(
    keyframes: list[Path], out: Path, size: Optional[tuple[int, int]], plan: dict[str, Any], gif_palette: str,
    flags: RenderFlags, music: MusicFlags,
) -> bool:  # fmt: skip
    """A morph between models instead of through one model's latents, when every keyframe is a run
    folder with weights.npz (their weights mixed) or a genome (file or PNG: the genomes mixed)."""
    from ..render.genome_morph import genomes_of_keyframes
    from ..render.weight_morph import weights_of_runs

    run_weights = weights_of_runs(keyframes)
    genomes = genomes_of_keyframes(keyframes) if run_weights is None else None
    if run_weights is None and genomes is None:
        return False
    music.refuse_for_weights()  # neither has a latent path to time or tile
    if run_weights is not None:
        _weight_morph(run_weights, keyframes, out, size, plan, gif_palette, flags)
    else:
        _genome_morph(genomes or [], keyframes, out, size, plan, gif_palette, flags)
    return True


def _latent_morph(
    keyframes: list[Path], out: Path, size: Optional[tuple[int, int]], model: Optional[str], source: SourceFlags,
    look: ViewFlags, flags: RenderFlags, plan: dict[str, Any],
) -> None:  # fmt: skip
    """A walk through one model's latent space: ``render.morph.save_morph`` of the request these options make."""
    from ..render.morph import save_morph
    from ..render.request import resolve_morph

    request = resolve_morph(
        keyframes, model, **source.request_args(), res=size, device=flags.device.value, **look.request_args(),
        **plan,
    )  # fmt: skip
    total, (width, height) = request.frame_count, (request.canvas.width, request.canvas.height)
    report, elapsed = render_frames(
        flags, total, lambda renderer, advance: save_morph(request, out, renderer, advance, flags.force)
    )
    net, sound = request.model, request.audio
    seed_note = f"seed {net.seed} · " if net.from_preset else ""
    tile = net.metadata.get("tile")
    notes = ([f"tiles by {tile}"] if tile else []) + ([f"{len(sound.beats)} beats of {sound.source}"] if sound else [])
    emit(
        {
            "path": str(out),
            "model": net.source,
            "seed": net.seed,
            "keyframes": len(request.keyframes),
            "frames": total,
            "res": [width, height],
            "tile": tile,
            "beats": len(sound.beats) if sound else None,
            "seconds": round(elapsed, 3),
            **report,
        },
        f"{seed_note}{net.label}{''.join(' · ' + n for n in notes)} · {len(request.keyframes)} keyframes, "
        f"{total} frames {width}x{height} "
        f"-> {out} ({elapsed:.1f} s, {total / max(elapsed, 1e-9):.1f} frames/s)",
        flags.as_json,
        flags.quiet,
    )


def _weight_morph(
    weights: list, keyframes: list[Path], out: Path, size: Optional[tuple[int, int]], plan: dict[str, Any],
    gif_palette: str, flags: RenderFlags,
) -> None:  # fmt: skip
    """A morph between CPPN run folders: ``render.morph.save_weight_morph`` mixes their weights."""
    from ..latent.paths import path_length
    from ..render.morph import save_weight_morph
    from ..render.request import DEFAULT_MORPH_RES

    width, height = size or DEFAULT_MORPH_RES
    total = path_length(len(weights), plan["frames"], plan["hold"], plan["loop"])

    def save(advance: Any) -> None:
        save_weight_morph(weights, keyframes, out, width, height, **plan, device=flags.device.value,
                          gif_palette=gif_palette, on_frame=advance)  # fmt: skip

    extra = {"keyframes": len(weights)}
    _run_model_morph(save, total, f"weight morph of {len(weights)} CPPNs", out, (width, height), extra, flags)


def _genome_morph(
    genomes: list, keyframes: list[Path], out: Path, size: Optional[tuple[int, int]], plan: dict[str, Any],
    gif_palette: str, flags: RenderFlags,
) -> None:  # fmt: skip
    """A morph between bred pictures: ``render.morph.save_genome_morph`` of the genomes' request."""
    from ..render.genome_morph import resolve_genome_morph
    from ..render.morph import save_genome_morph
    from ..render.request import DEFAULT_MORPH_RES

    width, height = size or DEFAULT_MORPH_RES
    request = resolve_genome_morph(keyframes, width, height, genomes, **plan, device=flags.device.value,
                                   gif_palette=gif_palette)  # fmt: skip
    extra = {"keyframes": len(genomes), "genomes": [str(k) for k in keyframes]}
    what = f"genome morph of {len(genomes)} genomes"
    _run_model_morph(
        lambda advance: save_genome_morph(request, out, advance, flags.force), request.frame_count, what, out,
        (width, height), extra, flags,
    )  # fmt: skip


def _run_model_morph(
    save: Any, total: int, what: str, out: Path, size: tuple[int, int], extra: dict[str, Any], flags: RenderFlags
) -> None:
    """A morph between models (run folders, genomes): ``save(advance)`` under a progress bar, then the
    line (or JSON, with ``extra``: how many keyframes, which files) that reports it."""
    started = time.perf_counter()
    with progress(total, f"{total} frames", not flags.silent) as advance:
        save(advance)
    elapsed = time.perf_counter() - started
    emit(
        {"path": str(out), **extra, "frames": total, "res": list(size), "seconds": round(elapsed, 3)},
        f"{what}, {total} frames {size[0]}x{size[1]} -> {out} ({elapsed:.1f} s)",
        flags.as_json,
        flags.quiet,
    )  # fmt: skip
