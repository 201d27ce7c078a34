"""Training the CPPN-GAN-VAE of [Large images] on images; export generator, encoder, latent stats.

    result = train_ganvae(config, data, Path("runs/digits"), device=torch.device("cpu"))

Two schedules (``config.schedule.kind``):

- ``reference``: the reference's per-batch loop — ``vae_steps`` VAE steps; up to ``g_steps``
  steps on (adversarial + VAE) loss over encoder and generator, stopping once g_loss < g_stop;
  one discriminator step only while d_loss > d_min and g_loss < g_max; the discriminator's fakes
  are VAE reconstructions. Measured on 2 CPU cores: it collapses to two or three digits.
- ``stable`` (default): one encoder+generator step per batch on reconstruction + beta * KL with
  beta annealed 0 -> 1 (no posterior collapse early on), a VAE-only warm-up, then an adversarial
  term on the *generator only*: its fakes are drawn from the prior, so the adversary cannot bend
  the encoder, the VAE loss keeps every digit represented, and the term's weight is rebalanced
  every step so its gradient stays ``adv_weight`` times the reconstruction's. The
  discriminator (spectral norm, non-saturating loss) trains every batch on real images against
  prior samples and reconstructions, so it never races ahead or starves.

The run folder gets ``checkpoint.pt`` (every K steps and on Ctrl-C; ``resume=True`` continues
exactly), ``samples/step-NNNNNN.png`` (fixed latents at training size) and ``-large.png``
(the same latents rendered at ``upscale_size``), ``recon.png`` at the end (data above, their
reconstructions below), ``model.onnx`` (generator), ``encoder.onnx``, ``latent_stats.npz``
and ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..configs.ganvae import GanVaeConfig
from ..configs.schema import to_dict
from ..errors import UserError
from ..graph.encoder import encoder_model
from ..graph.export import cppn_model, save_model
from ..io.images import ImageSet
from ..io.run_files import save_latent_stats
from ..latent.io import sample_z
from ..render.sheets import save_sheet
from .loop import Every
from .models.cppn import CPPN, pixel_coords
from .models.ganvae import Discriminator, Encoder, build_generator
from .onnx_export import verify_onnx
from .run import RunArgs, RunOptions, Session

HOLDOUT = 500  # images kept out of training to measure reconstruction error


@dataclass
class Nets:
    """The three networks of a GAN-VAE run and their optimizers, kept together for steps and checkpoints."""

    encoder: Encoder
    generator: CPPN
    discriminator: Discriminator
    opt_vae: torch.optim.Optimizer  # encoder + generator
    opt_g: torch.optim.Optimizer  # encoder + generator at the reference's G rate (reference schedule)
    opt_d: torch.optim.Optimizer

    def states(self) -> dict[str, Any]:
        """Every module and optimizer under the name its state has in the checkpoint."""
        return {
            "encoder": self.encoder,
            "generator": self.generator,
            "discriminator": self.discriminator,
            "opt_vae": self.opt_vae,
            "opt_g": self.opt_g,
            "opt_d": self.opt_d,
        }


def build_nets(config: GanVaeConfig, device: torch.device) -> Nets:
    """Fresh networks and Adam optimizers for ``config`` on ``device``; the VAE rate follows the schedule."""
    s = config.schedule
    encoder = Encoder(config.encoder, config.channels * config.crop * config.crop, config.z_dim).to(device)
    generator = build_generator(config).to(device)
    discriminator = Discriminator(config.discriminator, config.channels, config.crop).to(device)
    vae_params = list(encoder.parameters()) + list(generator.parameters())
    lr_vae = s.lr if s.kind == "stable" else s.lr_vae
    return Nets(
        encoder,
        generator,
        discriminator,
        opt_vae=torch.optim.Adam(vae_params, lr=lr_vae, betas=(s.beta1, 0.999)),
        opt_g=torch.optim.Adam(vae_params, lr=s.lr_g, betas=(s.beta1, 0.999)),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=s.lr_d, betas=(s.beta1, 0.999)),
    )


def random_crops(images: torch.Tensor, crop: int, generator: torch.Generator) -> torch.Tensor:
    """A random crop x crop window of every image [B, C, S, S] (the reference's 26 of 28)."""
    b, _, size, _ = images.shape
    if crop == size:
        return images
    offsets = torch.randint(0, size - crop + 1, (2, b), generator=generator)
    rows = (offsets[0][:, None] + torch.arange(crop))[:, :, None]  # [B, crop, 1]
    cols = (offsets[1][:, None] + torch.arange(crop))[:, None, :]  # [B, 1, crop]
    picked = images.permute(0, 2, 3, 1)[torch.arange(b)[:, None, None], rows, cols]  # [B, crop, crop, C]
    return picked.permute(0, 3, 1, 2).contiguous()


def centre_crops(images: torch.Tensor, crop: int) -> torch.Tensor:
    """The middle crop x crop window of every image [..., S, S]: the fixed view used for evaluation."""
    off = (images.shape[-1] - crop) // 2
    return images[..., off : off + crop, off : off + crop]


class GanVaeStep:
    """One training step (one batch) of either schedule; returns metrics for the live view."""

    def __init__(
        self, config: GanVaeConfig, nets: Nets, train: torch.Tensor, rng: torch.Generator, device: torch.device
    ) -> None:
        self.config, self.nets, self.train, self.rng, self.device = config, nets, train, rng, device
        self.coords = pixel_coords(config.crop, config.crop).to(device)
        self.pixels = config.channels * config.crop * config.crop

    # --- pieces ------------------------------------------------------------------------------
    def batch(self) -> torch.Tensor:
        """A random batch of training images, each randomly cropped, on the device."""
        idx = torch.randint(0, len(self.train), (self.config.schedule.batch,), generator=self.rng)
        return random_crops(self.train[idx], self.config.crop, self.rng).to(self.device)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's crop x crop images [B, C, crop, crop] for latents ``z`` [B, Z]."""
        return self.nets.generator.images(z, self.config.crop, self.config.crop, self.coords)

    def vae_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction loss, KL, reconstruction, z), both losses per pixel as in the reference."""
        mu, logvar = self.nets.encoder(x)
        eps = torch.randn(mu.shape, generator=self.rng).to(self.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        recon = self.decode(z)
        rec = F.binary_cross_entropy(recon.clamp(1e-6, 1 - 1e-6), x, reduction="sum") / (len(x) * self.pixels)
        kl = -0.5 * torch.sum(1 + logvar - mu * mu - logvar.exp()) / (len(x) * self.pixels)
        return rec, kl, recon, z

    def prior_z(self, count: int) -> torch.Tensor:
        """``count`` latents from the N(0, I) prior, drawn from the run's generator (so resume is exact)."""
        return torch.randn(count, self.config.z_dim, generator=self.rng).to(self.device)

    def balanced_weight(self, rec: torch.Tensor, g_loss: torch.Tensor) -> float:
        """adv_weight x |d rec / d W_out| / |d g_loss / d W_out| (as VQGAN balances its GAN term).

        A fixed weight let a confident discriminator's gradients swamp the reconstruction and
        wreck the samples within 50 steps (measured); measured at the generator's output layer,
        the adversarial push is held to ``adv_weight`` times the reconstruction's.
        """
        last = self.nets.generator.out.weight
        g_rec = torch.autograd.grad(rec, last, retain_graph=True)[0]
        g_adv = torch.autograd.grad(g_loss, last, retain_graph=True)[0]
        ratio = (g_rec.norm() / (g_adv.norm() + 1e-8)).clamp(max=1e4).item()
        return self.config.schedule.adv_weight * ratio

    @staticmethod
    def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """The discriminator's loss on logits of real and fake images."""
        # Cross-entropy with real = 1, fake = 0, averaged over both halves (0.69 = undecided).
        return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())

    # --- schedules -----------------------------------------------------------------------------
    def __call__(self, step: int) -> dict[str, float]:
        return self.stable(step) if self.config.schedule.kind == "stable" else self.reference(step)

    def stable(self, step: int) -> dict[str, float]:
        """One batch of the default schedule (see the module docstring): a VAE step with the balanced
        adversarial term after warm-up, then a discriminator step."""
        s, nets = self.config.schedule, self.nets
        x = self.batch()
        beta = s.beta * (min(1.0, step / s.kl_anneal_steps) if s.kl_anneal_steps else 1.0)
        rec, kl, recon, _ = self.vae_terms(x)
        loss = rec + beta * kl
        metrics = {"rec": rec.item(), "kl": kl.item(), "beta": beta}
        adversarial = step >= s.warmup_steps and s.adv_weight > 0
        if adversarial:
            fake = self.decode(self.prior_z(max(1, len(x) // 2)))
            g_loss = F.softplus(-nets.discriminator(fake)).mean()  # non-saturating: -log D(G(z))
            weight = self.balanced_weight(rec, g_loss)
            loss = loss + weight * g_loss
            metrics.update(g=g_loss.item(), adv=weight)
        nets.opt_vae.zero_grad(set_to_none=True)
        loss.backward()
        nets.opt_vae.step()
        if adversarial:
            fakes = torch.cat([fake.detach(), recon.detach()[: len(x) - len(fake)]])
            d_loss = self.d_loss(nets.discriminator(x), nets.discriminator(fakes))
            nets.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            nets.opt_d.step()
            metrics["d"] = d_loss.item()
        return metrics

    def reference(self, step: int) -> dict[str, float]:
        """One batch of the reference's schedule: VAE steps, generator steps until g_loss < g_stop,
        and a discriminator step only while it is not already winning (d_loss > d_min, g_loss < g_max)."""
        s, nets = self.config.schedule, self.nets
        x = self.batch()
        for _ in range(s.vae_steps):
            rec, kl, _, _ = self.vae_terms(x)
            nets.opt_vae.zero_grad(set_to_none=True)
            (rec + kl).backward()
            nets.opt_vae.step()
        g_steps = 0
        for _ in range(s.g_steps):
            rec, kl, recon, _ = self.vae_terms(x)
            g_loss = F.softplus(-nets.discriminator(recon)).mean()
            nets.opt_g.zero_grad(set_to_none=True)
            (g_loss + rec + kl).backward()
            nets.opt_g.step()
            g_steps += 1
            if g_loss.item() < s.g_stop:
                break
        with torch.no_grad():
            recon = self.vae_terms(x)[2]
        d_loss = self.d_loss(nets.discriminator(x), nets.discriminator(recon))
        d_stepped = d_loss.item() > s.d_min and g_loss.item() < s.g_max
        if d_stepped:
            nets.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            nets.opt_d.step()
        return {
            "rec": rec.item(),
            "kl": kl.item(),
            "g": g_loss.item(),
            "d": d_loss.item(),
            "g_steps": float(g_steps),
            "d_step": float(d_stepped),
        }


# --- evaluation ------------------------------------------------------------------------------


@torch.no_grad()
def reconstruction_error(nets: Nets, images: torch.Tensor, config: GanVaeConfig, device: torch.device) -> float:
    """Mean squared error per pixel of encoder-mean reconstructions of centre crops."""
    x = centre_crops(images, config.crop).to(device)
    coords = pixel_coords(config.crop, config.crop).to(device)
    errors = []
    for part in x.split(250):
        recon = nets.generator.images(nets.encoder(part)[0], config.crop, config.crop, coords)
        errors.append(((recon - part) ** 2).mean(dim=(1, 2, 3)))
    return float(torch.cat(errors).mean())


@torch.no_grad()
def encode_all(nets: Nets, images: torch.Tensor, config: GanVaeConfig, device: torch.device) -> np.ndarray:
    """The encoder's mean latent [N, Z] of every image's centre crop (the data for ``latent_stats.npz``)."""
    x = centre_crops(images, config.crop).to(device)
    return torch.cat([nets.encoder(part)[0] for part in x.split(500)]).cpu().numpy()


# --- the run -------------------------------------------------------------------------------


@dataclass
class GanVaeResult:
    """What ``train_ganvae`` returns: steps reached, seconds, held-out reconstruction error after and
    before training, and the run folder."""

    steps: int
    seconds: float
    recon_mse: float
    recon_mse_untrained: float
    out: Path


def load_training_images(source: str, config: GanVaeConfig, resize: bool) -> ImageSet:
    """Images at data_size x data_size: a folder of mixed sizes needs ``resize``; a set of one
    other size is resized as a whole."""
    from ..io.images import load_images, resize_images

    data = load_images(
        source, config.channels, resize=config.data_size if resize else None, limit=config.data_limit, seed=config.seed
    )
    if data.size != (config.data_size, config.data_size):
        data = ImageSet(
            resize_images(data.images, config.data_size), data.labels, data.source, available=data.available
        )
    if len(data.images) < 2:
        raise UserError(f"data '{source}' holds {len(data.images)} image(s); training needs at least 2")
    return data


def split_holdout(data: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    """(training, held-out) images: the last tenth of the set, at most ``HOLDOUT``, is kept out to
    measure reconstruction error on images the networks never saw."""
    images = torch.from_numpy(data.images)
    holdout = min(HOLDOUT, len(images) // 10)
    return images[: len(images) - holdout], images[len(images) - holdout :]


def train_ganvae(config: GanVaeConfig, data: ImageSet, out: Path, **options: Unpack[RunOptions]) -> GanVaeResult:
    """Train (or continue from ``payload``, a loaded checkpoint) up to ``config.schedule.steps``.

    ``options``: ``device`` and optionally ``payload``, ``callbacks``, ``export`` (``run.RunOptions``).
    """
    run = RunArgs(**options)
    device, payload, callbacks, export = run.device, run.payload, run.callbacks, run.export
    note = callbacks.note
    rng = Session.seed_torch(config.seed)  # the seed also gives spectral norm's start vectors
    nets = build_nets(config, device)
    train, holdout = split_holdout(data)
    if len(train) < 1:
        raise UserError(f"data '{data.source}' holds too few images to train on")
    session = Session(config, out, callbacks, nets.states(), {"batches": rng})
    start = session.start(payload)
    untrained = payload["extra"].get("recon_mse_untrained") if payload is not None else None
    if untrained is None:
        untrained = reconstruction_error(nets, holdout if len(holdout) else train[:500], config, device)
    fixed_z = torch.from_numpy(sample_z(config.z_dim, config.seed, "normal", config.sample_count)).to(device)
    stepper = GanVaeStep(config, nets, train, rng, device)
    session.extra = {"data": data.source, "recon_mse_untrained": untrained}

    @torch.no_grad()
    def samples(step: int) -> None:
        small = nets.generator.images(fixed_z, config.crop, config.crop)
        save_sheet(out / "samples" / f"step-{step:06d}.png", small, upscale=3, background=0.5, channels_last=False)
        big = nets.generator.images(fixed_z[:16], config.upscale_size, config.upscale_size)
        save_sheet(out / "samples" / f"step-{step:06d}-large.png", big, cols=4, background=0.5, channels_last=False)
        note(f"samples/step-{step:06d}.png")

    steps, seconds = session.run(stepper, start, config.schedule.steps, [Every(config.sample_every, samples)])
    mse = reconstruction_error(nets, holdout if len(holdout) else train[:500], config, device)
    result = GanVaeResult(steps, seconds, mse, float(untrained), out)
    if export:
        export_run(config, nets, train, holdout, out, device)
        session.summary(
            steps,
            seconds,
            device,
            {
                "recon_mse_holdout": mse,
                "recon_mse_untrained": untrained,
                "data": data.source,
                "data_limit": config.data_limit,
                "data_seed": config.seed,
                "images": len(train),
                # a set larger than data_limit is cut to it (ganvae-fashion: 20,000 of 60,000): say so
                **({"images_available": data.available} if data.available is not None else {}),
            },
        )
    return result


def export_run(
    config: GanVaeConfig, nets: Nets, train: torch.Tensor, holdout: torch.Tensor, out: Path, device: torch.device
) -> None:
    """model.onnx (checked against torch), encoder.onnx, latent_stats.npz and recon.png."""
    proto = cppn_model(
        nets.generator.to_weights(),
        preset=config.name,
        seed=config.seed,
        config=to_dict(config),
        z_prior="normal",
        kind="ganvae",
        extra={"train_size": str(config.crop)},
    )
    coords = pixel_coords(config.crop, config.crop)
    z = torch.from_numpy(sample_z(config.z_dim, 0, "normal", 4))
    verify_onnx(proto, nets.generator.cpu(), {"coords": coords, "z": z})
    nets.generator.to(device)
    save_model(proto, out / "model.onnx")

    enc = nets.encoder
    layers = [
        (layer.weight.detach().cpu().numpy().T.copy(), layer.bias.detach().cpu().numpy().copy())
        for layer in enc.body
        if isinstance(layer, nn.Linear)  # every layer of the body is (a ModuleList yields plain Modules)
    ]
    mu = (enc.mu.weight.detach().cpu().numpy().T.copy(), enc.mu.bias.detach().cpu().numpy().copy())
    save_model(
        encoder_model(
            layers, mu, channels=config.channels, crop=config.crop, data_size=config.data_size, preset=config.name
        ),
        out / "encoder.onnx",
    )
    save_latent_stats(out, encode_all(nets, train, config, device))

    show = holdout[:16] if len(holdout) >= 16 else train[:16]
    x = centre_crops(show, config.crop).to(device)
    with torch.no_grad():
        recon = nets.generator.images(nets.encoder(x)[0], config.crop, config.crop)
    labels = [name if i == 0 else "" for name in ("data", "reconstruction") for i in range(len(x))]  # rows named
    save_sheet(
        out / "recon.png",
        torch.cat([x, recon]),
        cols=len(x),
        upscale=3,
        background=0.5,
        labels=labels,
        channels_last=False,
    )
