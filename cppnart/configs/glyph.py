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
from .schema import LEARNING_RATE, POSITIVE_STEPS, PresetHeader, Range, bounded, check_low_high, chosen, preset

GENERATOR_TYPES = ("conv", "cppn", "strokes", "ink")
PROBABILITY = Range(0.0, 1.0)
NOISE_STRENGTH = Range(0, 1e3, "noise beyond this leaves nothing of the image")
IMAGE_GENERATORS = ("conv", "ink")  # draw a fixed-size image (the "image" ONNX interface), not colour at coordinates


@dataclass(frozen=True)
class NoiseConfig:
    """The differentiable channel noise (kornia.augmentation), applied in training and eval only.

    Defaults are [Glyphs]': x + randn/4, RandomAffine(30, 0.1, 0.9-1.1, ±10) on every image,
    RandomPerspective(0.6, p 0.5). A probability of 0 (or a strength of 0) leaves a step out.
    """

    gaussian: float = bounded(
        0.25, NOISE_STRENGTH
    )  # std of additive noise, added before the geometric warps (as [Glyphs] does)
    affine_p: float = bounded(1.0, PROBABILITY)  # kornia's RandomAffine defaults to p=0.5; [Glyphs] meant every image
    degrees: float = bounded(30.0, Range(0.0, 360.0, "degrees of rotation"))
    translate: float = bounded(0.1, Range(0.0, 1.0, "a fraction of the image side"))
    scale: tuple[float, ...] = bounded((0.9, 1.1), Range(0.0, 100.0, "zoom factors", open_low=True))
    shear: float = bounded(10.0, Range(0.0, 90.0, "degrees of shear"))
    perspective: float = bounded(0.6, PROBABILITY)
    perspective_p: float = bounded(0.5, PROBABILITY)
    elastic: float = bounded(0.0, NOISE_STRENGTH)  # RandomElasticTransform alpha (displacement strength); 0 = off
    elastic_sigma: float = 8.0
    elastic_p: float = bounded(0.5, PROBABILITY)
    crop: float = bounded(
        0.0, Range(0.0, 1.0, open_high=True)
    )  # RandomResizedCrop keeps at least (1 - crop) of the area; 0 = off
    crop_p: float = bounded(0.5, PROBABILITY)
    blur: float = bounded(0.0, NOISE_STRENGTH)  # RandomGaussianBlur max sigma in pixels; 0 = off
    blur_p: float = bounded(0.5, PROBABILITY)


@dataclass(frozen=True)
class GlyphGeneratorConfig:
    """``conv``: the reference ConvTranspose2d stack; ``cppn``: a message-conditioned coordinate net;
    ``strokes``: a few Bezier strokes of ink per message, drawn at any resolution; ``ink``: marks of
    ink on white paper, drawn by resize-then-convolve layers (no checkerboard)."""

    type: str = chosen("cppn", GENERATOR_TYPES)
    # conv: message as a 1x1 map, one ConvTranspose2d(kernel 5, stride 2, padding 1) per entry
    # plus the output layer, so the side grows 1 -> 3 -> 7 -> 15 -> 31 -> 63 (the reference's 63x63).
    channels: tuple[int, ...] = bounded((128, 64, 64, 32), "width")
    negative_slope: float = 0.3  # LeakyReLU slope of the reference
    # cppn: layer 1 sees (x, y, r) * scale plus a projection of the message; every later hidden
    # layer is FiLM-modulated by the message (gamma, beta), which trained best of the conditionings we measured.
    width: int = bounded(64, "width")
    activations: tuple[str, ...] = ("sin", "tanh", "tanh", "tanh")
    scale: float = bounded(3.0, "scale")
    layout: bool = False  # cppn: the message also offsets, scales and rotates the glyph (not all centred)
    # strokes: an MLP (2 x width, tanh) maps the message to `strokes` quadratic Bezier strokes, each
    # with its width in stroke_width (a fraction of the canvas' half side), ink colour and opacity,
    # painted over one learned ground colour. Ink is bounded by construction: marks on a ground.
    strokes: int = bounded(6, Range(1, 64, "strokes per glyph, each drawn over the whole canvas"))
    stroke_width: tuple[float, ...] = bounded((0.03, 0.1), Range(0.0, 1.0, open_low=True))
    # ink: the message goes through a linear layer to a 4x4 map of channels[0]; each later entry
    # is a bilinear x2 upsample, Conv2d(k3) + BatchNorm + LeakyReLU, and a last x2 upsample and
    # conv draws the ink's opacity (and its colour for channels = 3) over white paper, so the side
    # is 4 * 2 ** len(channels). Upsampling then convolving spreads every output pixel over the
    # same number of weights, so there is no period-2 pattern for training to fight ([Checkerboard]).
    # ink_start is every pixel's opacity before training. Blank paper (0.02) grows marks where ink
    # pays; a 64x64 colour run started at 0.2, over its budget, was pressed down evenly into a pale
    # wash with coloured borders and was still one at 2,300 steps (measured), so start blank.
    ink_start: float = bounded(0.02, Range(0.0, 1.0, open_low=True, open_high=True))


@dataclass(frozen=True)
class DecoderConfig:
    """Conv2d(kernel 5, stride 2) + BatchNorm + LeakyReLU per entry, then a linear head to the message."""

    channels: tuple[int, ...] = bounded((32, 64, 64, 128), "width")
    negative_slope: float = 0.3


@dataclass(frozen=True)
class TrainConfig:
    """How a glyph run trains: steps, batch, the learning-rate schedule, the ink budget and its outputs."""

    steps: int = bounded(5000, POSITIVE_STEPS)
    batch_size: int = bounded(64, "batch_size")
    lr: float = bounded(1e-3, LEARNING_RATE)
    # After a linear warm-up, the full rate until the last `lr_decay` fraction of the run, then a
    # cosine down to lr_final. The small-rate finish is worth about +0.03 R² (glyph-64 at 20k steps);
    # decaying over the whole run instead cost glyph-quick 0.016 R² against a constant rate.
    lr_schedule: str = chosen("cosine", LR_SCHEDULES)
    lr_final: float = bounded(1e-5, "lr")
    lr_decay: float = bounded(0.25, Range(0.0, 1.0, open_low=True))
    warmup_steps: int = bounded(200, "steps")
    seed: int = 0
    sample_every: int = bounded(250, POSITIVE_STEPS)  # PNG grid of glyphs from the same fixed messages
    checkpoint_every: int = bounded(500, POSITIVE_STEPS)
    eval_every: int = bounded(250, POSITIVE_STEPS)  # R² and cosine on fresh messages under the training noise
    eval_messages: int = bounded(256, "eval_messages")
    sample_count: int = bounded(32, "sample_count")
    # Ink budget (ink generator only): each glyph's mean ink (1 - paper brightness) above this share
    # is penalised with weight ink_weight, so the message is carried by a few marks on a ground
    # rather than by a texture over the whole canvas. 0 turns it off.
    ink_budget: float = bounded(0.0, Range(0.0, 1.0, open_high=True))
    ink_weight: float = bounded(10.0, Range(0, 1e6, "a loss weight; beyond this float32 overflows"))
    # Ink is the mean of opacity ** ink_power: the smaller the power, the more a pale wash costs
    # against the same ink gathered into solid marks (0.5: a 0.12 wash is 0.35; 0.25: it is 0.59).
    ink_power: float = bounded(0.5, Range(0.0, 1.0, open_low=True))
    # The budget's weight ramps from 0 to ink_weight over these steps: the message is learnt on an
    # unconstrained canvas first, then pressed into marks. 0 = the full weight from the start.
    ink_ramp_steps: int = bounded(0, "steps")

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
        """The schedule in one line, printed at the start of a run (configs/schedule.describe_lr)."""
        return describe_lr(self.lr, self.lr_final, self.lr_schedule, self.lr_decay)


@preset("glyph")
class GlyphConfig(PresetHeader):
    """A ``glyph`` preset: the message size, the generator that draws it, the noise, the decoder and training."""

    message_size: int = bounded(64, "message_size")
    channels: int = chosen(1, (1, 3))
    image_size: int = bounded(32, "image_size")  # side of the training images (conv: must be what the stack draws)
    generator: GlyphGeneratorConfig = field(default_factory=GlyphGeneratorConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self, where: str) -> None:
        """The rules that relate fields (each field's own range is checked as it is read)."""
        if self.train.lr_final > self.train.lr:
            raise UserError(
                f"{where}: 'train.lr_final' must be between 0 and 'train.lr' ({self.train.lr:g}), "
                f"got {self.train.lr_final:g}"
            )
        gen = self.generator
        if gen.type in IMAGE_GENERATORS:
            native = native_image_size(gen.type, len(gen.channels))
            if self.image_size != native:
                raise UserError(
                    f"{where}: a {gen.type} generator with {len(gen.channels)} 'generator.channels' entries draws "
                    f"{native}x{native} images, but 'image_size' is {self.image_size}; set image_size = {native} "
                    "or change 'generator.channels'"
                )
        elif gen.type == "strokes":
            check_low_high(where, "generator.stroke_width", gen.stroke_width)
        else:
            if not gen.activations:
                raise UserError(f"{where}: 'generator.activations' needs at least one activation")
            check_activations(where, "generator.activations", gen.activations)
        for key, values in (("generator.channels", gen.channels), ("decoder.channels", self.decoder.channels)):
            if not values:
                raise UserError(f"{where}: '{key}' must be a non-empty list of positive integers")
        if self.image_size < 2 ** len(self.decoder.channels):
            raise UserError(
                f"{where}: {len(self.decoder.channels)} stride-2 decoder layers need images of at least "
                f"{2 ** len(self.decoder.channels)} pixels; 'image_size' is {self.image_size}"
            )
        if self.train.ink_budget > 0 and gen.type != "ink":
            raise UserError(
                f"{where}: 'train.ink_budget' needs generator.type = 'ink' (ink on white paper), "
                f"not '{gen.type}'; remove it or change the generator"
            )
        check_low_high(where, "noise.scale", self.noise.scale)


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
