"""Bounded ``.npy`` / ``.npz`` reads: the header is checked before anything is allocated.

An 80-byte ``.npy`` can claim a 400 GB array; ``np.load`` would try to allocate it. Here the
header is read with ``numpy.lib.format`` first, and the array is refused unless its dtype is
plain numbers, it has no pickles, and its size fits both the limit and the file itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from ..errors import UserError

MAX_ARRAY_BYTES = 1 << 30  # 1 GiB: far above any latent batch or statistics cppnart writes


def _read_header(f: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy_format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise UserError(f"{where} is not a valid .npy array ({str(exc).splitlines()[0][:120]})") from None
    return shape, fortran, dtype


def _check(shape: tuple[int, ...], dtype: np.dtype, where: str, available: int | None, limit: int) -> None:
    if dtype.hasobject:
        raise UserError(f"{where} holds pickled Python objects; save a numeric array with np.save")
    if dtype.kind not in "biuf":
        raise UserError(f"{where} holds {dtype} values; save a numeric array with np.save")
    if len(shape) > 8:
        raise UserError(f"{where} has {len(shape)} dimensions; latents have 1 or 2")
    size = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size > limit:
        raise UserError(f"{where} claims {size} bytes of data; at most {limit} are read")
    if available is not None and size > available:
        raise UserError(f"{where} claims {size} bytes of data but holds only {available}; it is truncated")


def load_npy(path: str | Path, where: str | None = None, limit: int = MAX_ARRAY_BYTES) -> np.ndarray:
    """One numeric array from a ``.npy`` file, its header checked before allocation."""
    path = Path(path)
    where = where or f"'{path}'"
    try:
        with open(path, "rb") as f:
            shape, _, dtype = _read_header(f, where)
            _check(shape, dtype, where, path.stat().st_size - f.tell(), limit)
            f.seek(0)
            return np.load(f, allow_pickle=False)
    except OSError as exc:
        raise UserError(f"cannot read {where}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{where} is not a valid .npy array ({str(exc).splitlines()[0][:120]})") from None


def load_npz(path: str | Path, names: tuple[str, ...], limit: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz``, each member's size and header checked before it is inflated."""
    import zipfile  # here: only .npz readers need it (2 ms of every command's start otherwise)

    path = Path(path)
    where = f"'{path}'"
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in names:
                try:
                    info = archive.getinfo(f"{name}.npy")
                except KeyError:
                    raise UserError(f"{where} has no array '{name}'") from None
                if info.file_size > limit:
                    raise UserError(f"{where}: '{name}' inflates to {info.file_size} bytes; at most {limit} are read")
                with archive.open(info) as f:
                    shape, _, dtype = _read_header(f, f"{where} ('{name}')")
                    _check(shape, dtype, f"{where} ('{name}')", info.file_size, limit)
                with archive.open(info) as f:  # from the start again: read_array reads the header itself
                    out[name] = np.asarray(npy_format.read_array(f, allow_pickle=False))
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UserError(f"{where} is not a valid .npz archive ({str(exc).splitlines()[0][:120]})") from None
    return out
