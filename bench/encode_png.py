"""PNG encoder benchmark: cppnart's writer (zlib-ng and stdlib zlib) against Pillow and pypng on the
same pixels, per zlib level: file size against Pillow's at the same level, and encoder CPU seconds.

CPU time (user + system, all threads) rather than wall time, so the figures mean something on a
busy machine; the best of a few repeats. The pixels are a 2880x1800 poster of the classic preset.

    python bench/encode_png.py
"""

from __future__ import annotations

import io
import resource
import tempfile
import time
import zlib
from pathlib import Path

from PIL import Image

import cppnart.io.png as ours
from cppnart.io.png import quantize, write_png
from cppnart.render.model import load_model

WIDTH, HEIGHT = 2880, 1800
REPEATS = 3
LEVELS = (1, 2, 3, 4, 5, 6, 9)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best(encode, level: int) -> tuple[int, float]:
    """(bytes, best CPU seconds) of an encoder returning its byte count."""
    times = []
    for _ in range(REPEATS):
        start = cpu_seconds()
        size = encode(level)
        times.append(cpu_seconds() - start)
    return size, min(times)


def main() -> None:
    import png  # pypng, the writer cppnart used before

    net = load_model("classic", 1)
    started = time.perf_counter()
    image = net.render(net.sample_z(1), WIDTH, HEIGHT)
    render_wall = time.perf_counter() - started
    pixels = quantize(image)
    bands = [image[i : i + 91] for i in range(0, HEIGHT, 91)]
    print(f"{WIDTH}x{HEIGHT} classic poster, {pixels.nbytes / 1e6:.1f} MB of pixels (rendered in {render_wall:.2f} s)")
    print(f"{'encoder':<24}{'level':>6}{'MB':>8}{'x Pillow':>10}{'CPU s':>8}")

    def pillow(level: int) -> int:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG", compress_level=level)
        return len(buffer.getvalue())

    def pypng(level: int) -> int:
        buffer = io.BytesIO()
        png.Writer(WIDTH, HEIGHT, greyscale=False, compression=level).write(buffer, pixels.reshape(HEIGHT, -1))
        return len(buffer.getvalue())

    with tempfile.TemporaryDirectory() as tmp:

        def cppnart(level: int) -> int:
            return write_png(Path(tmp) / "x.png", WIDTH, HEIGHT, 3, bands, compression=level).stat().st_size

        deflate = ours._deflate
        for level in LEVELS:
            reference, pillow_cpu = best(pillow, level)
            rows = [("Pillow", reference, pillow_cpu), ("pypng (filter 0)", *best(pypng, level))]
            for name, module in [(f"cppnart, {deflate.__name__.split('.')[0]}", deflate), ("cppnart, zlib", zlib)]:
                if name == "cppnart, zlib" and deflate is zlib:
                    continue
                ours._deflate = module
                try:
                    rows.append((name, *best(cppnart, level)))
                finally:
                    ours._deflate = deflate
            for name, size, cpu in rows:
                print(f"{name:<24}{level:>6}{size / 1e6:>8.2f}{size / reference:>10.3f}{cpu:>8.2f}")
    print(f"cppnart default level: {ours.PNG_COMPRESSION} (CPU seconds include quantising and filtering)")


if __name__ == "__main__":
    main()
