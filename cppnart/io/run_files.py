"""Small files of a training run folder that torch-free code reads back: summary and latent stats.

The writer and the reader of each format live together here, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.schema import RANGES, loads_bounded
from ..errors import UserError
from .atomic import atomic_output
from .npy import load_npz

MAX_SUMMARY_BYTES = 1 << 20
MAX_Z = int(RANGES["z_dim"].high)

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
    """The run's summary, or {} when it has none, it is not a JSON table, or it is oversized or deep."""
    path = Path(folder) / SUMMARY_FILE
    try:
        if path.stat().st_size > MAX_SUMMARY_BYTES:
            return {}
        summary = loads_bounded(path.read_text(encoding="utf-8"), f"'{path}'")
    except (OSError, ValueError, UserError):
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
    """(mean [Z], covariance [Z, Z]) as float64; a ValueError when the file is not what we wrote
    (shapes, sizes, non-finite values, a covariance that is not symmetric positive semi-definite)."""
    arrays = load_npz(Path(folder) / STATS_FILE, ("mean", "cov"))
    mean, cov = arrays["mean"].astype(np.float64), arrays["cov"].astype(np.float64)
    if mean.ndim != 1 or not 1 <= len(mean) <= MAX_Z or cov.shape != (len(mean), len(mean)):
        raise ValueError(f"{STATS_FILE} holds mean {mean.shape} and covariance {cov.shape}")
    if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
        raise ValueError(f"{STATS_FILE} holds NaN or infinite values")
    if not np.allclose(cov, cov.T, rtol=1e-4, atol=1e-6) or np.linalg.eigvalsh(cov).min() < -1e-4 * max(
        1.0, float(np.abs(cov).max())
    ):
        raise ValueError("its covariance is not symmetric positive semi-definite")
    return mean, cov
