"""Output files: atomic writes and the streaming PNG writer with recipe metadata.

Everything cppnart writes goes to a temporary name in the target folder and is renamed into
place only when complete, so Ctrl-C or an error never leaves a truncated file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import png

from .errors import UserError

PNG_COMPRESSION = 6  # zlib level: 9 costs seconds on a poster for a few percent


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise UserError(f"output folder '{folder}' does not exist; create it first or choose another output path")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write to folder '{folder}' (permission denied); choose another output path")


def check_writable(path: str | Path) -> Path:
    """Fail early, before any work, when ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"output path '{path}' is a folder; give a file name")
    _check_folder(path.parent if str(path.parent) else Path("."))
    return path


def check_new_folder(path: str | Path) -> Path:
    """Fail early when ``path`` cannot become a new folder of outputs (it may exist, empty)."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(f"output folder '{path}' already exists and is not empty; choose a new folder name")
    _check_folder(path.parent if str(path.parent) else Path("."))
    return path


@contextlib.contextmanager
def atomic_output(path: str | Path, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it over ``path`` on success.

    With ``folder`` the caller fills a temporary folder that replaces an empty or missing one.
    On any exception, KeyboardInterrupt included, the temporary file (or folder) is removed and
    ``path`` is left as it was.
    """
    path = check_new_folder(path) if folder else check_writable(path)
    tmp = path.with_name(f".{path.stem}.tmp-{secrets.token_hex(4)}{path.suffix}")
    try:
        yield tmp
        if tmp.is_dir() != folder:
            raise RuntimeError(f"atomic_output(folder={folder}) was given a {'folder' if tmp.is_dir() else 'file'}")
        if folder and path.is_dir():
            path.rmdir()  # checked empty beforehand; rename cannot replace a folder on every OS
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


def quantize(values: np.ndarray, bits: int = 8) -> np.ndarray:
    """Floats in [0, 1] -> uint8 or uint16, rounding to nearest."""
    top = 255 if bits == 8 else 65535
    scaled = np.clip(values, 0.0, 1.0) * np.float32(top) + np.float32(0.5)
    return scaled.astype(np.uint8 if bits == 8 else np.uint16)


class _TextPNGWriter(png.Writer):
    """pypng's streaming writer plus tEXt chunks placed before the image data.

    Placing them before IDAT lets readers (Pillow's ``Image.open(...).info``) see the recipe
    without decoding a possibly enormous image.
    """

    def __init__(self, *args, text: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.text = text or {}

    def write_preamble(self, outfile) -> None:
        super().write_preamble(outfile)
        for key, value in self.text.items():
            png.write_chunk(outfile, b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))


def write_png(
    path: str | Path,
    width: int,
    height: int,
    channels: int,
    bands: Iterable[np.ndarray],
    bits: int = 8,
    text: dict[str, str] | None = None,
    compression: int = PNG_COMPRESSION,
) -> Path:
    """Stream float bands [rows, width, channels] in [0, 1], top to bottom, into a PNG file.

    Memory stays at one band plus zlib's window however large the image is.
    """
    writer = _TextPNGWriter(
        width, height, greyscale=channels == 1, alpha=False, bitdepth=bits, compression=compression, text=text
    )
    dtype = ">u1" if bits == 8 else ">u2"  # PNG stores 16-bit samples big-endian

    def packed_rows() -> Iterator[bytes]:
        seen = 0
        for band in bands:
            data = quantize(band, bits).astype(dtype, copy=False)
            for row in data:
                yield row.tobytes()
            seen += data.shape[0]
        if seen != height:
            raise RuntimeError(f"rendered {seen} rows for a {height}-row image")

    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        writer.write_packed(f, packed_rows())
    return Path(path)


def open_own_image(path: str | Path):
    """Open a PNG cppnart made, however large: Pillow's decompression-bomb guard is for
    untrusted files, and a 30000x30000 poster of ours is not one."""
    from PIL import Image

    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        image = Image.open(path)
        image.size  # noqa: B018 - header parsed while the guard is lifted
        return image
    finally:
        Image.MAX_IMAGE_PIXELS = old
