"""A trained GAN+VAE run's encoder and latent statistics, usable without torch.

A `cppnart train ganvae` run folder holds, beside the generator ``model.onnx``:

- ``encoder.onnx``: image [B, C, H, W] in [0, 1] -> ``z`` [B, Z], the encoder's mean (the
  reference's ``encode``), built by ``graph.encoder`` from numpy weights like the generator;
- ``latent_stats.npz``: mean [Z] and covariance [Z, Z] of the encoded training images, so
  latents can be drawn where the data actually lies ([Latent spaces]) instead of from N(0, I).

``RunEncoder.load`` applies the training preprocessing (centre crop to a square, resize to the
data size, centre crop to the training crop) and, by default, makes dark-on-light images
light-on-dark when their border is bright (MNIST digits are white ink on black).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..configs.schema import check_param
from ..errors import ParamError, UserError
from ..io.run_files import ENCODER_FILE, STATS_FILE, load_latent_stats, read_summary
from ..latent.io import latent_rng


def _run_folder(model: str | Path, needs: str, why: str) -> Path:
    """The run folder ``model`` names (the folder, or a file in it) that holds ``needs``."""
    path = Path(model)
    folder = path if path.is_dir() else path.parent
    if not (folder / needs).is_file():
        raise UserError(
            f"{why} needs a GAN+VAE run folder holding {needs}; '{model}' has none "
            "(give the run folder `cppnart train ganvae` wrote)"
        )
    return folder


class RunEncoder:
    """The encoder of a run folder, in onnxruntime."""

    def __init__(self, model: str | Path, device: str = "auto") -> None:
        import onnx

        from .onnx_checks import check_encoder
        from .runtime import create_session

        self.folder = _run_folder(model, ENCODER_FILE, "encoding")
        where = self.folder / ENCODER_FILE
        try:
            data = where.read_bytes()
            proto = onnx.load_from_string(data)
        except Exception:
            raise UserError(f"'{where}' is corrupt; train the run again") from None
        fields = check_encoder(proto, str(where))
        self.channels, self.crop, self.data_size, self.z_dim = (
            fields["channels"],
            fields["crop"],
            fields["data_size"],
            fields["z_dim"],
        )
        self.session = create_session(data, device)
        self._check_shapes(where)

    def _check_shapes(self, where: Path) -> None:
        """The metadata's image side against the graph's own (``check_encoder`` checks the channels and
        z): a file whose metadata lies is refused here, not by onnxruntime in the middle of the work."""
        shape = self.session.get_inputs()[0].shape
        sides = [d for d in shape[2:4] if isinstance(d, int) and d > 0]
        if any(side != self.crop for side in sides):
            raise UserError(
                f"'{where}' says it reads {self.crop}x{self.crop} images but its graph takes {shape}; "
                "its metadata is wrong: train or export the run again"
            )

    def encode(self, images: np.ndarray) -> np.ndarray:
        """images [B, C, crop, crop] float in [0, 1] -> z [B, Z]."""
        try:
            return self.session.run(None, {"image": np.ascontiguousarray(images, dtype=np.float32)})[0]
        except Exception as exc:  # onnxruntime's own error types: a graph that does not take what it claims
            raise UserError(
                f"the encoder in '{self.folder}' cannot read {self.crop}x{self.crop} images as its metadata says "
                f"({str(exc).splitlines()[0][:200]}); train or export the run again"
            ) from None

    def load(self, path: str | Path, invert: bool | None = None) -> np.ndarray:
        """One image file -> [C, crop, crop] as the encoder saw its training data."""
        from ..io.images import crop_resize, open_image

        image = open_image(path, self.channels)
        pixels = np.asarray(crop_resize(image, self.data_size), dtype=np.float32) / 255.0
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        if invert is None:  # auto: a bright border means dark ink on light paper
            border = np.concatenate(
                [pixels[:, 0].ravel(), pixels[:, -1].ravel(), pixels[:, :, 0].ravel(), pixels[:, :, -1].ravel()]
            )
            invert = float(border.mean()) > 0.5
        if invert:
            pixels = 1.0 - pixels
        off = (self.data_size - self.crop) // 2
        return pixels[:, off : off + self.crop, off : off + self.crop]


def sample_from_data(model: str | Path, seed: int, count: int = 1) -> np.ndarray:
    """Latents [count, Z] from the gaussian fitted to a run's encoded training data."""
    folder = _run_folder(model, STATS_FILE, "sampling from the data")
    try:
        mean, cov = load_latent_stats(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"'{folder / STATS_FILE}' is damaged ({exc}); train the run again") from None
    check_param("count", count)
    check_param("seed", seed)
    # Cholesky of the (slightly regularised) covariance: z = mean + L eps, eps ~ N(0, I) from the seed.
    try:
        chol = np.linalg.cholesky(cov + 1e-6 * np.eye(len(mean)))
    except np.linalg.LinAlgError:
        raise UserError(f"'{folder / STATS_FILE}' holds a covariance that is not positive definite") from None
    eps = latent_rng(seed).standard_normal((count, len(mean)))
    z = (mean + eps @ chol.T).astype(np.float32)
    if not np.isfinite(z).all():
        raise UserError(f"'{folder / STATS_FILE}' gives latents that overflow float32; train the run again")
    return z


def run_images(
    encoder: RunEncoder, data: str | None, count: int, last: bool = True
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``count`` images [N, C, crop, crop] of ``data`` (default: the run's own, drawn as in
    training: its limit and seed) as the encoder reads them, their labels where the data has
    some, and the data's name. ``last``: the last ``count`` (the run's held-out 500), else the first."""
    from ..io.images import load_images, resize_images

    if count < 1:
        raise ParamError("count", f"must be at least 1, got {count}")
    summary = read_summary(encoder.folder)
    if data is None:
        data = summary.get("data")
        if not isinstance(data, str) or len(data) > 4096:
            raise ParamError("data", f"is needed: '{encoder.folder}' has no summary.json naming its data")
    limit, data_seed = summary.get("data_limit"), summary.get("data_seed")
    same_data = data == summary.get("data")
    limit = limit if same_data and type(limit) is int and 1 <= limit <= 10_000_000 else None
    data_seed = data_seed if same_data and type(data_seed) is int and 0 <= data_seed < 2**63 else 0
    found = load_images(data, encoder.channels, limit=limit, seed=data_seed)
    pick = slice(-count, None) if last else slice(0, count)
    images = found.images[pick]
    labels = None if found.labels is None else np.asarray(found.labels)[pick]
    if images.shape[-1] != encoder.data_size:
        images = resize_images(images, encoder.data_size)
    off = (encoder.data_size - encoder.crop) // 2
    return images[:, :, off : off + encoder.crop, off : off + encoder.crop], labels, data


def data_latents(
    model: str | Path, data: str | None = None, count: int = 2000
) -> tuple[np.ndarray, np.ndarray | None, str, RunEncoder]:
    """The encoder's latents [N, Z] of ``count`` images of ``data`` (default: the run's own),
    their labels where known, the data's name and the encoder."""
    encoder = RunEncoder(model)
    images, labels, source = run_images(encoder, data, count, last=False)
    z = np.concatenate([encoder.encode(images[i : i + 256]) for i in range(0, len(images), 256)])
    return z.astype(np.float64), labels, source, encoder


def sample_from_mixture(model: str | Path, seed: int, count: int, components: int) -> np.ndarray:
    """Latents [count, Z] from a Gaussian mixture of ``components`` fitted (EM, seeded) to the
    encoder's latents of the run's own data: where one Gaussian spreads its mass over the gaps
    between classes, the mixture keeps to the clusters."""
    from ..latent.mixture import fit_mixture

    check_param("count", count)
    check_param("seed", seed)
    z, _, _, _ = data_latents(model)
    mixture = fit_mixture(z, components, seed=seed)
    out = mixture.sample(count, latent_rng(seed)).astype(np.float32)
    if not np.isfinite(out).all():
        raise UserError("the mixture fitted to the run's latents gives latents that overflow float32")
    return out


def reconstruction_mse(model: str | Path, data: str | None = None, count: int = 1000) -> tuple[float, int, str]:
    """MSE per pixel of (encoder mean -> generator) on the last ``count`` images of ``data``
    (default: the run's own data, whose last 500 images were held out of training)."""
    from .model import load_model

    encoder = RunEncoder(model)
    x, _, data = run_images(encoder, data, count)
    generator = load_model(encoder.folder / "model.onnx", device="cpu")
    errors = []
    for start in range(0, len(x), 100):
        part = x[start : start + 100]
        recon = generator.render(encoder.encode(part), encoder.crop, encoder.crop)  # [B, H, W, C] (or [H, W, C])
        recon = recon.reshape(len(part), encoder.crop, encoder.crop, -1).transpose(0, 3, 1, 2)
        errors.append(((recon - part) ** 2).mean(axis=(1, 2, 3)))
    return float(np.concatenate(errors).mean()), len(x), data
