"""Recipes read from files made elsewhere (PNG text, GIF comments, MP4 and WebP metadata),
checked field by field before any of it is used.

A recipe is untrusted input: every field is type- and range-checked like the CLI's options, and
its ``model`` names a preset or a model file inside the recipe's own folder (or the current
one), never an arbitrary local path.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import UserError
from .schema import MAX_JSON_DEPTH, RANGES, check_ranges, json_depth

RECIPE_RANGES = {key: RANGES[key] for key in ("supersample", "seed", "zoom", "bits")}
MODEL_SUFFIXES = (".onnx", ".toml", ".json", ".xml", ".zip")  # .json/.xml/.zip: genomes
MAX_TEXT = 4096


def _number_list(value: Any, length: int | None, where: str, key: str) -> list[float]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        size = f"{length} numbers" if length is not None else "a list of numbers"
        raise UserError(f"{where}: '{key}' must be {size}, got {str(value)[:60]}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise UserError(f"{where}: '{key}' must hold finite numbers, got {str(v)[:40]}")
    return [float(v) for v in value]


def check_model_source(source: Any, where: str, folder: Path | None) -> str:
    """A preset name, or a .onnx / .toml / run folder inside ``folder`` or the current folder."""
    if not isinstance(source, str) or not source or len(source) > MAX_TEXT or "\0" in source:
        raise UserError(f"{where}: 'model' must be a preset name or a model file name, got {str(source)[:60]!r}")
    looks_like_path = "/" in source or "\\" in source or source.endswith(MODEL_SUFFIXES)
    if not looks_like_path:
        return source
    path = Path(source)
    roots = [Path.cwd().resolve()] + ([folder.resolve()] if folder is not None else [])
    candidates = [path] if path.is_absolute() else [root / path for root in roots]
    for candidate in candidates:
        resolved = candidate.resolve()
        inside = any(resolved.is_relative_to(root) for root in roots)
        kind_ok = resolved.suffix in MODEL_SUFFIXES or resolved.is_dir() or not resolved.exists()
        if inside and kind_ok:
            return str(candidate if candidate.exists() or path.is_absolute() else path)
    raise UserError(
        f"{where}: 'model' names '{source[:200]}', outside the image's folder and the current one; "
        "a recipe may only name presets and model files beside it: pass MODEL explicitly"
    )


def check_recipe(recipe: Any, where: str, folder: Path | None = None) -> dict[str, Any]:
    """The recipe with every field checked (types, ranges, nesting); a one-line error naming the field."""
    if not isinstance(recipe, dict):
        raise UserError(f"{where}: the recipe must be a table, got {type(recipe).__name__}")
    if json_depth(recipe) > MAX_JSON_DEPTH:
        raise UserError(f"{where}: the recipe nests deeper than {MAX_JSON_DEPTH} levels")
    out = dict(recipe)
    if isinstance(out.get("genome"), dict):  # the genome itself travels: 'model' is only its name
        if not (isinstance(out.get("model"), str) and len(out["model"]) <= MAX_TEXT):
            raise UserError(f"{where}: 'model' must be a short string, got {str(out.get('model'))[:60]!r}")
    elif "model" in out and out["model"] is not None:
        out["model"] = check_model_source(out["model"], where, folder)
    for key in ("preset", "version"):
        if key in out and not (isinstance(out[key], str) and len(out[key]) <= MAX_TEXT):
            raise UserError(f"{where}: '{key}' must be a short string, got {str(out[key])[:60]!r}")
    for key in ("seed", "supersample", "bits"):
        value = out.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserError(f"{where}: '{key}' must be an integer, got {str(value)[:40]!r}")
    check_ranges(where, {k: out[k] for k in RECIPE_RANGES if out.get(k) is not None}, RECIPE_RANGES)
    if out.get("bits") is not None and out["bits"] not in (8, 16):
        raise UserError(f"{where}: 'bits' must be 8 or 16, got {out['bits']}")
    if "z" in out:
        out["z"] = _number_list(out["z"], None, where, "z")
        if not 1 <= len(out["z"]) <= RANGES["z_dim"].high:
            raise UserError(f"{where}: 'z' must hold 1 to {RANGES['z_dim'].high:g} numbers, got {len(out['z'])}")
    if "res" in out and out["res"] is not None:
        res = out["res"]
        if not (isinstance(res, list) and len(res) == 2 and all(type(v) is int for v in res)):
            raise UserError(f"{where}: 'res' must be [width, height] in whole pixels, got {str(res)[:60]}")
        check_ranges(where, {"width": res[0], "height": res[1]}, RANGES)
    if "center" in out:
        out["center"] = _number_list(out["center"], 2, where, "center")
        check_ranges(where, {"center": out["center"][0]}, RANGES)
        check_ranges(where, {"center": out["center"][1]}, RANGES)
    if "genome" in out and not isinstance(out["genome"], dict):
        raise UserError(f"{where}: 'genome' must be a table, got {str(out['genome'])[:60]}")
    if out.get("tile") is not None and out["tile"] not in ("torus", "reflect"):
        raise UserError(f"{where}: 'tile' must be 'torus' or 'reflect', got {str(out['tile'])[:40]!r}")
    if "config" in out and out["config"] is not None and not isinstance(out["config"], dict):
        raise UserError(f"{where}: 'config' must be a table, got {str(out['config'])[:60]}")
    return out


MAX_SHEET_CELLS = 4096


def check_grid_sheet(sheet: Any, where: str) -> dict[str, Any]:
    """A grid sheet's metadata with every cell checked: a list of tables, each with a z of the same
    finite length, labels short strings, seeds in range."""
    if not isinstance(sheet, dict) or json_depth(sheet) > MAX_JSON_DEPTH:
        raise UserError(f"{where}: the grid metadata is damaged")
    cells = sheet.get("cells")
    if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_SHEET_CELLS:
        raise UserError(f"{where}: the grid metadata must list 1 to {MAX_SHEET_CELLS} cells")
    size = None
    for i, c in enumerate(cells):
        if not isinstance(c, dict):
            raise UserError(f"{where}: cell {i} of the grid metadata is damaged")
        z = _number_list(c.get("z"), size, where, f"cells[{i}].z")
        size = len(z)
        if not 1 <= size <= RANGES["z_dim"].high:
            raise UserError(f"{where}: 'cells[{i}].z' must hold 1 to {RANGES['z_dim'].high:g} numbers")
        if "label" in c and not (isinstance(c["label"], str) and len(c["label"]) <= MAX_TEXT):
            raise UserError(f"{where}: 'cells[{i}].label' must be a short string")
        for key in ("seed", "weights_seed"):
            if c.get(key) is not None:
                if isinstance(c[key], bool) or not isinstance(c[key], int):
                    raise UserError(f"{where}: 'cells[{i}].{key}' must be an integer")
                check_ranges(where, {"seed": c[key]}, RANGES)
    return sheet
