"""Latents from files: ``.npy`` arrays, PNGs cppnart rendered (their recipe's z), grid sheets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..configs.recipe import check_grid_sheet, check_recipe
from ..errors import UserError
from ..io.metadata import read_grid, read_recipe
from .io import as_batch, load_z


def read_latents(path: str | Path, z_dim: int | None = None) -> np.ndarray:
    """Latents [B, Z] from a ``.npy`` file, a PNG rendered by cppnart (its recipe's z), or a
    grid sheet made by `cppnart grid` (one row per cell, in cell order)."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        if not path.is_file():
            raise UserError(f"image '{path}' not found")
        sheet = read_grid(path)
        if sheet is not None:
            sheet = check_grid_sheet(sheet, f"'{path}'")
            z = np.asarray([c["z"] for c in sheet["cells"]], dtype=np.float32)
        else:
            recipe = check_recipe(read_recipe(path), f"the recipe in '{path}'", path.parent)
            if "z" not in recipe:
                raise UserError(f"the recipe in '{path}' holds no z")
            z = np.asarray(recipe["z"], dtype=np.float32)
        return as_batch(z, z_dim if z_dim is not None else z.shape[-1], what=f"the latent in '{path}'")
    if path.suffix.lower() != ".npy":
        raise UserError(f"'{path}' is not a latent file; give a .npy file or a PNG that cppnart rendered")
    return load_z(path, z_dim)
