"""Training recipes for trained CPPNs (kinds ``ganvae`` and ``fit``): dataclasses only, no torch.

``ganvae`` follows the reference CPPN-GAN-VAE of [Large images] (facts from its source): z 32,
scale 8 (multiplying x, y, r *and* z), generator FC(z) + FC(x) + FC(y) + FC(r) (no bias on
the coordinates), softplus then 3 tanh layers of 128, sigmoid; encoder 2 x 512 softplus to
mu / log sigma^2; discriminator 3 strided 5x5 convs (24/48/96) + linear; random 26x26 crops of
28x28 images. Its schedule is kept as ``schedule = "reference"``; the default ``"stable"``
schedule is what measured well here (see the schedule docstring in cppnart/train/ganvae.py).

``fit`` fits one image: a CPPN over (x, y, r), optionally through Fourier features first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UserError
from .activations import check_layers
from .schedule import lr_at
from .schema import LEARNING_RATE, POSITIVE_STEPS, PresetHeader, Range, bounded, chosen, preset

SCHEDULES = ("stable", "reference")
# 0 would make the latents no longer N(0, I), so samples would not look like the data.
KL_WEIGHT = Range(0.0, 1e3, "the final KL weight; 0 leaves the latents unshaped", open_low=True)


@dataclass(frozen=True)
class CPPNGeneratorConfig:
    """The CPPN generator: layer 0 mixes scale*(x, y, r, z); then ``depth - 1`` more layers."""

    width: int = bounded(128, "width")
    depth: int = bounded(4, "depth")
    activations: tuple[str, ...] = ("softplus", "tanh", "tanh", "tanh")  # one per layer
    output: str = "sigmoid"
    scale: float = bounded(8.0, "scale")


@dataclass(frozen=True)
class EncoderConfig:
    """The VAE encoder: ``layers`` dense softplus layers of ``width`` units, then mu and log sigma^2."""

    width: int = bounded(512, "width")
    layers: int = bounded(2, "layers")


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The GAN discriminator: one strided 5x5 conv per ``channels`` entry, then a linear logit."""

    channels: tuple[int, ...] = bounded((24, 48, 96), "width")  # one strided 5x5 conv per entry
    spectral_norm: bool = True  # the reference used batch norm; spectral norm keeps D's gradients tame


@dataclass(frozen=True)
class ScheduleConfig:
    """How the three networks take turns (see cppnart/train/ganvae.py).

    stable: per batch one encoder+generator step on reconstruction + beta * KL (+ an adversarial
    loss on the generator only after ``warmup_steps``, weighted so its gradient at the output
    layer is ``adv_weight`` times the reconstruction's), then one discriminator step. beta ramps
    0 -> ``beta`` over ``kl_anneal_steps``.
    reference: per batch ``vae_steps`` VAE steps, up to ``g_steps`` steps on adversarial + VAE
    loss stopping once g_loss < ``g_stop``, one D step only while d_loss > ``d_min`` and
    g_loss < ``g_max``.
    """

    kind: str = chosen("stable", SCHEDULES)
    steps: int = bounded(20000, POSITIVE_STEPS)  # batches
    batch: int = bounded(100, "batch")
    lr: float = bounded(1e-3, LEARNING_RATE)  # encoder + generator (stable); the reference's VAE rate is lr_vae
    lr_d: float = bounded(2e-4, LEARNING_RATE)
    beta1: float = 0.5
    warmup_steps: int = bounded(2000, "steps")
    kl_anneal_steps: int = bounded(2000, "steps")
    beta: float = bounded(
        1.0, KL_WEIGHT
    )  # the KL weight reached after kl_anneal_steps (below 1 keeps more detail in reconstructions)
    adv_weight: float = bounded(0.1, Range(0, 1e6, "a loss weight; beyond this float32 overflows"))
    # reference-only knobs (the reference's numbers)
    lr_g: float = 0.01
    lr_vae: float = 1e-4
    vae_steps: int = bounded(4, "vae_steps")
    g_steps: int = bounded(4, "g_steps")
    g_stop: float = 0.6
    d_min: float = 0.6
    g_max: float = 0.75


@preset("ganvae")
class GanVaeConfig(PresetHeader):
    """A ``ganvae`` preset: the data, the three networks, how they take turns, and what a run writes."""

    z_dim: int = bounded(32, "z_dim")
    channels: int = chosen(1, (1, 3))
    data_size: int = bounded(28, "data_size")  # images are brought to data_size x data_size ...
    crop: int = bounded(26, "crop")  # ... and trained on random crop x crop windows (the CPPN draws crop x crop)
    data_limit: int = bounded(20000, "data_limit")  # most images used (and the size of builtin:digits)
    generator: CPPNGeneratorConfig = field(default_factory=CPPNGeneratorConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    sample_every: int = bounded(500, POSITIVE_STEPS)
    checkpoint_every: int = bounded(500, POSITIVE_STEPS)
    sample_count: int = bounded(64, "sample_count")
    upscale_size: int = bounded(256, "upscale_size")  # the second sample sheet renders the same latents this large
    seed: int = 0

    def validate(self, where: str) -> None:
        """The rules that relate fields (each field's own range is checked as it is read)."""
        if self.crop > self.data_size:
            raise UserError(f"{where}: 'crop' ({self.crop}) must not exceed 'data_size' ({self.data_size})")
        gen = self.generator
        check_layers(where, gen.activations, gen.depth, gen.output, "generator.")
        if not self.discriminator.channels:
            raise UserError(f"{where}: 'discriminator.channels' needs at least one positive entry")


@preset("fit")
class FitConfig(PresetHeader):
    """Fit one image: CPPN over (x, y, r) or over Fourier features of (x, y)."""

    channels: int = chosen(3, (1, 3))
    max_side: int = bounded(256, "max_side")  # the image is fitted at this size (longer side); renders go any size
    width: int = bounded(128, "width")
    depth: int = bounded(4, "depth")  # hidden layers after the input layer
    activations: tuple[str, ...] = ("tanh",)  # hidden layers (one name for all, or one per layer)
    output: str = "sigmoid"
    scale: float = bounded(2.0, "scale")  # multiplies x, y, r (without Fourier features)
    fourier_features: int = bounded(
        0, "fourier_features"
    )  # m: sin and cos of m random projections of (x, y); 0 = plain CPPN
    fourier_scale: float = bounded(
        10.0, "fourier_scale"
    )  # std of the projection frequencies (cycles across [-1, 1] / 2 pi)
    steps: int = bounded(2000, POSITIVE_STEPS)
    batch_pixels: int = bounded(16384, "batch_pixels")  # pixels per step (0 = the whole image)
    lr: float = bounded(2e-3, LEARNING_RATE)
    lr_final: float = bounded(1e-4, "lr")  # cosine decay to this
    sample_every: int = bounded(250, POSITIVE_STEPS)
    checkpoint_every: int = bounded(500, POSITIVE_STEPS)
    render_scale: int = bounded(
        4, Range(1, 64, "render size factor: memory grows with its square")
    )  # render.png at this multiple of the fitted size
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.activations) == 1 and self.depth > 1:
            object.__setattr__(self, "activations", tuple(self.activations) * self.depth)

    def lr_at(self, step: int) -> float:
        """Cosine from ``lr`` to ``lr_final`` over the whole run, a function of the step alone."""
        return lr_at(step, self.steps, self.lr, self.lr_final, "cosine", warmup=0, decay=1.0)

    def validate(self, where: str) -> None:
        """The rules that relate fields: one activation per layer, and an output activation."""
        check_layers(where, self.activations, self.depth, self.output)
