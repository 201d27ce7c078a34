"""What the commands that write animations (`loop`, `morph`) share: their frame size and song
options, and the run that renders the frames here or on a --cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .cluster import cluster_report, open_renderer
from .options import RenderFlags, noted_default
from .output import progress

FrameResOption = Annotated[Optional[str], noted_default("Frame size WIDTHxHEIGHT.", "512x512")]
AudioOption = Annotated[
    Optional[Path],
    typer.Option(
        "--audio",
        help="A song (WAV, FLAC, MP3, ...): the motion follows its onsets and beats, the MP4 carries the sound, "
        "and the video lasts as long as the song (or --seconds).",
        show_default=False,
    ),
]


def render_frames(
    flags: RenderFlags, frames: int, save: Callable[[Any, Callable[..., Any]], object]
) -> tuple[dict[str, Any], float]:
    """``save(renderer, advance)`` under a progress bar of ``frames`` frames, on the --cluster or
    here: the cluster's report for --json (``cluster_report``) and the seconds it took. The local
    renderer is made first, so --backend and --precision are checked before any work."""
    local = flags.local_renderer()
    started = time.perf_counter()
    with (
        open_renderer(flags.cluster, flags.silent, flags.cluster_timeout, flags.verbose) as cluster,
        progress(frames, f"{frames} frames", not flags.quiet) as advance,
    ):
        save(cluster or local, advance)
        report = cluster_report(cluster)
    return report, time.perf_counter() - started
