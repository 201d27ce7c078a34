"""The pictures of a dream run: the progress strip (written as the run goes) and the sheet.

In the sheet a solution that never responded (a dead unit: no probe start moved it off zero) is a
dark red cell with a cross; one whose objective fell below its start is shown dimmed under the
same cross and labelled "fell", so a failure never passes for a result.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

DEAD, ROSE, FELL = "dead", "rose", "fell"  # a solution's outcome


def write_progress(path: Path, strips: list[np.ndarray]) -> None:
    """The log-spaced steps side by side, one row per solution (at most 8 rows)."""
    from ...render.sheets import save_sheet

    frames = np.stack(strips, axis=1)[:8]  # [N, T, C, H, W]
    n, t = frames.shape[:2]
    upscale = max(1, 96 // frames.shape[-1])
    save_sheet(path, frames.reshape(n * t, *frames.shape[2:]), cols=t, upscale=upscale, channels_last=False, gap=2)


def _cross(h: int, w: int) -> np.ndarray:
    cross = np.zeros((h, w), bool)
    idx = np.arange(min(h, w))
    cross[idx, idx * w // min(h, w)] = cross[idx, (w - 1 - idx * w // min(h, w))] = True
    return cross


def _rgb(images: np.ndarray) -> np.ndarray:
    """[N, C, H, W] -> a copy as [N, 3, H, W] (grey repeated, extra channels dropped)."""
    return np.repeat(images, 3, axis=1) if images.shape[1] == 1 else images[:, :3].copy()


def _marked(rgb: np.ndarray, outcomes: list[str]) -> np.ndarray:
    """RGB cells [N, 3, H, W] with the failed ones marked (dead: dark red; fell: dimmed; both crossed)."""
    cross = _cross(*rgb.shape[2:])
    for i, outcome in enumerate(outcomes):
        if outcome == DEAD:
            rgb[i] = np.array([0.35, 0.05, 0.05])[:, None, None]
        if outcome != ROSE:
            rgb[i] *= 0.35 if outcome == FELL else 1.0
            rgb[i][:, cross] = np.array([1.0, 0.3, 0.3])[:, None]
    return rgb


def write_sheet(
    path: Path,
    images: np.ndarray,
    outcomes: list[str],
    units: list[int],
    batch: int,
    examples: np.ndarray | None = None,
    unit_names: list[str | None] | None = None,
) -> None:
    """Every solution in a grid, labelled by unit (and its class name where ``unit_names`` has
    one); failed cells marked as the module says. With ``examples`` [N, k, C, H, W] each solution
    is a row: its picture, then its k real images."""
    from ...render.sheets import save_sheet

    pictures = _marked(_rgb(images), outcomes)
    called = unit_names or [None] * len(units)
    names = [
        f"{u}" + (f" {n}" if n else "") + ("" if o == ROSE else " none" if o == DEAD else " fell")
        for u, n, o in zip(units, called, outcomes)
    ]
    upscale = max(1, 64 // pictures.shape[-1])
    if examples is not None:
        k, (h, w) = examples.shape[1], pictures.shape[2:]
        real = _rgb(examples.reshape(-1, *examples.shape[2:])).reshape(len(units), k, 3, h, w)
        cells = np.concatenate([pictures[:, None], real], axis=1).reshape(-1, 3, h, w)
        labels = [text for name in names for text in [name] + ["real"] * k]
        save_sheet(path, cells, cols=k + 1, labels=labels, upscale=upscale, channels_last=False, background=0.1)
        return

    cols = batch if batch > 1 else min(16, max(1, math.ceil(math.sqrt(len(units)))))
    save_sheet(path, pictures, cols=cols, labels=names, upscale=upscale, channels_last=False, background=0.1)
