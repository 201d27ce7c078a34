"""A trained GAN+VAE run's encoder and latent statistics, usable without torch.

A `cppnart train ganvae` run folder holds, beside the generator ``model.onnx``:

- ``encoder.onnx``: image [B, C, H, W] in [0, 1] -> ``z`` [B, Z], the encoder's mean (the
  reference's ``encode``), built here from numpy weights like the generator;
- ``latent_stats.npz``: mean [Z] and covariance [Z, Z] of the encoded training images, so
  latents can be drawn where the data actually lies (seed 004) instead of from N(0, I).

``encode_images`` applies the training preprocessing (centre crop to a square, resize to the
data size, centre crop to the training crop) and, by default, makes dark-on-light images
light-on-dark when their border is bright (MNIST digits are white ink on black).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper

from .errors import UserError
from .export import _GraphBuilder, model_proto, save_model
from .latent import latent_rng

ENCODER_FILE = "encoder.onnx"
STATS_FILE = "latent_stats.npz"


def encoder_model(layers: list[tuple[np.ndarray, np.ndarray]], mu: tuple[np.ndarray, np.ndarray], *,
                  channels: int, crop: int, data_size: int, preset: str):
    """ONNX for the softplus MLP encoder: weights as (w [in, out], b [out]) pairs."""
    g = _GraphBuilder()
    h = g.op("Flatten", "image", axis=1)
    for w, b in layers:
        h = g.op("Softplus", g.op("Add", g.op("MatMul", h, g.const("w", w)), g.const("b", b)))
    g.op("Add", g.op("MatMul", h, g.const("w_mu", mu[0])), g.const("b_mu", mu[1]), out="z")
    z_dim = mu[0].shape[1]
    graph = helper.make_graph(
        g.nodes, "encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", channels, crop, crop])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", z_dim])],
        g.initializers,
    )
    return model_proto(graph, {"kind": "encoder", "z_dim": str(z_dim), "channels": str(channels),
                               "crop": str(crop), "data_size": str(data_size), "preset": preset})


def _run_folder(model: str | Path) -> Path:
    path = Path(model)
    folder = path if path.is_dir() else path.parent
    if not (folder / ENCODER_FILE).is_file():
        raise UserError(f"'{model}' is not a GAN+VAE run folder (no {ENCODER_FILE}); "
                        "pass the --out folder of `cppnart train ganvae`")
    return folder


class RunEncoder:
    """The encoder of a run folder, in onnxruntime."""

    def __init__(self, model: str | Path, device: str = "auto") -> None:
        import onnx

        from .runtime import create_session

        self.folder = _run_folder(model)
        data = (self.folder / ENCODER_FILE).read_bytes()
        try:
            meta = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
        except Exception:
            raise UserError(f"'{self.folder / ENCODER_FILE}' is corrupt; train the run again") from None
        self.channels, self.crop, self.data_size = int(meta["channels"]), int(meta["crop"]), int(meta["data_size"])
        self.z_dim = int(meta["z_dim"])
        self.session = create_session(data, device)

    def encode(self, images: np.ndarray) -> np.ndarray:
        """images [B, C, crop, crop] float in [0, 1] -> z [B, Z]."""
        return self.session.run(None, {"image": np.ascontiguousarray(images, dtype=np.float32)})[0]

    def load(self, path: str | Path, invert: bool | None = None) -> np.ndarray:
        """One image file -> [C, crop, crop] as the encoder saw its training data."""
        from .data import crop_resize, open_image

        image = open_image(path, self.channels)
        pixels = np.asarray(crop_resize(image, self.data_size), dtype=np.float32) / 255.0
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        if invert is None:  # auto: a bright border means dark ink on light paper
            border = np.concatenate([pixels[:, 0].ravel(), pixels[:, -1].ravel(), pixels[:, :, 0].ravel(),
                                     pixels[:, :, -1].ravel()])
            invert = float(border.mean()) > 0.5
        if invert:
            pixels = 1.0 - pixels
        off = (self.data_size - self.crop) // 2
        return pixels[:, off: off + self.crop, off: off + self.crop]


def save_latent_stats(folder: str | Path, latents: np.ndarray) -> Path:
    """Fit a gaussian to encoded training latents [N, Z] and store it in the run folder."""
    from .writers import atomic_output

    latents = np.asarray(latents, dtype=np.float64)
    mean = latents.mean(axis=0)
    cov = np.cov(latents, rowvar=False)
    path = Path(folder) / STATS_FILE
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, mean=mean.astype(np.float32), cov=cov.astype(np.float32), count=np.int64(len(latents)))
    return path


def sample_from_data(model: str | Path, seed: int, count: int = 1) -> np.ndarray:
    """Latents [count, Z] from the gaussian fitted to a run's encoded training data."""
    path = Path(model)
    folder = path if path.is_dir() else path.parent
    stats = folder / STATS_FILE
    if not stats.is_file():
        raise UserError(f"--from-data needs a GAN+VAE run folder holding {STATS_FILE}; '{model}' has none "
                        "(train it with `cppnart train ganvae`)")
    with np.load(stats, allow_pickle=False) as data:
        mean, cov = data["mean"].astype(np.float64), data["cov"].astype(np.float64)
    # Cholesky of the (slightly regularised) covariance: z = mean + L eps, eps ~ N(0, I) from the seed.
    chol = np.linalg.cholesky(cov + 1e-6 * np.eye(len(mean)))
    eps = latent_rng(seed).standard_normal((count, len(mean)))
    return (mean + eps @ chol.T).astype(np.float32)


def reconstruction_mse(model: str | Path, data: str | None = None, count: int = 1000) -> tuple[float, int, str]:
    """MSE per pixel of (encoder mean -> generator) on the last ``count`` images of ``data``
    (default: the run's own data, whose last 500 images were held out of training)."""
    from .data import load_images
    from .model import load_model

    encoder = RunEncoder(model)
    summary = encoder.folder / "summary.json"
    if data is None:
        if not summary.is_file():
            raise UserError(f"'{encoder.folder}' has no summary.json naming its data; pass --data")
        data = json.loads(summary.read_text())["data"]
    if count < 1:
        raise UserError(f"--count must be at least 1, got {count}")
    images = load_images(data, encoder.channels).images
    images = images[-count:]
    if images.shape[-1] != encoder.data_size:
        from .data import resize_images

        images = resize_images(images, encoder.data_size)
    off = (encoder.data_size - encoder.crop) // 2
    x = images[:, :, off: off + encoder.crop, off: off + encoder.crop]
    generator = load_model(encoder.folder / "model.onnx", device="cpu")
    errors = []
    for start in range(0, len(x), 100):
        part = x[start: start + 100]
        recon = generator.render(encoder.encode(part), encoder.crop, encoder.crop)  # [B, H, W, C] (or [H, W, C])
        recon = recon.reshape(len(part), encoder.crop, encoder.crop, -1).transpose(0, 3, 1, 2)
        errors.append(((recon - part) ** 2).mean(axis=(1, 2, 3)))
    return float(np.concatenate(errors).mean()), len(x), data


def write_summary(folder: str | Path, summary: dict) -> Path:
    from .writers import atomic_output

    path = Path(folder) / "summary.json"
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return path


__all__ = ["ENCODER_FILE", "STATS_FILE", "RunEncoder", "encoder_model", "reconstruction_mse", "sample_from_data",
           "save_latent_stats", "save_model", "write_summary"]
