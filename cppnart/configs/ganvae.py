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
from .schema import check_channels, check_choice, check_positive, check_ranges, fields_of

SCHEDULES = ("stable", "reference")


@dataclass(frozen=True)
class CPPNGeneratorConfig:
    """The CPPN generator: layer 0 mixes scale*(x, y, r, z); then ``depth - 1`` more layers."""

    width: int = 128
    depth: int = 4
    activations: tuple[str, ...] = ("softplus", "tanh", "tanh", "tanh")  # one per layer
    output: str = "sigmoid"
    scale: float = 8.0


@dataclass(frozen=True)
class EncoderConfig:
    width: int = 512
    layers: int = 2


@dataclass(frozen=True)
class DiscriminatorConfig:
    channels: tuple[int, ...] = (24, 48, 96)  # one strided 5x5 conv per entry
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

    kind: str = "stable"
    steps: int = 20000  # batches
    batch: int = 100
    lr: float = 1e-3  # encoder + generator (stable); the reference's VAE rate is lr_vae
    lr_d: float = 2e-4
    beta1: float = 0.5
    warmup_steps: int = 2000
    kl_anneal_steps: int = 2000
    beta: float = 1.0  # the KL weight reached after kl_anneal_steps (below 1 keeps more detail in reconstructions)
    adv_weight: float = 0.1
    # reference-only knobs (the reference's numbers)
    lr_g: float = 0.01
    lr_vae: float = 1e-4
    vae_steps: int = 4
    g_steps: int = 4
    g_stop: float = 0.6
    d_min: float = 0.6
    g_max: float = 0.75


@dataclass(frozen=True)
class GanVaeConfig:
    name: str = "ganvae"
    description: str = ""
    kind: str = "ganvae"
    z_dim: int = 32
    channels: int = 1
    data_size: int = 28  # images are brought to data_size x data_size ...
    crop: int = 26  # ... and trained on random crop x crop windows (the CPPN draws crop x crop)
    data_limit: int = 20000  # most images used (and the size of builtin:digits)
    generator: CPPNGeneratorConfig = field(default_factory=CPPNGeneratorConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    sample_every: int = 500
    checkpoint_every: int = 500
    sample_count: int = 64
    upscale_size: int = 256  # the second sample sheet renders the same latents this large
    seed: int = 0

    def validate(self, where: str) -> None:
        check_positive(
            where,
            fields_of(
                self,
                "z_dim data_size crop data_limit generator.width generator.depth generator.scale "
                "encoder.width encoder.layers schedule.steps schedule.batch schedule.lr schedule.lr_d "
                "sample_every checkpoint_every sample_count upscale_size",
            ),
        )
        check_channels(where, self.channels)
        if self.crop > self.data_size:
            raise UserError(f"{where}: 'crop' ({self.crop}) must not exceed 'data_size' ({self.data_size})")
        gen = self.generator
        check_layers(where, gen.activations, gen.depth, gen.output, "generator.")
        if not self.discriminator.channels or min(self.discriminator.channels) < 1:
            raise UserError(f"{where}: 'discriminator.channels' needs at least one positive entry")
        check_choice(where, "schedule.kind", self.schedule.kind, SCHEDULES)
        # The reference schedule's inner loops run these many steps per batch: 0 would train nothing.
        check_positive(
            where, {"schedule.vae_steps": self.schedule.vae_steps, "schedule.g_steps": self.schedule.g_steps}
        )
        if self.schedule.adv_weight < 0 or self.schedule.warmup_steps < 0 or self.schedule.kl_anneal_steps < 0:
            raise UserError(
                f"{where}: 'schedule.adv_weight', 'warmup_steps' and 'kl_anneal_steps' must not be negative"
            )
        if not self.schedule.beta > 0:
            raise UserError(
                f"{where}: 'schedule.beta' (the final KL weight) must be positive, got {self.schedule.beta}; "
                "0 would make the latents no longer N(0, I), so samples would not look like the data"
            )


@dataclass(frozen=True)
class FitConfig:
    """Fit one image: CPPN over (x, y, r) or over Fourier features of (x, y)."""

    name: str = "fit"
    description: str = ""
    kind: str = "fit"
    channels: int = 3
    max_side: int = 256  # the image is fitted at this size (longer side); renders go any size
    width: int = 128
    depth: int = 4  # hidden layers after the input layer
    activations: tuple[str, ...] = ("tanh",)  # hidden layers (one name for all, or one per layer)
    output: str = "sigmoid"
    scale: float = 2.0  # multiplies x, y, r (without Fourier features)
    fourier_features: int = 0  # m: sin and cos of m random projections of (x, y); 0 = plain CPPN
    fourier_scale: float = 10.0  # std of the projection frequencies (cycles across [-1, 1] / 2 pi)
    steps: int = 2000
    batch_pixels: int = 16384  # pixels per step (0 = the whole image)
    lr: float = 2e-3
    lr_final: float = 1e-4  # cosine decay to this
    sample_every: int = 250
    checkpoint_every: int = 500
    render_scale: int = 4  # render.png at this multiple of the fitted size
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.activations) == 1 and self.depth > 1:
            object.__setattr__(self, "activations", tuple(self.activations) * self.depth)

    def lr_at(self, step: int) -> float:
        """Cosine from ``lr`` to ``lr_final`` over the whole run, a function of the step alone."""
        return lr_at(step, self.steps, self.lr, self.lr_final, "cosine", warmup=0, decay=1.0)

    def validate(self, where: str) -> None:
        check_positive(
            where,
            fields_of(
                self,
                "max_side width depth scale steps lr sample_every checkpoint_every render_scale fourier_scale",
            ),
        )
        check_channels(where, self.channels)
        check_layers(where, self.activations, self.depth, self.output)
        check_ranges(where, {"fourier_features": self.fourier_features, "batch_pixels": self.batch_pixels})
        if self.fourier_features < 0 or self.batch_pixels < 0 or self.lr_final < 0:
            raise UserError(f"{where}: 'fourier_features', 'batch_pixels' and 'lr_final' must not be negative")
