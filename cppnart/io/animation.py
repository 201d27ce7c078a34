"""Animation writers: GIF, MP4, animated WebP and numbered-PNG folders, fed one frame at a time.

Every writer holds at most one frame (plus the encoder's own state), so a long 4K morph needs
no more memory than a single frame. All write to a temporary name first (``atomic_output``),
so Ctrl-C or an error leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.choices import GIF_DEFAULT_STRATEGY as GIF_DEFAULT_STRATEGY
from ..configs.choices import GIF_STRATEGIES as GIF_STRATEGIES
from ..errors import ParamError, UserError
from .atomic import atomic_output, check_new_folder, check_writable
from .metadata import WEBP_RECIPE_CHUNK
from .png import write_png

ANIMATION_SUFFIXES = (".gif", ".mp4", ".webp")
GIF_MAX_FPS = 50  # GIF delays count hundredths of a second; browsers slow delays under 2 down to 10
MP4_CRF = 18  # x264 constant-rate factor: 18 keeps CPPN gradients free of visible blocks
WEBP_QUALITY = 90


def animation_kind(path: str | Path) -> str:
    """'gif', 'mp4', 'webp', or 'frames' (a folder of numbered PNGs: a path with no suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in ANIMATION_SUFFIXES:
        return suffix[1:]
    if suffix == "" or path.is_dir():
        return "frames"
    raise UserError(
        f"output '{path}' has an unknown extension '{path.suffix}'; use .gif, .mp4, .webp, "
        "or a folder name without an extension for numbered PNG frames"
    )


def check_animation_output(path: str | Path, width: int, height: int, fps: float) -> str:
    """Everything about the output that can fail, checked before any frame is rendered."""
    path = Path(path)
    kind = animation_kind(path)
    if not (fps > 0 and fps < float("inf")):
        raise ParamError("fps", f"must be a positive number, got {fps}")
    if kind == "frames":
        check_new_folder(path)
        return kind
    check_writable(path)
    if kind == "mp4" and (width % 2 or height % 2):
        raise UserError(
            f"MP4 (H.264, yuv420p) needs an even width and height, got {width}x{height}; "
            f"use e.g. {width + width % 2}x{height + height % 2}"
        )
    limit = {"gif": 65535, "webp": 16383}.get(kind)
    if limit and (width > limit or height > limit):
        raise UserError(
            f"{kind.upper()} frames are at most {limit}x{limit}, got {width}x{height}; write .mp4 or a PNG folder"
        )
    if kind == "gif" and fps > GIF_MAX_FPS:
        raise ParamError(
            "fps",
            f"{fps:g} is too fast for GIF (browsers play delays under 20 ms slowly); "
            f"use {GIF_MAX_FPS} or less, or write .mp4",
        )
    return kind


def frame_delays(count_so_far: int, fps: float, unit: float) -> int:
    """Delay of frame number ``count_so_far`` in ``unit`` seconds, with the rounding carried over
    so the animation keeps its average speed (30 fps in GIF hundredths: 3, 4, 3, 3, 4, 3, ...)."""
    per = 1.0 / (fps * unit)
    return round((count_so_far + 1) * per) - round(count_so_far * per)


def as_rgb(frame: np.ndarray) -> np.ndarray:
    """A frame as [H, W, 3]: grey frames ([H, W] or [H, W, 1]) repeated into three channels, for
    the encoders that take RGB only."""
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = frame[..., None]
    return np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame


@dataclass(eq=False)
class FrameWriter:
    """Base: ``add(frame)`` takes uint8 [H, W, C] (C = 1 or 3); ``finish()`` completes the file.

    Writers are dataclasses: each format adds its own settings as fields after these four, so
    the shared ones are declared once."""

    path: Path
    width: int
    height: int
    fps: float
    count: int = field(default=0, init=False)

    def add(self, frame: np.ndarray) -> None:
        """Append one frame, refused unless it is uint8 at the writer's size (a wrong frame is a bug)."""
        frame = np.asarray(frame)
        if frame.shape[:2] != (self.height, self.width) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} does not match {self.height}x{self.width} uint8")
        self._add(frame)
        self.count += 1

    def _add(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Complete the file after the last frame; a writer with nothing left to write does nothing."""

    def abort(self) -> None:
        """Let go of what the writer holds (files, processes) after an error, so its output can be removed."""


@dataclass(eq=False)
class StreamWriter(FrameWriter):
    """A writer into one file it holds open: ``_trailer`` writes the last bytes on ``finish``;
    the file is closed on ``finish`` and on ``abort`` (so ``atomic_output`` can remove it)."""

    def __post_init__(self) -> None:
        self.file = open(self.path, "wb")

    def _trailer(self) -> None:
        pass

    def finish(self) -> None:
        """Write the format's trailer and close the file."""
        self._trailer()
        self.file.close()

    def abort(self) -> None:
        """Close the file without a trailer (``atomic_output`` then removes it)."""
        self.file.close()


# --- GIF ------------------------------------------------------------------------------------
#
# Palette handling was chosen by measurement (bench/gif_palette.py; 96-frame morphs of three
# presets, numbers in its output): each frame gets its own 256-colour octree palette,
# the closest fit (lowest colour error and total flicker; Pillow's median cut is both worse
# and 10x slower), and a fixed 8x8 ordered-dither pattern breaks up banding and lowers the
# low-frequency (visible) flicker, while staying put from frame to frame. Floyd-Steinberg
# lowers banding further but crawls: 5x the change in still regions. One palette shared by all
# frames keeps still regions exactly still but fits every frame worse. The names and the default
# are in configs.choices (`--help` lists them without numpy).

GIF_DITHER_AMPLITUDE = 12.0  # ordered-dither spread in 8-bit levels: 6 bands more, 20 adds visible grain


def _bayer(n: int = 8) -> np.ndarray:
    """Bayer threshold matrix, values centred on 0 in (-0.5, 0.5)."""
    m = np.zeros((1, 1))
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size - 0.5


def palette_from(frames: Iterable[np.ndarray], colors: int = 256, method: str = "octree") -> np.ndarray:
    """A shared palette [256, 3] uint8 for sample frames of the animation.

    octree: Pillow's fast octree, ~0.01 s. kmeans: median cut refined by k-means (slower, a
    little closer; see bench/gif_palette.py).
    """
    from PIL import Image

    mosaic = Image.fromarray(np.concatenate([as_rgb(f) for f in frames], axis=0))
    if method == "octree":
        quantized = mosaic.quantize(colors, method=Image.Quantize.FASTOCTREE)
    else:
        quantized = mosaic.quantize(colors, method=Image.Quantize.MEDIANCUT, kmeans=3)
    pal = np.asarray(quantized.getpalette(), dtype=np.uint8).reshape(-1, 3)[:colors]
    return np.concatenate([pal, np.zeros((256 - len(pal), 3), np.uint8)]) if len(pal) < 256 else pal


@dataclass(eq=False)
class GifWriter(StreamWriter):
    """Streams a looping GIF89a: header, then one LZW-coded frame at a time (Pillow's encoder)."""

    channels: int = 3
    loop: bool = True
    strategy: str = GIF_DEFAULT_STRATEGY
    palette: np.ndarray | None = None
    comment: str | None = None
    amplitude: float = GIF_DITHER_AMPLITUDE
    per_frame_method: str = "octree"

    def __post_init__(self) -> None:
        from PIL import Image

        self.quantize_method = {"octree": Image.Quantize.FASTOCTREE, "mediancut": Image.Quantize.MEDIANCUT}[
            self.per_frame_method
        ]
        if self.strategy not in GIF_STRATEGIES:
            raise ValueError(f"unknown GIF palette strategy {self.strategy}")
        self.grey = self.channels == 1  # 256 grey levels fit a GIF palette exactly: no quantisation needed
        self._threshold: np.ndarray | None = None
        super().__post_init__()  # the file opens once the settings are known good

    @property
    def shared(self) -> bool:
        """Whether all frames use one global colour table (grey, or a ``global-*`` strategy) rather
        than each its own."""
        return self.grey or self.strategy.startswith("global")

    def _header(self) -> None:
        o16 = lambda v: int(v).to_bytes(2, "little")
        flags = 0x70  # 8 bits of colour resolution
        table = b""
        if self.shared:
            flags |= 0x80 | 7  # a global table of 2^(7+1) = 256 entries
            table = self._palette_image().palette.tobytes()[:768].ljust(768, b"\0")
        out = [b"GIF89a", o16(self.width), o16(self.height), bytes([flags, 0, 0]), table]
        if self.loop:
            out.append(b"!\xff\x0bNETSCAPE2.0\x03\x01" + o16(0) + b"\0")
        if self.comment:
            data = self.comment.encode("utf-8")
            out.append(
                b"!\xfe"
                + b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))
                + b"\0"
            )
        self.file.write(b"".join(out))

    def _palette_image(self):
        from PIL import Image

        pal = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1) if self.grey else self.palette
        image = Image.new("P", (1, 1))
        image.putpalette(np.asarray(pal, np.uint8).reshape(-1).tobytes())
        return image

    def _dithered(self, rgb: np.ndarray) -> np.ndarray:
        if self._threshold is None:
            tile = _bayer(8)
            reps = (-(-self.height // 8), -(-self.width // 8))
            self._threshold = (np.tile(tile, reps)[: self.height, : self.width, None] * self.amplitude).astype(
                np.float32
            )
        return np.clip(rgb.astype(np.float32) + self._threshold + 0.5, 0, 255).astype(np.uint8)

    def _indexed(self, frame: np.ndarray):
        from PIL import Image

        if self.grey:
            image = Image.frombytes("P", (self.width, self.height), np.ascontiguousarray(frame[..., 0]).tobytes())
            image.putpalette(self._palette_image().getpalette())  # index = grey level
            return image
        rgb = as_rgb(frame)
        ordered = self.strategy.endswith("ordered")
        dither = Image.Dither.FLOYDSTEINBERG if self.strategy.endswith("-fs") else Image.Dither.NONE
        source = Image.fromarray(self._dithered(rgb) if ordered else rgb)
        if self.shared:
            return source.quantize(palette=self._palette_image(), dither=dither)
        # Each frame's own palette, from the undithered frame, then mapped with the dither.
        own = Image.fromarray(rgb).quantize(256, method=self.quantize_method)
        return source.quantize(palette=own, dither=dither)

    def _add(self, frame: np.ndarray) -> None:
        from PIL import GifImagePlugin

        if self.count == 0:
            if self.shared and not self.grey and self.palette is None:
                self.palette = palette_from([frame])  # no sample given: the first frame decides
            self._header()
        image = self._indexed(frame)
        delay = max(1, frame_delays(self.count, self.fps, 0.01))
        for part in GifImagePlugin.getdata(image, duration=delay * 10, include_color_table=not self.shared):
            self.file.write(part)

    def _trailer(self) -> None:
        self.file.write(b";")


# --- MP4 ------------------------------------------------------------------------------------


@dataclass(eq=False)
class Mp4Writer(FrameWriter):
    """H.264 through the ffmpeg binary that the imageio-ffmpeg wheel ships; frames piped in.

    RGB becomes BT.709 limited-range YUV and the stream is tagged so (primaries, transfer,
    matrix, range), so players decode it with the matrix it was encoded with. ffmpeg's exit
    status and stderr are checked: a full disk or a failed encode is an error, never a file.
    """

    comment: str | None = None
    audio: Any = None  # an ``io.audio.AudioTiming``: its source's first ``seconds`` become the sound track

    def __post_init__(self) -> None:
        import subprocess
        import tempfile

        import imageio_ffmpeg

        # x264 keeps rc-lookahead frames in flight (40 by default): ~490 MB of ffmpeg at 1080p.
        # 10 brings that to ~290 MB with the same file size on smooth morphs (measured).
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-y", "-nostdin", "-hide_banner", "-v", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}", "-r", f"{self.fps:.6g}",
            "-i", "-",
            *self._sound(),
            "-vcodec", "libx264", "-crf", str(MP4_CRF), "-rc-lookahead", "10",
            "-vf",
            "scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd+full_chroma_int,"
            "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
            "-pix_fmt", "yuv420p",
            "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
            "-movflags", "+faststart",
        ]  # fmt: skip
        if self.comment:
            cmd += ["-metadata", f"comment={self.comment}"]
        cmd += ["-f", "mp4", str(self.path)]
        # stderr goes to a file, not a pipe: a chatty ffmpeg can never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)

    def _sound(self) -> list[str]:
        """ffmpeg's options for the sound: none (``-an``), or the audio's first ``seconds`` as AAC,
        padded with silence if it ends a little early, so both streams last exactly as long."""
        if self.audio is None:
            return ["-an"]
        from .audio import ffmpeg_input

        return [
            "-i", ffmpeg_input(self.audio.source), "-map", "0:v:0", "-map", "1:a:0",
            "-c:a", "aac", "-b:a", "192k", "-af", "apad", "-t", f"{self.audio.seconds:.6f}", "-shortest",
        ]  # fmt: skip

    def _failure(self) -> UserError:
        self._stderr.seek(0)
        lines = self._stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1].strip() if lines else f"exit status {self._proc.returncode}"
        if "No space left" in reason or any("No space left" in line for line in lines):
            return UserError(
                "no space left on the device for the MP4; free some space or write elsewhere (nothing was left behind)"
            )
        return UserError(f"ffmpeg could not write the MP4: {reason}")

    def _add(self, frame: np.ndarray) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(as_rgb(frame)).tobytes())
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise self._failure() from None

    def finish(self) -> None:
        """Close ffmpeg's input and wait for it; a failed encode raises ``UserError`` with ffmpeg's reason."""
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise self._failure()
        self._stderr.close()

    def abort(self) -> None:
        """Kill ffmpeg and drop its log, never raising (an error is already on its way)."""
        with contextlib.suppress(Exception):
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(Exception):
            self._stderr.close()


# --- animated WebP -------------------------------------------------------------------------
#
# Pillow's animated-WebP save needs every frame up front, so we encode each frame as a still
# WebP (Pillow's public API) and lay the frames into the RIFF container ourselves (VP8X +
# ANIM + one ANMF chunk per frame, per Google's container spec), patching sizes at the end.


def _riff_chunk(tag: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return tag + len(payload).to_bytes(4, "little") + payload + pad


def _u24(v: int) -> bytes:
    return int(v).to_bytes(3, "little")


@dataclass(eq=False)
class WebpWriter(StreamWriter):
    """Streams an animated WebP: each frame a still WebP laid into the RIFF container as it comes."""

    loop: bool = True
    quality: int = WEBP_QUALITY
    comment: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        vp8x = bytes([0x02, 0, 0, 0]) + _u24(self.width - 1) + _u24(self.height - 1)  # 0x02: animation flag
        anim = bytes([0, 0, 0, 255]) + (0 if self.loop else 1).to_bytes(2, "little")  # opaque black, loop count
        # The recipe rides in a chunk of our own after ANIM; decoders skip chunks they do not know.
        recipe = _riff_chunk(WEBP_RECIPE_CHUNK, self.comment.encode("utf-8")) if self.comment else b""
        self.file.write(
            b"RIFF" + b"\0\0\0\0" + b"WEBP" + _riff_chunk(b"VP8X", vp8x) + _riff_chunk(b"ANIM", anim) + recipe
        )

    def _add(self, frame: np.ndarray) -> None:
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(as_rgb(frame)).save(buffer, "WEBP", quality=self.quality, method=4)
        data = buffer.getvalue()
        # The still file is RIFF....WEBP + chunks; keep the image chunks (VP8 / VP8L / ALPH).
        chunks, pos = [], 12
        while pos + 8 <= len(data):
            tag, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
            if tag in (b"VP8 ", b"VP8L", b"ALPH"):
                chunks.append(_riff_chunk(tag, data[pos + 8 : pos + 8 + size]))
            pos += 8 + size + size % 2
        duration = frame_delays(self.count, self.fps, 0.001)
        header = _u24(0) + _u24(0) + _u24(self.width - 1) + _u24(self.height - 1) + _u24(duration) + bytes([0x02])
        self.file.write(_riff_chunk(b"ANMF", header + b"".join(chunks)))  # 0x02: overwrite, do not blend

    def _trailer(self) -> None:
        size = self.file.tell() - 8  # the RIFF size, unknown until the last frame
        self.file.seek(4)
        self.file.write(size.to_bytes(4, "little"))


# --- a folder of numbered PNG frames ---------------------------------------------------------


@dataclass(eq=False)
class FrameFolderWriter(FrameWriter):
    """frame-00000.png, frame-00001.png, ... each carrying its own recipe when one is given."""

    digits: int = 5
    frame_text: Callable[[int], dict[str, str]] | None = None

    def __post_init__(self) -> None:
        self.path.mkdir()

    def _add(self, frame: np.ndarray) -> None:
        text = self.frame_text(self.count) if self.frame_text else None
        target = self.path / f"frame-{self.count:0{self.digits}d}.png"
        write_png(target, self.width, self.height, frame.shape[-1], [frame.astype(np.float32) / 255.0], text=text)


@contextlib.contextmanager
def open_animation(
    path: str | Path,
    width: int,
    height: int,
    channels: int,
    fps: float,
    loop: bool = True,
    palette_sample: Callable[[], list[np.ndarray]] | None = None,
    comment: str | None = None,
    frame_text: Callable[[int], dict[str, str]] | None = None,
    frame_count: int = 0,
    gif_strategy: str = GIF_DEFAULT_STRATEGY,
    audio: Any = None,
) -> Iterator[FrameWriter]:
    """A writer for ``path`` chosen by its extension; the file (or folder) appears only when the
    block completes. ``palette_sample`` gives small frames that span the animation's colours
    (for the GIF's shared palette); ``frame_text`` gives each PNG frame its metadata; ``audio``
    (an ``io.audio.AudioTiming``) is muxed into an MP4 as its sound track (other formats are silent:
    refused)."""
    path = Path(path)
    kind = check_animation_output(path, width, height, fps)
    if audio is not None and kind != "mp4":
        raise UserError(f"sound goes into an MP4 only; write '{path.with_suffix('.mp4')}' (GIF and WebP are silent)")
    with atomic_output(path, folder=kind == "frames") as tmp:
        if kind == "gif":
            shared = gif_strategy.startswith("global") and channels == 3
            palette = palette_from(palette_sample()) if shared and palette_sample else None
            writer: FrameWriter = GifWriter(tmp, width, height, fps, channels, loop, gif_strategy, palette, comment)
        elif kind == "mp4":
            writer = Mp4Writer(tmp, width, height, fps, comment, audio)
        elif kind == "webp":
            writer = WebpWriter(tmp, width, height, fps, loop, comment=comment)
        else:
            writer = FrameFolderWriter(tmp, width, height, fps, max(5, len(str(max(frame_count - 1, 0)))), frame_text)
        try:
            yield writer
            writer.finish()
        except BaseException:
            writer.abort()  # close the file (or stop ffmpeg) so atomic_output can remove it
            raise


def save_animation(
    path: str | Path,
    frames: Iterable[np.ndarray],
    width: int,
    height: int,
    channels: int = 3,
    fps: float = 25.0,
    **options: Any,
) -> Path:
    """Stream uint8 frames [H, W, C] into ``path`` (.gif, .mp4, .webp or a folder of PNGs), atomically.

    ``options`` go to ``open_animation`` (comment, palette_sample, gif_strategy, frame_text, and
    ``audio``: an ``io.audio.AudioTiming`` or a sound file's path, muxed into an MP4).
    """
    if isinstance(options.get("audio"), (str, Path)):  # a path: the whole file, as long as the frames
        from .audio import analyse_audio

        options["audio"] = analyse_audio(options["audio"], fps)
    with open_animation(path, width, height, channels, fps, **options) as writer:
        for frame in frames:
            writer.add(frame)
    return Path(path)
