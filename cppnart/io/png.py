"""PNG files: the streaming writer with recipe metadata, quantisation, and opening our own posters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import png

from .atomic import atomic_output

PNG_COMPRESSION = 6  # zlib level: 9 costs seconds on a poster for a few percent


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
