"""The robustness transforms every serious feature-visualisation tool applies before the target
sees an image (lucid's ``transform.standard_transforms``): reflect pad, jitter, scale, rotate.

Without them the optimiser finds high-frequency patterns that excite the unit only at one exact
pixel alignment; with them it must find a pattern that survives small moves, which is what a
person sees. The last ``polish`` fraction of a run goes without them (the image as it is shown).
"""

from __future__ import annotations

from torch import nn


def robustness(size: tuple[int, int]) -> nn.Module:
    """kornia's pad, affine jitter (rotation 8 degrees, shift 4%, scale 8%) and crop back to ``size``."""
    import kornia.augmentation as K

    pad = max(2, size[0] // 10)
    return nn.Sequential(
        K.PadTo((size[0] + 2 * pad, size[1] + 2 * pad), pad_mode="reflect"),
        K.RandomAffine(degrees=8.0, translate=(0.04, 0.04), scale=(0.92, 1.08), padding_mode="border", p=1.0),
        K.RandomCrop(size),
    )


def transforms_for(enabled: bool, size: tuple[int, int]) -> nn.Module:
    """``robustness(size)``, or the identity when transforms are off."""
    return robustness(size) if enabled else nn.Identity()
