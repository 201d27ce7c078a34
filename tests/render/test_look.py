"""The look measures: checkerboard energy, ink coverage and diversity behave as their names say."""

import numpy as np
import pytest

from cppnart.render.look import checkerboard_share, diversity, ground, ink_coverage


def smooth(rng, n=4, side=32):
    """Random smooth images: coarse noise upsampled bilinearly."""
    coarse = rng.random((n, 5, 5))
    t = np.linspace(0, 4, side)
    i = np.clip(t.astype(int), 0, 3)
    f = t - i
    rows = coarse[:, i] * (1 - f)[None, :, None] + coarse[:, i + 1] * f[None, :, None]
    return rows[:, :, i] * (1 - f) + rows[:, :, i + 1] * f


def test_checkerboard_separates_artefacts_from_smooth_images():
    rng = np.random.default_rng(0)
    images = smooth(rng)
    board = np.indices((32, 32)).sum(0) % 2
    assert checkerboard_share(images) < 0.01
    spoiled = images + 0.2 * (board - 0.5)
    assert checkerboard_share(spoiled) > 10 * checkerboard_share(images)
    stripes = np.tile(np.arange(32) % 2, (1, 32, 1)).astype(float)  # period 2 along x only
    assert checkerboard_share(stripes) == pytest.approx(1.0)


def test_checkerboard_handles_odd_sides_colour_and_flat_images():
    board = (np.indices((33, 31)).sum(0) % 2).astype(float)
    colour = np.stack([board, 1 - board, np.full_like(board, 0.5)], axis=-1)[None]
    assert checkerboard_share(colour) == pytest.approx(1.0)
    assert checkerboard_share(np.full((2, 8, 8), 0.3)) == 0.0


def test_ink_is_measured_against_the_ground_of_the_frame():
    white = np.ones((1, 20, 20))
    white[0, 5:15, 5:10] = 0.0  # 50 of 400 pixels
    dark = 1.0 - white  # light marks on a dark ground are ink too
    assert ink_coverage(white) == pytest.approx(50 / 400)
    assert ink_coverage(dark) == pytest.approx(50 / 400)
    assert ground(white)[0, 0] == 1.0
    mostly_ink = np.zeros((1, 20, 20))
    mostly_ink[0, [0, -1], :] = 1.0
    mostly_ink[0, :, [0, -1]] = 1.0  # a white frame around a black field: ink is the majority
    assert ink_coverage(mostly_ink) > 0.8


def test_diversity_is_zero_for_one_glyph_and_grows_with_difference():
    rng = np.random.default_rng(1)
    glyphs = rng.random((6, 16, 16))
    noisy = glyphs[None] + 0.05 * rng.standard_normal((3, 6, 16, 16))
    same = np.repeat(glyphs[:1], 6, axis=0)
    assert diversity(same, same[None] + 0.05 * rng.standard_normal((3, 6, 16, 16))) == pytest.approx(0.0)
    assert diversity(glyphs, noisy) > 3.0
    with pytest.raises(ValueError, match="at least 2"):
        diversity(glyphs[:1], noisy[:, :1])
