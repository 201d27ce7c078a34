"""The differentiable channel noise of the glyph models, built from a preset's [noise] table.

    noise = build_noise(config.noise, config.image_size)   # an nn.Module
    disturbed = noise(images)                              # [B, C, H, W] -> same shape, new draw per call

Every step is a kornia.augmentation module with its probability given explicitly (RandomAffine
would otherwise warp only half the batch). Gradients flow through all of them to the generator.
Training and evaluation only: kornia augments even in eval mode, so rendering must never pass
through this module, and nothing exported contains it.
"""

from __future__ import annotations

from typing import Any

from ..configs.glyph import NoiseConfig


def _odd(n: float) -> int:
    n = max(3, int(round(n)))
    return n if n % 2 else n + 1


def noise_steps(cfg: NoiseConfig, image_size: int) -> list:
    """The kornia modules in application order (additive noise first, as in [Glyphs])."""
    import kornia.augmentation as K

    steps: list[Any] = []  # kornia augmentations of several classes
    if cfg.gaussian > 0:
        steps.append(K.RandomGaussianNoise(mean=0.0, std=cfg.gaussian, p=1.0))
    if cfg.affine_p > 0:
        steps.append(
            K.RandomAffine(
                degrees=cfg.degrees,
                translate=(cfg.translate, cfg.translate),
                scale=(float(cfg.scale[0]), float(cfg.scale[1])),
                shear=(-cfg.shear, cfg.shear),
                p=cfg.affine_p,
            )
        )
    if cfg.perspective > 0 and cfg.perspective_p > 0:
        steps.append(K.RandomPerspective(distortion_scale=cfg.perspective, p=cfg.perspective_p))
    if cfg.elastic > 0 and cfg.elastic_p > 0:
        # The smoothing kernel must cover the displacement field's correlation length (~2 sigma each side).
        kernel = min(_odd(4 * cfg.elastic_sigma + 1), _odd(2 * image_size - 1))
        steps.append(
            K.RandomElasticTransform(
                kernel_size=(kernel, kernel),
                sigma=(cfg.elastic_sigma, cfg.elastic_sigma),
                alpha=(cfg.elastic, cfg.elastic),
                p=cfg.elastic_p,
            )
        )
    if cfg.crop > 0 and cfg.crop_p > 0:
        steps.append(K.RandomResizedCrop((image_size, image_size), scale=(1.0 - cfg.crop, 1.0), p=cfg.crop_p))
    if cfg.blur > 0 and cfg.blur_p > 0:
        steps.append(K.RandomGaussianBlur(kernel_size=_odd(4 * cfg.blur + 1), sigma=(0.1, cfg.blur), p=cfg.blur_p))
    return steps


def build_noise(cfg: NoiseConfig, image_size: int):
    """An ``nn.Sequential`` of the configured kornia augmentations (identity when all are off)."""
    import torch.nn as nn

    return nn.Sequential(*noise_steps(cfg, image_size))
