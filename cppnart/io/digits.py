"""``builtin:digits``: handwriting-like digits drawn offline with Pillow, in the MNIST convention.

White ink on black, the digit fitted into a 20x20 box inside 28x28: half are strokes along
jittered spline skeletons of each digit, half are glyphs from the fonts on the machine; then
random thickness, affine warp and elastic jitter. No download, same set for the same seed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .atomic import atomic_output


# Skeletons in a unit box (x right, y down): each digit is one or more strokes of control
# points, drawn as Catmull-Rom splines through the jittered points. Several variants per
# digit (a 1 with or without a flag, an open or closed 4, a 7 with a bar) add the variety
# real handwriting has.
def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = 0.0, turn: float = 1.0, n: int = 9):
    angles = 2 * np.pi * (start + turn * np.arange(n) / (n - 1))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


SKELETONS: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [[_ellipse(0.5, 0.5, 0.34, 0.47, -0.25)], [_ellipse(0.5, 0.5, 0.28, 0.47, -0.3, 1.08)]],
    1: [
        [[(0.5, 0.02), (0.5, 0.5), (0.48, 0.98)]],
        [[(0.33, 0.18), (0.55, 0.02), (0.53, 0.5), (0.52, 0.98)]],
        [[(0.3, 0.22), (0.55, 0.02), (0.53, 0.98)], [(0.3, 0.98), (0.78, 0.98)]],
    ],
    2: [
        [[(0.15, 0.28), (0.35, 0.05), (0.65, 0.04), (0.82, 0.28), (0.6, 0.6), (0.12, 0.96), (0.5, 0.94), (0.9, 0.96)]],
        [[(0.18, 0.22), (0.5, 0.02), (0.8, 0.25), (0.55, 0.62), (0.15, 0.95), (0.9, 0.92)]],
    ],
    3: [
        [
            [
                (0.15, 0.14),
                (0.5, 0.02),
                (0.8, 0.2),
                (0.65, 0.42),
                (0.42, 0.48),
                (0.8, 0.62),
                (0.75, 0.9),
                (0.45, 0.98),
                (0.12, 0.86),
            ]
        ],
        [[(0.15, 0.05), (0.85, 0.05), (0.45, 0.42), (0.85, 0.65), (0.6, 0.97), (0.15, 0.88)]],
    ],
    4: [
        [[(0.68, 0.98), (0.68, 0.02), (0.1, 0.68), (0.92, 0.68)]],
        [[(0.25, 0.02), (0.15, 0.6), (0.9, 0.6)], [(0.7, 0.25), (0.68, 0.98)]],
    ],
    5: [
        [
            [(0.85, 0.03), (0.25, 0.03)],
            [(0.25, 0.03), (0.18, 0.45), (0.5, 0.38), (0.84, 0.58), (0.75, 0.88), (0.45, 0.98), (0.12, 0.88)],
        ],
        [[(0.82, 0.05), (0.25, 0.05), (0.2, 0.42), (0.6, 0.4), (0.85, 0.7), (0.5, 0.97), (0.15, 0.85)]],
    ],
    6: [
        [
            [
                (0.78, 0.04),
                (0.4, 0.3),
                (0.2, 0.65),
                (0.3, 0.92),
                (0.6, 0.97),
                (0.8, 0.75),
                (0.6, 0.52),
                (0.3, 0.58),
                (0.2, 0.7),
            ]
        ],
        [[(0.7, 0.02), (0.3, 0.45), (0.22, 0.85), (0.5, 0.98), (0.78, 0.8), (0.5, 0.55), (0.24, 0.75)]],
    ],
    7: [
        [[(0.1, 0.05), (0.9, 0.05), (0.55, 0.5), (0.38, 0.98)]],
        [[(0.12, 0.12), (0.88, 0.05), (0.45, 0.98)], [(0.3, 0.5), (0.75, 0.5)]],
    ],
    8: [
        [
            [
                (0.5, 0.48),
                (0.22, 0.3),
                (0.3, 0.06),
                (0.7, 0.06),
                (0.78, 0.3),
                (0.5, 0.48),
                (0.2, 0.7),
                (0.3, 0.95),
                (0.7, 0.95),
                (0.8, 0.7),
                (0.5, 0.48),
            ]
        ],
        [_ellipse(0.5, 0.26, 0.26, 0.23, 0.25), _ellipse(0.5, 0.72, 0.33, 0.26, -0.25)],
    ],
    9: [
        [_ellipse(0.48, 0.3, 0.3, 0.26, 0.0), [(0.78, 0.3), (0.72, 0.65), (0.65, 0.98)]],
        [_ellipse(0.5, 0.28, 0.28, 0.25, 0.0), [(0.78, 0.28), (0.5, 0.98)]],
    ],
}
CANVAS = 112  # strokes are drawn at 4x and box-filtered down: anti-aliased, sub-pixel strokes


def _spline(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """Catmull-Rom spline through ``points`` [K, 2] (end points repeated)."""
    p = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5
            * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    out.append(p[-2:-1])
    return np.concatenate(out)


def _fonts() -> list:
    """Font files on this machine (DejaVu and friends) plus Pillow's built-in scalable font."""
    from PIL import ImageFont

    found = []
    for folder in (
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        Path.home() / ".fonts",
        Path("/Library/Fonts"),
        Path("C:/Windows/Fonts"),
    ):
        if folder.is_dir():
            found += sorted(
                p
                for p in folder.rglob("*")
                if p.suffix.lower() in (".ttf", ".otf")
                and not any(bad in p.name for bad in ("Math", "Symbol", "Emoji", "Dingbat"))
            )
    fonts: list[Any] = []
    for path in found[:40]:
        try:
            fonts.append(ImageFont.truetype(str(path), 80))
        except OSError:
            continue
    with contextlib.suppress(TypeError):  # Pillow < 10.1 has only the tiny bitmap font: skip it
        fonts.append(ImageFont.load_default(size=80))
    return fonts


def _draw_strokes(digit: int, rng: np.random.Generator, width: float):
    from PIL import Image, ImageDraw

    variants = SKELETONS[digit]
    strokes = variants[rng.integers(len(variants))]
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    # One shared wobble for the whole digit (a hand's slant and proportion) plus per-point jitter.
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64) + rng.normal(0, 0.035, (len(stroke), 2))
        curve = _spline(points) * CANVAS * 0.8 + CANVAS * 0.1
        draw.line([tuple(p) for p in curve], fill=255, width=int(round(width)), joint="curve")
        r = width / 2  # round pen ends
        for p in (curve[0], curve[-1]):
            draw.ellipse([p[0] - r, p[1] - r, p[0] + r, p[1] + r], fill=255)
    return image


def _draw_glyph(digit: int, rng: np.random.Generator, fonts: list, width: float):
    from PIL import Image, ImageDraw

    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    font = fonts[rng.integers(len(fonts))]
    stroke = int(rng.integers(0, max(1, int(width / 2))))
    draw.text(
        (CANVAS / 2, CANVAS / 2), str(digit), fill=255, font=font, anchor="mm", stroke_width=stroke, stroke_fill=255
    )
    return image


def _affine(image, rng: np.random.Generator):
    """Random rotation, shear and anisotropic scale about the centre."""
    from PIL import Image

    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.35, 0.35)
    sx, sy = rng.uniform(0.75, 1.15), rng.uniform(0.85, 1.15)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rot @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
    inverse = np.linalg.inv(forward)  # PIL maps output pixels back to input pixels
    c = np.array([CANVAS / 2, CANVAS / 2])
    offset = c - inverse @ c
    coeffs = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    return image.transform(image.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)


def _elastic(pixels: np.ndarray, rng: np.random.Generator, alpha: float) -> np.ndarray:
    """Smooth random displacement (a coarse random field, upsampled) applied by bilinear lookup."""
    from scipy.ndimage import map_coordinates, zoom

    n = pixels.shape[0]
    coarse = rng.normal(0, alpha, (2, 4, 4))
    field = np.stack([zoom(c, n / 4, order=3) for c in coarse])
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    return map_coordinates(pixels, [yy + field[0], xx + field[1]], order=1, mode="constant")


def _fit_mnist_box(pixels: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit into a 20x20 box (aspect kept), centre by mass in 28x28, as MNIST does."""
    from PIL import Image
    from scipy.ndimage import center_of_mass, shift

    ys, xs = np.nonzero(pixels > 0.05)
    if len(ys) == 0:
        return np.zeros((28, 28), np.float32)
    crop = pixels[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = crop.shape
    k = 20.0 / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))
    out = np.zeros((28, 28), np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    out[top : top + size[1], left : left + size[0]] = small
    cy, cx = center_of_mass(out)
    out = shift(out, (14 - cy - 0.5, 14 - cx - 0.5), order=1, mode="constant")
    return np.clip(out, 0.0, 1.0).astype(np.float32)


OnProgress = Callable[[int, int], None]  # (digits drawn so far, digits to draw)
_ON_PROGRESS: ContextVar[OnProgress | None] = ContextVar("cppnart_digits_on_progress", default=None)
PROGRESS_EVERY = 100  # digits between two calls of on_progress (~0.5 s of drawing)


@contextlib.contextmanager
def reporting_progress(on_progress: OnProgress | None) -> Iterator[None]:
    """Inside, every ``synthetic_digits`` call that is not given its own ``on_progress`` reports to
    this one: for a front end several calls above the data loader (training, probes, z fit)."""
    token = _ON_PROGRESS.set(on_progress)
    try:
        yield
    finally:
        _ON_PROGRESS.reset(token)


def synthetic_digits(count: int, seed: int = 0, on_progress: OnProgress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``count`` 28x28 handwriting-like digits [count, 28, 28] in [0, 1] and their labels [count].

    Drawing takes ~4 ms a digit, so sets are cached in ``$CPPNART_CACHE`` (default
    ~/.cache/cppnart) keyed by count, seed and generator version; delete the folder to redraw.
    While it draws, ``on_progress(done, count)`` is called every 100 digits and at the end (a
    cached set calls nothing); without it, the one of an enclosing ``reporting_progress``.
    """
    cache = _cache_dir() / f"digits-v{DIGITS_VERSION}-{count}-{seed}.npz"
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                return stored["images"], stored["labels"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is redrawn below
    images, labels = _draw_digits(count, seed, on_progress or _ON_PROGRESS.get())
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cache) as tmp, open(tmp, "wb") as f:
            np.savez(f, images=images, labels=labels)
    except (OSError, UserError):
        pass  # a cache we cannot write only costs time next run
    return images, labels


DIGITS_VERSION = 1  # bump when the drawing changes, so old caches are not reused


def _cache_dir() -> Path:
    return Path(os.environ.get("CPPNART_CACHE") or Path.home() / ".cache" / "cppnart")


def _draw_digits(count: int, seed: int, on_progress: OnProgress | None = None) -> tuple[np.ndarray, np.ndarray]:
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        raise UserError(
            "builtin:digits needs scipy to draw its digits (once; they are cached): from the cppnart folder, "
            'pip install -e ".[train]" (or pip install scipy), or use an MNIST IDX file or an image folder as the data'
        )
    rng = np.random.default_rng([seed, 7])
    fonts = _fonts()
    labels = np.arange(count) % 10
    rng.shuffle(labels)
    images = np.empty((count, 28, 28), dtype=np.float32)
    for i, digit in enumerate(labels):
        width = rng.uniform(7, 16)  # pen thickness at 4x: from a fine pen to a marker
        if fonts and rng.random() < 0.4:
            image = _draw_glyph(int(digit), rng, fonts, width)
        else:
            image = _draw_strokes(int(digit), rng, width)
        pixels = np.asarray(_affine(image, rng), dtype=np.float32) / 255.0
        pixels = _elastic(pixels, rng, alpha=rng.uniform(0.0, 4.0))
        images[i] = _fit_mnist_box(pixels)
        if on_progress is not None and ((i + 1) % PROGRESS_EVERY == 0 or i + 1 == count):
            on_progress(i + 1, count)
    return images, labels.astype(np.int64)
