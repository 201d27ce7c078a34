"""Glyph presets (kind "glyph"): the inverted auto-encoder of [Glyphs], as frozen dataclasses.

A random message goes through a generator that draws an image, the noise pipeline disturbs
it, a decoder reads the message back; training minimises the MSE between the two. No torch
here: `cppnart presets` lists these in a torch-free install.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UserError
from .activations import check_activations
from .schedule import LR_SCHEDULES, describe_lr, lr_at
from .schema import check_channels, check_ranges, fields_of

GENERATOR_TYPES = ("conv", "cppn", "strokes", "ink")
IMAGE_GENERATORS = ("conv", "ink")  # draw a fixed-size image (the "image" ONNX interface), not colour at coordinates


@dataclass(frozen=True)
class NoiseConfig:
    """The differentiable channel noise (kornia.augmentation), applied in training and eval only.

    Defaults are [Glyphs]': x + randn/4, RandomAffine(30, 0.1, 0.9-1.1, ±10) on every image,
    RandomPerspective(0.6, p 0.5). A probability of 0 (or a strength of 0) leaves a step out.
    """

    gaussian: float = 0.25  # std of additive noise, added before the geometric warps (as [Glyphs] does)
    affine_p: float = 1.0  # kornia's RandomAffine defaults to p=0.5; [Glyphs] meant every image
    degrees: float = 30.0
    translate: float = 0.1
    scale: tuple[float, ...] = (0.9, 1.1)
    shear: float = 10.0
    perspective: float = 0.6
    perspective_p: float = 0.5
    elastic: float = 0.0  # RandomElasticTransform alpha (displacement strength); 0 = off
    elastic_sigma: float = 8.0
    elastic_p: float = 0.5
    crop: float = 0.0  # RandomResizedCrop keeps at least (1 - crop) of the area; 0 = off
    crop_p: float = 0.5
    blur: float = 0.0  # RandomGaussianBlur max sigma in pixels; 0 = off
    blur_p: float = 0.5


@dataclass(frozen=True)
class GlyphGeneratorConfig:
    """``conv``: the reference ConvTranspose2d stack; ``cppn``: a message-conditioned coordinate net;
    ``strokes``: a few Bezier strokes of ink per message, drawn at any resolution; ``ink``: marks of
    ink on white paper, drawn by resize-then-convolve layers (no checkerboard)."""

    type: str = "cppn"
    # conv: message as a 1x1 map, one ConvTranspose2d(kernel 5, stride 2, padding 1) per entry
    # plus the output layer, so the side grows 1 -> 3 -> 7 -> 15 -> 31 -> 63 (the reference's 63x63).
    channels: tuple[int, ...] = (128, 64, 64, 32)
    negative_slope: float = 0.3  # LeakyReLU slope of the reference
    # cppn: layer 1 sees (x, y, r) * scale plus a projection of the message; every later hidden
    # layer is FiLM-modulated by the message (gamma, beta), which trained best of the conditionings we measured.
    width: int = 64
    activations: tuple[str, ...] = ("sin", "tanh", "tanh", "tanh")
    scale: float = 3.0
    layout: bool = False  # cppn: the message also offsets, scales and rotates the glyph (not all centred)
    # strokes: an MLP (2 x width, tanh) maps the message to `strokes` quadratic Bezier strokes, each
    # with its width in stroke_width (a fraction of the canvas' half side), ink colour and opacity,
    # painted over one learned ground colour. Ink is bounded by construction: marks on a ground.
    strokes: int = 6
    stroke_width: tuple[float, ...] = (0.03, 0.1)
    # ink: the message goes through a linear layer to a 4x4 map of channels[0]; each later entry
    # is a bilinear x2 upsample, Conv2d(k3) + BatchNorm + LeakyReLU, and a last x2 upsample and
    # conv draws the ink's opacity (and its colour for channels = 3) over white paper, so the side
    # is 4 * 2 ** len(channels). Upsampling then convolving spreads every output pixel over the
    # same number of weights, so there is no period-2 pattern for training to fight ([Checkerboard]).
    # ink_start is every pixel's opacity before training. Blank paper (0.02) grows marks where ink
    # pays; a 64x64 colour run started at 0.2, over its budget, was pressed down evenly into a pale
    # wash with coloured borders and was still one at 2,300 steps (measured), so start blank.
    ink_start: float = 0.02


@dataclass(frozen=True)
class DecoderConfig:
    """Conv2d(kernel 5, stride 2) + BatchNorm + LeakyReLU per entry, then a linear head to the message."""

    channels: tuple[int, ...] = (32, 64, 64, 128)
    negative_slope: float = 0.3


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 5000
    batch_size: int = 64
    lr: float = 1e-3
    # After a linear warm-up, the full rate until the last `lr_decay` fraction of the run, then a
    # cosine down to lr_final. The small-rate finish is worth about +0.03 R² (glyph-64 at 20k steps);
    # decaying over the whole run instead cost glyph-quick 0.016 R² against a constant rate.
    lr_schedule: str = "cosine"
    lr_final: float = 1e-5
    lr_decay: float = 0.25
    warmup_steps: int = 200
    seed: int = 0
    sample_every: int = 250  # PNG grid of glyphs from the same fixed messages
    checkpoint_every: int = 500
    eval_every: int = 250  # R² and cosine on fresh messages under the training noise
    eval_messages: int = 256
    sample_count: int = 32
    # Ink budget (ink generator only): each glyph's mean ink (1 - paper brightness) above this share
    # is penalised with weight ink_weight, so the message is carried by a few marks on a ground
    # rather than by a texture over the whole canvas. 0 turns it off.
    ink_budget: float = 0.0
    ink_weight: float = 10.0
    # Ink is the mean of opacity ** ink_power: the smaller the power, the more a pale wash costs
    # against the same ink gathered into solid marks (0.5: a 0.12 wash is 0.35; 0.25: it is 0.59).
    ink_power: float = 0.5
    # The budget's weight ramps from 0 to ink_weight over these steps: the message is learnt on an
    # unconstrained canvas first, then pressed into marks. 0 = the full weight from the start.
    ink_ramp_steps: int = 0

    def ink_weight_at(self, step: int) -> float:
        """The ink budget's weight at (0-based) ``step``.

        >>> TrainConfig(ink_weight=10.0, ink_ramp_steps=100).ink_weight_at(25)
        2.5
        """
        if self.ink_ramp_steps <= 0:
            return self.ink_weight
        return self.ink_weight * min(1.0, step / self.ink_ramp_steps)

    def lr_at(self, step: int) -> float:
        """The learning rate of (0-based) ``step``: a function of the step alone, so --resume needs no state."""
        return lr_at(step, self.steps, self.lr, self.lr_final, self.lr_schedule, self.warmup_steps, self.lr_decay)

    def describe_lr(self) -> str:
        return describe_lr(self.lr, self.lr_final, self.lr_schedule, self.lr_decay)


@dataclass(frozen=True)
class GlyphConfig:
    name: str = "glyph"
    description: str = ""
    kind: str = "glyph"
    message_size: int = 64
    channels: int = 1
    image_size: int = 32  # side of the training images (conv: must be what the stack draws)
    generator: GlyphGeneratorConfig = field(default_factory=GlyphGeneratorConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self, where: str) -> None:
        positive = fields_of(
            self,
            "message_size image_size generator.width train.steps train.batch_size train.sample_every "
            "train.checkpoint_every train.eval_every train.eval_messages train.sample_count",
        )
        for key, value in positive.items():
            if value < 1:
                raise UserError(f"{where}: '{key}' must be at least 1, got {value}")
        check_ranges(where, {**positive, "train.lr": self.train.lr})
        if self.train.lr <= 0:
            raise UserError(f"{where}: 'train.lr' must be positive, got {self.train.lr}")
        if self.train.lr_schedule not in LR_SCHEDULES:
            raise UserError(
                f"{where}: 'train.lr_schedule' must be one of {', '.join(LR_SCHEDULES)}, got '{self.train.lr_schedule}'"
            )
        if not 0 <= self.train.lr_final <= self.train.lr:
            raise UserError(
                f"{where}: 'train.lr_final' must be between 0 and 'train.lr' ({self.train.lr:g}), "
                f"got {self.train.lr_final:g}"
            )
        if not 0 < self.train.lr_decay <= 1:
            raise UserError(
                f"{where}: 'train.lr_decay' (the fraction of the run spent decaying) must be in (0, 1], "
                f"got {self.train.lr_decay:g}"
            )
        if self.train.warmup_steps < 0:
            raise UserError(f"{where}: 'train.warmup_steps' must not be negative, got {self.train.warmup_steps}")
        check_channels(where, self.channels)
        gen = self.generator
        if gen.type not in GENERATOR_TYPES:
            raise UserError(f"{where}: 'generator.type' must be one of {', '.join(GENERATOR_TYPES)}, got '{gen.type}'")
        if gen.type in IMAGE_GENERATORS:
            native = native_image_size(gen.type, len(gen.channels))
            if self.image_size != native:
                raise UserError(
                    f"{where}: a {gen.type} generator with {len(gen.channels)} 'generator.channels' entries draws "
                    f"{native}x{native} images, but 'image_size' is {self.image_size}; set image_size = {native} "
                    "or change 'generator.channels'"
                )
        elif gen.type == "strokes":
            if not 1 <= gen.strokes <= 64:
                raise UserError(f"{where}: 'generator.strokes' must be between 1 and 64, got {gen.strokes}")
            low_high = gen.stroke_width
            if len(low_high) != 2 or not 0 < low_high[0] <= low_high[1] <= 1:
                raise UserError(
                    f"{where}: 'generator.stroke_width' must be [low, high] with 0 < low <= high <= 1, "
                    f"got {list(low_high)}"
                )
        else:
            if not gen.activations:
                raise UserError(f"{where}: 'generator.activations' needs at least one activation")
            check_activations(where, "generator.activations", gen.activations)
        for key, values in (("generator.channels", gen.channels), ("decoder.channels", self.decoder.channels)):
            if not values or any(v < 1 for v in values):
                raise UserError(f"{where}: '{key}' must be a non-empty list of positive integers, got {list(values)}")
        if self.image_size < 2 ** len(self.decoder.channels):
            raise UserError(
                f"{where}: {len(self.decoder.channels)} stride-2 decoder layers need images of at least "
                f"{2 ** len(self.decoder.channels)} pixels; 'image_size' is {self.image_size}"
            )
        if not 0.0 < gen.ink_start < 1.0:
            raise UserError(f"{where}: 'generator.ink_start' (an opacity) must be in (0, 1), got {gen.ink_start}")
        if not 0.0 <= self.train.ink_budget < 1.0:
            raise UserError(f"{where}: 'train.ink_budget' must be in [0, 1), got {self.train.ink_budget}")
        if self.train.ink_budget > 0 and gen.type != "ink":
            raise UserError(
                f"{where}: 'train.ink_budget' needs generator.type = 'ink' (ink on white paper), "
                f"not '{gen.type}'; remove it or change the generator"
            )
        if not 0.0 < self.train.ink_power <= 1.0:
            raise UserError(f"{where}: 'train.ink_power' must be in (0, 1], got {self.train.ink_power}")
        if self.train.ink_ramp_steps < 0:
            raise UserError(f"{where}: 'train.ink_ramp_steps' must not be negative, got {self.train.ink_ramp_steps}")
        if self.train.ink_weight < 0:
            raise UserError(f"{where}: 'train.ink_weight' must not be negative, got {self.train.ink_weight}")
        noise = self.noise
        if len(noise.scale) != 2 or not 0 < noise.scale[0] <= noise.scale[1]:
            raise UserError(f"{where}: 'noise.scale' must be [low, high] with 0 < low <= high, got {list(noise.scale)}")
        for key in ("affine_p", "perspective_p", "elastic_p", "crop_p", "blur_p", "perspective"):
            value = getattr(noise, key)
            if not 0.0 <= value <= 1.0:
                raise UserError(f"{where}: 'noise.{key}' must be between 0 and 1, got {value}")
        if not 0.0 <= noise.crop < 1.0:
            raise UserError(f"{where}: 'noise.crop' must be in [0, 1), got {noise.crop}")
        for key in ("gaussian", "degrees", "translate", "shear", "elastic", "blur"):
            if getattr(noise, key) < 0:
                raise UserError(f"{where}: 'noise.{key}' must not be negative, got {getattr(noise, key)}")


def conv_image_size(hidden_layers: int) -> int:
    """Side drawn by the conv stack: each ConvTranspose2d(k5, s2, p1) maps n -> 2n + 1, from 1x1."""
    side = 1
    for _ in range(hidden_layers + 1):
        side = 2 * side + 1
    return side


def native_image_size(generator_type: str, entries: int) -> int:
    """Side an image generator ("conv" or "ink") with ``entries`` channel entries draws."""
    return conv_image_size(entries) if generator_type == "conv" else ink_image_size(entries)


def ink_image_size(upsampling_layers: int) -> int:
    """Side drawn by the ink generator: a 4x4 map doubled by each entry of ``channels``.

    >>> ink_image_size(3)
    32
    """
    return 4 * 2**upsampling_layers
