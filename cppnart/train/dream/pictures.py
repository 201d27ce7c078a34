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


def write_sheet(path: Path, images: np.ndarray, outcomes: list[str], units: list[int], batch: int) -> None:
    """Every solution in a grid, labelled by unit; failed cells marked as the module says."""
    from ...render.sheets import save_sheet

    rgb = np.repeat(images, 3, axis=1) if images.shape[1] == 1 else images[:, :3].copy()
    h, w = rgb.shape[2:]
    cross = _cross(h, w)
    for i, outcome in enumerate(outcomes):
        if outcome == DEAD:
            rgb[i] = np.array([0.35, 0.05, 0.05])[:, None, None]
        if outcome != ROSE:
            rgb[i] *= 0.35 if outcome == FELL else 1.0
            rgb[i][:, cross] = np.array([1.0, 0.3, 0.3])[:, None]
    labels = [f"{u}" + ("" if o == ROSE else " none" if o == DEAD else " fell") for u, o in zip(units, outcomes)]
    upscale = max(1, 64 // w)
    cols = batch if batch > 1 else min(16, max(1, math.ceil(math.sqrt(len(units)))))
    save_sheet(path, rgb, cols=cols, labels=labels, upscale=upscale, channels_last=False, background=0.1)
