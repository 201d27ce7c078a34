"""Training images: image folders, MNIST IDX files and a built-in synthetic digits set.

Every loader returns an ``ImageSet``: float32 pixels [N, C, H, W] in [0, 1] (and labels when
the source has them). Bad data is a ``UserError`` naming the file: an empty folder, an image
Pillow cannot read, an IDX file with the wrong magic number, a folder of mixed sizes (unless
``resize`` is given, which centre-crops each image to a square and resizes it).

``builtin:digits`` draws handwriting-like digits offline with Pillow, in the MNIST convention
(white ink on black, the digit fitted into a 20x20 box inside 28x28): half are strokes along
jittered spline skeletons of each digit, half are glyphs from the fonts on the machine; then
random thickness, affine warp and elastic jitter. No download, same set for the same seed.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PARAM, ParamError, UserError
from .budget import check_budget

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
BUILTIN_DIGITS = "builtin:digits"
IDX_DTYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class ImageSet:
    """A loaded training set: every image in memory at one size, with labels and class names when the
    source has them (``source`` names it in messages)."""

    images: np.ndarray  # float32 [N, C, H, W] in [0, 1]
    labels: np.ndarray | None  # int64 [N] or None
    source: str
    classes: tuple[str, ...] | None = None  # class names by label (a folder's subfolders)
    available: int | None = None  # images the source holds, where ``limit`` took fewer

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)"""
        return self.images.shape[2], self.images.shape[3]


def looks_like_data_source(source: str | Path) -> bool:
    """True for what ``load_images`` reads as a set: a builtin set, a folder, an (optionally gzipped) IDX file.

    >>> looks_like_data_source("builtin:digits"), looks_like_data_source("t10k-images-idx3-ubyte.gz")
    (True, True)
    >>> looks_like_data_source("photo.jpg")
    False
    """
    text = str(source)
    name = Path(text).name.removesuffix(".gz")
    return text.startswith("builtin:") or Path(text).is_dir() or "-ubyte" in name or name.endswith(".idx")


def load_images(
    source: str | Path, channels: int = 1, resize: int | None = None, limit: int | None = None, seed: int = 0
) -> ImageSet:
    """Load ``source``: 'builtin:digits', an IDX file (.gz or not) or a folder of images.

    ``resize`` makes every image ``resize`` x ``resize`` (centre crop to a square first);
    without it a folder must hold images of one size. ``limit`` caps the number of images
    (the synthetic set draws that many; default 20000).
    """
    text = str(source)
    if text == BUILTIN_DIGITS:
        from .digits import synthetic_digits

        images, labels = synthetic_digits(limit or 20000, seed=seed)
        data = ImageSet(images[:, None], labels, text)
    elif text.startswith("builtin:"):
        raise UserError(f"unknown built-in data set '{text}'; the built-in set is '{BUILTIN_DIGITS}'")
    else:
        path = Path(text)
        if path.is_dir():
            data = _load_folder(path, channels, resize)
        elif path.is_file():
            images = read_idx(path)
            if images.ndim != 3:
                raise UserError(
                    f"IDX file '{path}' holds a {images.ndim}-dimensional array; image files have 3 "
                    "dimensions (count, rows, columns) — did you pass the labels file?"
                )
            data = ImageSet(_to_float(images)[:, None], _labels_beside(path, len(images)), text)
        else:
            raise UserError(f"data '{text}' not found; pass an image folder, an MNIST IDX file or {BUILTIN_DIGITS}")
    if limit is not None and len(data.images) > limit:
        data = ImageSet(
            data.images[:limit],
            None if data.labels is None else data.labels[:limit],
            data.source,
            data.classes,
            available=len(data.images),
        )
    images = data.images
    if images.shape[1] != channels:
        # Grey data for a colour model repeats the channel; colour for grey takes the luminance.
        images = np.repeat(images, channels, axis=1) if images.shape[1] == 1 else _luma(images)
    if resize is not None and images.shape[2:] != (resize, resize):
        images = resize_images(images, resize)
    return ImageSet(
        np.ascontiguousarray(images, dtype=np.float32), data.labels, data.source, data.classes, data.available
    )


# --- MNIST IDX ---------------------------------------------------------------------------


MAX_IDX_BYTES = 1 << 30  # 1 GiB of samples: twenty times MNIST's training images


def read_idx(path: str | Path, limit: int = MAX_IDX_BYTES) -> np.ndarray:
    """An IDX array (the MNIST format), gzipped or not: magic 0 0 <dtype> <ndim>, sizes, data.

    The header is read from the stream first and the data size it claims is checked against
    ``limit``, so a small gzip that claims (or inflates to) gigabytes is refused before it is
    inflated; then exactly that many bytes are read.
    """
    path = Path(path)
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES or not 1 <= magic[3] <= 4:
                raise UserError(
                    f"'{path}' is not an IDX file (wrong magic number {magic.hex() or 'empty'}); "
                    "pass MNIST files like train-images-idx3-ubyte(.gz), an image folder, or builtin:digits"
                )
            sizes = f.read(4 * magic[3])
            if len(sizes) != 4 * magic[3]:
                raise UserError(f"IDX file '{path}' is truncated or its sizes do not match its data")
            shape = tuple(int(d) for d in np.frombuffer(sizes, dtype=">u4"))
            dtype = np.dtype(IDX_DTYPES[magic[2]])
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > limit:
                raise UserError(f"IDX file '{path}' claims {nbytes} bytes of data ({shape}); at most {limit} are read")
            raw = f.read(nbytes)
            if len(raw) != nbytes or f.read(1):
                raise UserError(f"IDX file '{path}' is truncated or its sizes do not match its data")
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise UserError(f"cannot read IDX file '{path}': {exc}") from None
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _labels_beside(path: Path, count: int) -> np.ndarray | None:
    """MNIST ships labels as a sibling file: '...-images-idx3...' -> '...-labels-idx1...'."""
    name = path.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
    sibling = path.with_name(name)
    if name == path.name or not sibling.is_file():
        return None
    labels = read_idx(sibling)
    return labels.astype(np.int64) if labels.shape == (count,) else None


def _to_float(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    top = float(images.max()) if images.size else 1.0
    return images / top if top > 1.0 else images


# --- image folders -----------------------------------------------------------------------


def images_at(sources: list[str], channels: int, size: int, count: int) -> ImageSet:
    """``count`` images [N, C, size, size] from image files, or from one data source
    (builtin:digits, IDX, a folder), centre-cropped and resized; labels where the source has them."""
    if len(sources) == 1 and looks_like_data_source(sources[0]):
        data = load_images(sources[0], channels=channels, resize=size, limit=count)
        labels = None if data.labels is None else data.labels[:count]
        return ImageSet(data.images[:count], labels, data.source)
    planes = [np.asarray(crop_resize(open_image(path, channels), size), dtype=np.float32) / 255.0 for path in sources]
    stack = np.stack(planes)
    return ImageSet(stack[:, None] if channels == 1 else stack.transpose(0, 3, 1, 2), None, ", ".join(sources))


def open_image(path: str | Path, channels: int) -> Any:
    """A decoded PIL image in mode L (1 channel) or RGB (3); unreadable files are a UserError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as file:
            image = file.convert("L" if channels == 1 else "RGB")
            image.load()
    except FileNotFoundError:
        raise UserError(f"image '{path}' not found") from None
    except Image.DecompressionBombError as exc:
        raise UserError(f"image '{path}' is refused as a possible decompression bomb ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"cannot read image '{path}': {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    return image


def _load_folder(folder: Path, channels: int, resize: int | None) -> ImageSet:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ParamError(
            "data", f"folder '{folder}' holds no images ({', '.join(IMAGE_SUFFIXES)}); give a folder of images"
        )
    arrays: list[np.ndarray] = []
    first = None
    for file in files:
        image = open_image(file, channels)
        if resize is not None:
            image = crop_resize(image, resize)
        elif first is None:
            first = (file, image.size)
        elif image.size != first[1]:
            raise ParamError(
                "resize",
                f"images have mixed sizes: '{first[0].name}' is {first[1][0]}x{first[1][1]} but '{file.name}' is "
                f"{image.size[0]}x{image.size[1]}; give {PARAM} a side to centre-crop and resize them all",
            )
        if not arrays:  # every image is this size: the whole set must fit the memory budget
            check_budget(
                f"{len(files)} images of {image.size[0]}x{image.size[1]}",
                memory=float(len(files)) * image.size[0] * image.size[1] * channels * 4 * 2,
            )
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        arrays.append(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
    # One subfolder per class (every image one level down): the subfolder names, sorted, are the labels.
    parents = [file.relative_to(folder).parts for file in files]
    if all(len(parts) == 2 for parts in parents):
        classes = tuple(sorted({parts[0] for parts in parents}))
        labels = np.array([classes.index(parts[0]) for parts in parents], dtype=np.int64)
        return ImageSet(np.stack(arrays), labels, str(folder), classes)
    return ImageSet(np.stack(arrays), None, str(folder))


def crop_resize(image, size: int):
    """Centre-crop a PIL image to a square and resize it to size x size."""
    from PIL import Image

    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return image.resize((size, size), Image.Resampling.LANCZOS if side > size else Image.Resampling.BICUBIC)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resize a whole float set [N, C, H, W] (centre crop to square first)."""
    from PIL import Image

    out = np.empty((len(images), images.shape[1], size, size), dtype=np.float32)
    for i, image in enumerate(images):
        for c, plane in enumerate(image):
            out[i, c] = np.asarray(crop_resize(Image.fromarray(plane, mode="F"), size))
    return np.clip(out, 0.0, 1.0)


def _luma(images: np.ndarray) -> np.ndarray:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)[None, :, None, None]
    return (images[:, :3] * weights).sum(axis=1, keepdims=True)
