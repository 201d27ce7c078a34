"""The render path: chunking, numpy parity, resolution independence, determinism."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from cppnart.configs.presets import load_preset, preset_names
from cppnart.configs.view import View
from cppnart.graph.export import cppn_model
from cppnart.graph.numpy_forward import forward
from cppnart.graph.weights import random_weights
from cppnart.render.bands import render_array
from cppnart.render.canvas import Canvas
from cppnart.render.coords import grid
from cppnart.render.model import load_model
from cppnart.render.runtime import create_session


@pytest.fixture(scope="module")
def classic():
    return load_model("classic", seed=3)


@pytest.mark.parametrize("width, height", [(37, 23), (64, 48), (1, 5)])
@pytest.mark.parametrize("chunk_rule", ["one_row", "seven", "prime", "odd_band"])
def test_chunked_render_is_bit_identical_to_one_chunk(classic, width, height, chunk_rule):
    z = classic.sample_z(0)
    whole = render_array(classic.session, z, Canvas(width, height, chunk=10**9))
    chunk = {"one_row": width, "seven": 7, "prime": 1009, "odd_band": 3 * width + 1}[chunk_rule]
    rows = {"one_row": 1, "seven": 2, "prime": None, "odd_band": 3}[chunk_rule]
    chunked = render_array(classic.session, z, Canvas(width, height, chunk=chunk), rows)
    assert chunked.shape == (1, height, width, 3)
    assert np.array_equal(whole, chunked)


def test_batched_latents_render_like_single_ones(classic):
    z = classic.sample_z(5, count=3)
    batch = render_array(classic.session, z, Canvas(20, 12, chunk=50))
    for i in range(3):
        assert np.array_equal(batch[i], render_array(classic.session, z[i : i + 1], Canvas(20, 12, chunk=50))[0])


@pytest.mark.parametrize("name", ["classic", "softplus", "sine", "gaussian", "abs", "residual", "grey"])
def test_onnx_matches_numpy_forward(name):
    config = load_preset(name)
    weights = random_weights(config, seed=11)
    proto = cppn_model(weights, preset=name, seed=11, config={})
    onnx.checker.check_model(proto, full_check=True)
    session = create_session(proto.SerializeToString(), "cpu")
    coords = grid(29, 17, View(zoom=0.7, center=(0.3, -0.2)))
    z = np.random.default_rng(1).uniform(-1, 1, (2, config.z_dim)).astype(np.float32)
    got = session.run(["rgb"], {"coords": coords, "z": z})[0]
    want = forward(weights, coords, z)
    assert got.shape == (2, 29 * 17, config.channels)
    # float32 both sides; sine outputs of large pre-activations amplify rounding to a few 1e-5
    np.testing.assert_allclose(got, want, atol=5e-5)
    assert np.abs(got - want).mean() < 2e-6


def test_resolution_independence():
    net = load_model("classic", seed=2)
    z = net.sample_z(2)
    w, h = 48, 32
    big = net.render(z, 4 * w, 4 * h)
    down = big.reshape(h, 4, w, 4, 3).mean(axis=(1, 3))
    supersampled = net.render(z, w, h, supersample=4)
    plain = net.render(z, w, h)
    assert np.abs(down - supersampled).max() < 1e-4  # the same sub-pixel grid, averaged
    assert np.abs(down - plain).mean() < 0.02  # the same picture, minus aliasing
    assert np.abs(down - plain).mean() < np.abs(down - net.render(net.sample_z(9), w, h)).mean() / 10


def test_aspect_is_preserved_not_stretched(classic):
    z = classic.sample_z(1)
    wide = classic.render(z, 60, 20)
    square = classic.render(z, 20, 20)
    # the centre square of a 3:1 image is the square image: the shorter side spans [-1, 1]
    np.testing.assert_allclose(wide[:, 20:40], square, atol=1e-6)


def test_zoom_and_center_move_the_view(classic):
    z = classic.sample_z(1)
    full = classic.render(z, 40, 40)
    zoomed = classic.render(z, 20, 20, view=View(zoom=2.0, center=(0.5, 0.5)))
    # zoom 2 centred on (0.5, 0.5) at 20x20 samples the same points as the lower-right
    # quadrant of the 40x40 full view: [0, 1] x [0, 1] at a pitch of 0.05
    np.testing.assert_allclose(zoomed, full[20:, 20:], atol=1e-5)
    assert np.abs(zoomed - full[:20, :20]).mean() > 0.05


def test_same_seed_same_pixels_different_seed_different():
    a = load_model("classic", seed=42).render(width=24, height=16, seed=42)
    b = load_model("classic", seed=42).render(width=24, height=16, seed=42)
    c = load_model("classic", seed=43).render(width=24, height=16, seed=43)
    assert np.array_equal(a, b)
    assert np.abs(a - c).mean() > 0.05


def test_weights_are_pinned_across_machines():
    # PCG64 streams are platform independent: these numbers must never change.
    w = random_weights(load_preset("classic"), seed=0)
    np.testing.assert_allclose(w.w_coords[0, :3], [0.12573022, -0.13210486, 0.64042264], rtol=1e-6)


@pytest.mark.parametrize(
    "name", sorted(set(preset_names()) & {"classic", "softplus", "sine", "gaussian", "abs", "residual", "grey", "wide"})
)
def test_every_preset_renders_a_non_flat_image(name):
    net = load_model(name, seed=1)
    image = net.render(width=48, height=32, seed=1)
    assert image.shape == (32, 48, net.channels)
    assert image.std() > 0.08
    # not a two-colour poster either: many distinct 8-bit values
    assert len(np.unique((image * 255).astype(np.uint8))) > 40
