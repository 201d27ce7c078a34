"""Small files of a training run folder that torch-free code reads back: summary and latent stats.

The writer and the reader of each format live together here, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_output

ENCODER_FILE = "encoder.onnx"
STATS_FILE = "latent_stats.npz"
SUMMARY_FILE = "summary.json"


def write_summary(folder: str | Path, summary: dict[str, Any]) -> Path:
    """``summary.json``: what a finished run measured (steps, time, scores, data)."""
    path = Path(folder) / SUMMARY_FILE
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path


def read_summary(folder: str | Path) -> dict[str, Any]:
    """The run's summary, or {} when it has none or it is not a JSON table."""
    path = Path(folder) / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def save_latent_stats(folder: str | Path, latents: np.ndarray) -> Path:
    """Fit a gaussian to encoded training latents [N, Z] and store it in the run folder."""
    latents = np.asarray(latents, dtype=np.float64)
    mean = latents.mean(axis=0)
    cov = np.cov(latents, rowvar=False)
    path = Path(folder) / STATS_FILE
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, mean=mean.astype(np.float32), cov=cov.astype(np.float32), count=np.int64(len(latents)))
    return path


def load_latent_stats(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(mean [Z], covariance [Z, Z]) as float64; a ValueError when the file is not what we wrote."""
    with np.load(Path(folder) / STATS_FILE, allow_pickle=False) as data:
        mean, cov = data["mean"].astype(np.float64), data["cov"].astype(np.float64)
    if mean.ndim != 1 or cov.shape != (len(mean), len(mean)):
        raise ValueError(f"{STATS_FILE} holds mean {mean.shape} and covariance {cov.shape}")
    return mean, cov
