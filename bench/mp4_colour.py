"""MP4 colour: a colour-bar morph encoded the old way (imageio's default: BT.601 matrix, no
tags) and by cppnart's writer (BT.709 matrix and tags), decoded the way HD players do (BT.709,
limited range), compared with the frames that went in. Prints the worst and mean error in
8-bit levels per size, and the colour fields ffmpeg reports for the new file.

    python bench/mp4_colour.py            # 1280x720 and 1920x1080
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from cppnart.io.animation import save_animation

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
BARS = np.array(
    [[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0], [191, 0, 191], [191, 0, 0], [0, 0, 191], [16, 16, 16]],
    dtype=np.uint8,
)  # SMPTE 75% bars


def bars(width: int, height: int, shift: float) -> np.ndarray:
    """Colour bars, slowly morphing towards their neighbours (frame ``shift`` in [0, 1))."""
    x = np.arange(width) / width * len(BARS)
    i = np.floor(x).astype(int) % len(BARS)
    t = np.clip((x - np.floor(x) - 0.9 + 0.1 * shift) * 10, 0, 1)[:, None]  # soft edges that move
    row = (BARS[i] * (1 - t) + BARS[(i + 1) % len(BARS)] * t).round().astype(np.uint8)
    return np.repeat(row[None], height, axis=0)


def decode(path: Path, width: int, height: int) -> np.ndarray:
    cmd = [FFMPEG, "-v", "error", "-i", str(path), "-vf", "scale=in_color_matrix=bt709:in_range=tv"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def old_writer(path: Path, frames: list[np.ndarray], width: int, height: int) -> None:
    gen = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=25, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
        quality=None, macro_block_size=1, ffmpeg_log_level="error", output_params=["-crf", "18"],
    )  # fmt: skip
    gen.send(None)
    for f in frames:
        gen.send(np.ascontiguousarray(f).tobytes())
    gen.close()


def colour_fields(path: Path) -> str:
    info = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    match = re.search(r"Video: .*?(yuv420p\([^)]*\))", info)
    return match[1] if match else "?"


def main() -> None:
    sizes = [(1280, 720), (1920, 1080)] if len(sys.argv) < 2 else [tuple(map(int, sys.argv[1].split("x")))]
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in sizes:
            frames = [bars(width, height, k / 8) for k in range(8)]
            reference = np.stack(frames).astype(int)
            old, new = Path(tmp) / "old.mp4", Path(tmp) / "new.mp4"
            old_writer(old, frames, width, height)
            save_animation(new, iter(frames), width, height, 3, 25.0)
            for name, path in (("before (BT.601, untagged)", old), ("after (BT.709, tagged)", new)):
                err = np.abs(decode(path, width, height).astype(int) - reference)
                # chroma is stored at half resolution (yuv420p): colour edges blur by a pixel or two
                flat = np.ones(width, bool)
                edges = np.flatnonzero(np.any(np.diff(reference[:, 0].astype(int), axis=1) != 0, axis=(0, 2)))
                for e in edges:
                    flat[max(0, e - 3) : e + 5] = False
                print(
                    f"{width}x{height} {name}: inside the bars worst {err[:, :, flat].max()} levels, "
                    f"mean {err[:, :, flat].mean():.2f}; at edges too worst {err.max()}, mean {err.mean():.2f}"
                )
            print(f"{width}x{height} colour fields of the new file: {colour_fields(new)}")


if __name__ == "__main__":
    main()
