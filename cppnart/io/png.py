"""PNG files: the streaming, parallel writer with recipe metadata, quantisation, and opening our own posters.

The writer is the encoder pigz is for gzip, made for PNG. Rows are filtered in numpy (per row,
the one of the five PNG filters with the smallest sum of absolute values, libpng's heuristic and
Pillow's), then cut into blocks of about a megabyte that worker threads compress at the same
time as independent raw-deflate blocks. Each block is primed with the 32 KiB before it as a
dictionary, so it may refer back across the cut exactly as a single stream would, and ends on a
sync flush (the last one on a finish), so the blocks joined are one valid zlib stream; the
Adler-32 checksums of the blocks are combined. Each block becomes one IDAT chunk.

zlib and numpy release the GIL, so blocks compress on other cores while the calling thread
renders the next band (onnxruntime releases it too). At most ``2 x threads`` blocks are in flight:
memory stays flat however large the image.
"""

from __future__ import annotations

import functools
import importlib
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from .atomic import atomic_output

if TYPE_CHECKING:
    from concurrent.futures import Future

try:  # zlib-ng writes the same deflate streams as zlib, several times faster (bench/encode_png.py)
    _deflate: Any = importlib.import_module("zlib_ng.zlib_ng")
except ImportError:
    _deflate = zlib

# zlib level. Measured on a 2880x1800 classic poster (bench/encode_png.py, CPU seconds, busy 2-core
# machine): with zlib-ng, level 5 writes Pillow's level-6 size (1.53 vs 1.52 MB) in 0.21 CPU s where
# Pillow takes 0.55 and our level 6 0.31 for 4% less; level 9 costs 2.6 s for 14% less. Encoding
# shares the cores with the renderer, so its CPU is the price of a poster: level 5.
PNG_COMPRESSION = 5
BLOCK_BYTES = 1 << 20  # raw bytes per compressed block: ~1% cost at most from the cuts, enough blocks to share
WINDOW = 1 << 15  # deflate's window: the dictionary each block is primed with
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> grey, grey+alpha, RGB, RGBA
_ADLER_BASE = 65521


def quantize(values: np.ndarray, bits: int = 8) -> np.ndarray:
    """Floats in [0, 1] -> uint8 or uint16, rounding to nearest."""
    scaled = np.clip(values, 0.0, 1.0)  # the one temporary: scaled in place
    scaled *= np.float32(255 if bits == 8 else 65535)
    scaled += np.float32(0.5)
    return scaled.astype(np.uint8 if bits == 8 else np.uint16)


def write_png(
    path: str | Path,
    width: int,
    height: int,
    channels: int,
    bands: Iterable[np.ndarray],
    bits: int = 8,
    text: dict[str, str] | None = None,
    compression: int = PNG_COMPRESSION,
    threads: int | None = None,
) -> Path:
    """Stream float bands [rows, width, channels] in [0, 1], top to bottom, into a PNG file.

    Bands may have any number of rows; together they must make exactly ``height`` rows. ``text``
    becomes UTF-8 iTXt chunks placed before the image data (readers see it without decoding
    the image). ``threads`` compress blocks beside the caller (default: one per core). Memory
    stays at a few blocks per thread however large the image; the file appears under ``path``
    only when complete.
    """
    if width < 1 or height < 1:
        raise ValueError(f"a PNG is at least 1x1 pixels, got {width}x{height}")
    if channels not in _COLOUR_TYPE:
        raise ValueError(f"channels must be 1-4, got {channels}")
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(_SIGNATURE)
        _chunk(f, b"IHDR", struct.pack(">IIBBBBB", width, height, bits, _COLOUR_TYPE[channels], 0, 0, 0))
        for key, value in (text or {}).items():
            _chunk(f, b"iTXt", itxt(key, value))
        _write_image(f, width, height, channels, bands, bits, compression, threads or _cores())
        _chunk(f, b"IEND", b"")
    return Path(path)


def encode_small_png(pixels: np.ndarray, compress_level: int = 6) -> bytes:
    """uint8 pixels [h, w, C] (C = 1, 3 or 4) -> PNG bytes in memory, through Pillow: for small images
    (tiles, thumbnails, frames for the page, sheets) one call is all it takes, and the streaming
    encoder above is for band-by-band posters. The one place cppnart writes a PNG with Pillow."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
        buffer, format="PNG", compress_level=compress_level
    )
    return buffer.getvalue()


def itxt(key: str, value: str) -> bytes:
    """The body of an uncompressed iTXt chunk: a Latin-1 keyword, then UTF-8 text."""
    keyword = key.encode("latin-1")
    if not 1 <= len(keyword) <= 79:
        raise ValueError(f"PNG text keywords are 1-79 Latin-1 bytes, got {key!r}")
    return keyword + b"\0\0\0" + b"\0" + b"\0" + value.encode("utf-8")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _chunk(f: BinaryIO, kind: bytes, data: bytes) -> None:
    f.write(struct.pack(">I", len(data)) + kind)
    f.write(data)
    f.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def _write_image(
    f: BinaryIO,
    width: int,
    height: int,
    channels: int,
    bands: Iterable[np.ndarray],
    bits: int,
    level: int,
    threads: int,
) -> None:
    """Quantise, filter and compress the bands into IDAT chunks, ``threads`` blocks at a time."""
    stride = width * channels * bits // 8
    block_rows = max(1, BLOCK_BYTES // stride)
    new_future: Callable[[], Any]
    pool_of: Callable[..., Any]
    if threads == 1 or height <= block_rows:  # one block, or one thread: encode each block here
        new_future, pool_of = _Done, _OnThisThread
    else:  # concurrent.futures brings logging: ~4 ms of a tiny render's start, so only when it helps
        from concurrent.futures import Future, ThreadPoolExecutor

        new_future, pool_of = Future, functools.partial(ThreadPoolExecutor, thread_name_prefix="png")
    bpp = channels * bits // 8
    header = bytes([0x78, {0: 0x01, 1: 0x01, 2: 0x5E, 3: 0x5E, 4: 0x5E, 5: 0x5E, 6: 0x9C}.get(level, 0xDA)])
    in_flight: deque[tuple[Any, bool]] = deque()
    adler, seen, previous_tail = 1, 0, None
    previous_row: np.ndarray | None = None  # the float row above the next block (the filters look up)
    pending: list[np.ndarray] = []  # rows not yet given to a block (bands smaller than a block)
    pending_rows = 0

    def flush(last: bool) -> None:
        nonlocal previous_row, previous_tail, pending, pending_rows
        rows = pending[0] if len(pending) == 1 else np.concatenate(pending)
        tail: Any = new_future()
        job = pool.submit(_encode_block, rows, previous_row, bits, bpp, level, previous_tail, tail, last)
        in_flight.append((job, last))
        previous_row, previous_tail, pending, pending_rows = rows[-1], tail, [], 0

    def write_oldest() -> None:
        nonlocal adler, header
        job, last = in_flight.popleft()
        data, block_adler, raw_length = job.result()
        adler = _adler32_combine(adler, block_adler, raw_length)
        _chunk(f, b"IDAT", header + data + (struct.pack(">I", adler) if last else b""))
        header = b""

    with pool_of(max_workers=threads) as pool:
        try:
            for band in bands:
                band = np.asarray(band)
                if band.ndim == 2 and channels == 1:
                    band = band[..., None]
                if band.ndim != 3 or band.shape[1:] != (width, channels):
                    raise ValueError(f"bands must be [rows, {width}, {channels}], got {list(band.shape)}")
                if seen + band.shape[0] > height:
                    raise RuntimeError(f"rendered more than {height} rows for a {height}-row image")
                done = 0
                while done < band.shape[0]:
                    piece = band[done : done + block_rows - pending_rows]
                    pending.append(piece)
                    pending_rows += piece.shape[0]
                    done += piece.shape[0]
                    seen += piece.shape[0]
                    if pending_rows == block_rows or seen == height:
                        flush(last=seen == height)
                    while len(in_flight) > 2 * threads:
                        write_oldest()
            if seen != height:
                raise RuntimeError(f"rendered {seen} rows for a {height}-row image")
            while in_flight:
                write_oldest()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


class _Done:
    """A value that is there at once: the Future of a block encoded on the caller's thread."""

    def __init__(self) -> None:
        self._value: Any = None

    def set_result(self, value: Any) -> None:
        self._value = value

    def set_exception(self, error: BaseException) -> None:
        pass  # raised by the call itself, before anyone asks for the result

    def result(self) -> Any:
        return self._value


class _OnThisThread:
    """A pool of no threads (``submit`` runs the job now), for images of one block and ``threads=1``:
    the same blocks in the same order, so the same bytes as the thread pool writes."""

    def __init__(self, max_workers: int) -> None:
        del max_workers

    def __enter__(self) -> _OnThisThread:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, job: Callable[..., Any], *args: Any) -> _Done:
        done = _Done()
        done.set_result(job(*args))
        return done

    def shutdown(self, wait: bool, cancel_futures: bool) -> None:
        pass


def _encode_block(
    rows: np.ndarray,
    above: np.ndarray | None,
    bits: int,
    bpp: int,
    level: int,
    previous_tail: Future | _Done | None,
    tail: Future | _Done,
    last: bool,
) -> tuple[bytes, int, int]:
    """One block: quantise and filter its rows, then deflate them primed with the 32 KiB before.

    Returns the raw-deflate bytes, the Adler-32 of the filtered bytes and their length. Sets
    ``tail`` to the last 32 KiB of the filtered stream so far, for the next block.
    """
    try:
        raw = _samples(rows, bits)
        up = None if above is None else _samples(above[None], bits)[0]
        filtered = filter_rows(raw, up, bpp).tobytes()
        before = b"" if previous_tail is None else previous_tail.result()
        tail.set_result((before + filtered)[-WINDOW:] if len(filtered) < WINDOW else filtered[-WINDOW:])
    except BaseException as error:
        tail.set_exception(error)  # the next block waits on this one: never leave it hanging
        raise
    if before:
        compressor = _deflate.compressobj(level, _deflate.DEFLATED, -15, zdict=before)
    else:
        compressor = _deflate.compressobj(level, _deflate.DEFLATED, -15)
    data = compressor.compress(filtered) + compressor.flush(_deflate.Z_FINISH if last else _deflate.Z_SYNC_FLUSH)
    return data, zlib.adler32(filtered), len(filtered)


def _samples(rows: np.ndarray, bits: int) -> np.ndarray:
    """Float rows [R, W, C] -> PNG sample bytes [R, W*C*bits/8] (16-bit big-endian), quantised a
    block's worth of columns at a time so that a very wide row needs no float copy of itself."""
    n, width, channels = rows.shape
    dtype = np.dtype(">u1" if bits == 8 else ">u2")  # PNG stores 16-bit samples big-endian
    out = np.empty((n, width * channels), dtype=dtype)
    step = max(1, BLOCK_BYTES // (n * channels * dtype.itemsize))
    for x in range(0, width, step):
        out[:, x * channels : (x + step) * channels] = quantize(rows[:, x : x + step], bits).reshape(n, -1)
    return out.view(np.uint8)


def filter_rows(raw: np.ndarray, above: np.ndarray | None, bpp: int) -> np.ndarray:
    """PNG-filter rows [R, S] of bytes: each row gets the filter (None, Sub, Up, Average, Paeth)
    with the smallest sum of absolute values as signed bytes. Returns [R, 1 + S], the filter type first.

    ``above`` is the unfiltered row before the first (None at the top of the image). Rows wider
    than a block are filtered in slices of columns, their costs summed over the slices, so the
    temporaries stay at a few blocks however wide the image.
    """
    n, s = raw.shape
    step = s if n * s <= 2 * BLOCK_BYTES else max(1, BLOCK_BYTES // n)
    spans = [(x, min(s, x + step)) for x in range(0, s, step)]
    out = np.empty((n, s + 1), dtype=np.uint8)
    if len(spans) == 1:
        candidates = _candidates(raw, above, bpp, 0, s)
        out[:, 0] = choice = _costs(candidates).argmin(axis=0)  # ties go to the lower type, as in libpng
        _select(out, choice, candidates, 0)
        return out
    costs = sum(_costs(_candidates(raw, above, bpp, x0, x1)) for x0, x1 in spans)
    out[:, 0] = choice = np.asarray(costs).argmin(axis=0)
    for x0, x1 in spans:  # filtered again, slice by slice, rather than keeping five copies of the row
        _select(out, choice, _candidates(raw, above, bpp, x0, x1), x0)
    return out


def _candidates(raw: np.ndarray, above: np.ndarray | None, bpp: int, x0: int, x1: int) -> tuple[np.ndarray, ...]:
    """Columns x0:x1 of the rows under each of the five filters."""
    x = raw[:, x0:x1]
    b = np.empty_like(x)  # the byte above
    b[0] = 0 if above is None else above[x0:x1]
    b[1:] = raw[:-1, x0:x1]
    lo, hi = max(0, x0 - bpp), max(0, x1 - bpp)  # the columns bpp to the left, where they exist
    first = min(x1 - x0, max(0, bpp - x0))  # leading columns with nothing to their left
    a = np.zeros_like(x)  # the byte bpp to the left
    a[:, first:] = raw[:, lo:hi]
    c = np.zeros_like(x)  # the byte above that
    c[0, first:] = 0 if above is None else above[lo:hi]
    c[1:, first:] = raw[:-1, lo:hi]
    # Paeth predicts from p = a + b - c the one of a, b, c nearest p. Fewest passes over the block
    # (this runs for every byte of the image): |b - c| and |a - c| exactly in uint8, |a + b - 2c| in int16.
    pa = np.maximum(b, c)
    pa -= np.minimum(b, c)
    pb = np.maximum(a, c)
    pb -= np.minimum(a, c)
    pc = a.astype(np.int16)
    pc -= c
    pc += b
    pc -= c
    np.abs(pc, out=pc)
    paeth = np.where(pb <= pc, b, c)
    nearest_a = pa <= pb
    nearest_a &= pa <= pc
    np.copyto(paeth, a, where=nearest_a)
    del pa, pb, pc, nearest_a
    average = ((a.astype(np.uint16) + b) >> 1).astype(np.uint8)
    return x, x - a, x - b, x - average, x - paeth


def _costs(candidates: tuple[np.ndarray, ...]) -> np.ndarray:
    """[5, R]: per filter and row, the sum of |byte| with bytes read as signed."""
    # abs(-128) wraps to -128 in int8, which read unsigned is the right 128.
    return np.stack([np.abs(f.view(np.int8)).view(np.uint8).sum(axis=1, dtype=np.uint64) for f in candidates])


def _select(out: np.ndarray, choice: np.ndarray, candidates: tuple[np.ndarray, ...], x0: int) -> None:
    width = candidates[0].shape[1]
    for kind, f in enumerate(candidates):
        chosen = choice == kind
        if chosen.any():
            out[chosen, 1 + x0 : 1 + x0 + width] = f[chosen]


def _adler32_combine(adler1: int, adler2: int, length2: int) -> int:
    """Adler-32 of A + B from those of A and B and B's length (zlib's adler32_combine)."""
    rem = length2 % _ADLER_BASE
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % _ADLER_BASE
    sum1 = (sum1 + (adler2 & 0xFFFF) + _ADLER_BASE - 1) % _ADLER_BASE
    sum2 = (sum2 + (adler1 >> 16) + (adler2 >> 16) + _ADLER_BASE - rem) % _ADLER_BASE
    return sum1 | (sum2 << 16)


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
