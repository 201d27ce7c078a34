"""Seamless tiles (`--tile`): no seam in a mosaic for every preset and for a reflected model, the
same picture at twice the size, every backend of the torus front equal, and wrapping pyramids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from cppnart.cli import app
from cppnart.configs.cppn import CPPNConfig
from cppnart.configs.presets import load_preset, preset_names
from cppnart.graph.numpy_forward import forward
from cppnart.graph.periodic import reflect_coords, torus_weights
from cppnart.graph.weights import random_weights
from cppnart.render.coords import grid
from cppnart.render.model import load_model
from cppnart.render.request import resolve_picture
from cppnart.render.seamless import periods_of

CPPN_PRESETS = [n for n in preset_names() if isinstance(load_preset(n), CPPNConfig)]


def seam_ratios(image: np.ndarray) -> tuple[float, float]:
    """The mean difference across the wrap edge (last column to the first, last row to the first:
    the seams of a 2x2 mosaic) over the largest mean difference between neighbouring columns
    (rows) inside the picture. Below 1: the seam is within the range of the picture's own steps."""
    image = image.astype(np.float64)
    mosaic = np.tile(image, (2, 2, 1))
    h, w = image.shape[:2]
    cols = np.abs(np.diff(image, axis=1)).mean(axis=(0, 2))
    rows = np.abs(np.diff(image, axis=0)).mean(axis=(1, 2))
    across_x = np.abs(mosaic[:, w] - mosaic[:, w - 1]).mean()
    across_y = np.abs(mosaic[h] - mosaic[h - 1]).mean()
    return across_x / cols.max(), across_y / rows.max()


@pytest.mark.parametrize("name", CPPN_PRESETS)
def test_every_preset_tiles_without_a_seam(name):
    tiled = resolve_picture(name, seed=7, res=(144, 96), tile=True)
    assert tiled.tile == "torus"
    image = tiled.model.render(tiled.z, 144, 96, tiled.canvas.view)
    assert max(seam_ratios(image)) < 1.0, seam_ratios(image)
    assert image.std() > 0.05  # a picture, not a flat colour
    plain = resolve_picture(name, seed=7, res=(144, 96))
    if name not in ("abs", "sine"):  # these two are busy enough that any seam hides among their edges
        assert max(seam_ratios(plain.model.render(plain.z, 144, 96))) > 1.0  # the test can fail


@pytest.fixture
def onnx_file(tmp_path: Path, runner) -> Path:
    """A CPPN as a model file: it tiles by reflection (its inputs are not rebuilt)."""
    path = tmp_path / "net.onnx"
    assert runner.invoke(app, ["export", "classic", "--seed", "3", "-o", str(path), "-q"]).exit_code == 0
    return path


def test_a_model_file_tiles_by_reflection_without_a_seam(onnx_file):
    request = resolve_picture(onnx_file, seed=2, res=(128, 96), center=(0.2, -0.1), tile=True)
    assert request.tile == "reflect"
    image = request.model.render(request.z, 128, 96, request.canvas.view)
    assert max(seam_ratios(image)) < 1.0
    mirrored = image[:, ::-1][:, :64]  # the right half mirrors the left (up to float32 rounding of the fold)
    assert np.abs(image[:, :64] - mirrored).mean() < 1e-3
    plain = load_model(onnx_file).render(request.z, 128, 96, request.canvas.view)
    np.testing.assert_allclose(image[:48, :64], plain[:48, :64], atol=1e-4)  # the top-left quarter is the model's own


def test_a_tiled_render_at_twice_the_size_is_the_same_picture():
    for name in ("classic", "sine"):
        small = resolve_picture(name, seed=4, res=(96, 64), tile=True)
        large = resolve_picture(name, seed=4, res=(192, 128), tile=True)
        assert periods_of(small.canvas) == periods_of(large.canvas)  # the period follows the view, not the pixels
        a = small.model.render(small.z, 96, 64, small.canvas.view)
        b = large.model.render(large.z, 192, 128, large.canvas.view)
        box = b.reshape(64, 2, 96, 2, 3).mean(axis=(1, 3))
        supersampled = small.model.render(small.z, 96, 64, small.canvas.view, supersample=2)
        assert np.abs(box - supersampled).max() < 1e-4  # the same sub-pixel grid, averaged
        other = small.model.render(small.model.sample_z(9), 96, 64, small.canvas.view)
        assert np.abs(box - a).mean() < np.abs(box - other).mean() / 5, name  # the same picture, minus aliasing


def test_numpy_forward_and_the_onnx_graph_of_the_torus_agree():
    config = load_preset("residual")
    periods = (3.0, 2.0)
    weights = torus_weights(random_weights(config, 5), periods, 5, config.init_scale)
    request = resolve_picture("residual", seed=5, res=(96, 64), tile=True)
    assert periods_of(request.canvas) == periods
    coords = grid(96, 64)
    z = request.z
    expected = forward(weights, coords, z)
    got = request.model.session.run(None, {"coords": coords, "z": z})[0]
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_the_reflection_front_matches_its_numpy_reference(onnx_file):
    request = resolve_picture(onnx_file, seed=2, res=(64, 48), center=(0.3, 0.1), tile=True)
    coords = grid(64, 48, request.canvas.view) * 3  # far outside the picture too: the fold repeats
    folded = reflect_coords(coords, (0.3, 0.1), periods_of(request.canvas))
    plain = load_model(onnx_file)
    got = request.model.session.run(None, {"coords": coords, "z": request.z})[0]
    want = plain.session.run(None, {"coords": folded, "z": request.z})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_the_shader_of_a_torus_reads_the_two_extra_rows():
    from cppnart.graph.glsl import WeightLayout, fragment_shader

    config = load_preset("classic")
    weights = torus_weights(random_weights(config, 1), (2.0, 2.0), 1, 1.0)
    layout = WeightLayout.of(weights)
    source = fragment_shader(weights)
    first = layout.widths[0]
    assert f"tc.y * wt({layout.w_coords + 4 * first} + j)" in source and "sin(th)" in source
    assert layout.w_z - layout.w_coords == 5 * first  # the buffer holds all five rows


def test_cli_render_tile_says_how_it_tiles_and_from_keeps_it(runner, tmp_path):
    out = tmp_path / "t.png"
    result = runner.invoke(
        app, ["render", "classic", "--seed", "2", "--res", "64x48", "--tile", "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tile"] == "torus"
    info = json.loads(runner.invoke(app, ["info", str(out), "--json"]).output)
    assert info["tile"] == "torus"
    again = tmp_path / "again.png"
    assert runner.invoke(app, ["render", "--from", str(out), "-o", str(again), "-q"]).exit_code == 0
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(out)))
    flat = tmp_path / "flat.png"
    assert runner.invoke(app, ["render", "--from", str(out), "--no-tile", "-o", str(flat), "-q"]).exit_code == 0
    assert "tile" not in json.loads(runner.invoke(app, ["info", str(flat), "--json"]).output)


def test_cli_grid_cells_tile(runner, tmp_path):
    out = tmp_path / "g.png"
    args = ["grid", "-m", "classic", "--seeds", "1-2", "--cell", "64x64", "--gap", "0", "--no-labels", "--tile"]
    assert runner.invoke(app, [*args, "-o", str(out), "-q"]).exit_code == 0
    sheet = np.asarray(Image.open(out).convert("RGB"))
    for cell in (sheet[:, :64], sheet[:, 64:128]):
        assert max(seam_ratios(cell)) < 1.0


def test_tile_pyramid_edge_tiles_wrap(runner, tmp_path):
    from .test_tiles import assemble, tiles_of

    folder = tmp_path / "pyr"
    args = ["render", "sine", "--seed", "3", "--res", "300x280", "--tile", "--tiles", str(folder), "-q"]
    assert runner.invoke(app, args).exit_code == 0, "render failed"
    levels = tiles_of(folder, "pyr")
    deepest = assemble(levels[max(levels)], 300, 280)
    assert max(seam_ratios(deepest)) < 1.0  # the right edge tile meets the left one, bottom meets top
    assert json.loads((folder / "recipe.json").read_text())["tile"] == "torus"


def test_an_image_model_cannot_tile_and_says_so(tmp_path):
    from cppnart.errors import UserError
    from cppnart.render.model import Model
    from cppnart.render.seamless import tile_method

    model = Model(b"", {"interface": "image", "z_dim": "2", "channels": "1"}, "glyph.onnx")
    with pytest.raises(UserError, match="cannot tile; render it without tile$"):  # the parameter's name
        tile_method(model)


def test_morph_tile_frames_tile(runner, tmp_path):
    for i in range(2):
        np.save(tmp_path / f"k{i}.npy", np.random.default_rng(i).uniform(-1, 1, 8).astype(np.float32))
    out = tmp_path / "frames"
    args = ["morph", str(tmp_path / "k0.npy"), str(tmp_path / "k1.npy"), "-m", "classic", "--seed", "1"]
    result = runner.invoke(app, [*args, "--frames", "2", "--res", "96x96", "--tile", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tile"] == "torus"
    for frame in sorted(out.iterdir()):
        assert max(seam_ratios(np.asarray(Image.open(frame)))) < 1.0
    assert onnx  # the real onnx package reads the models above


@pytest.mark.parametrize("name", CPPN_PRESETS)
def test_the_torus_keeps_the_look_near_the_centre(name):
    tiled = resolve_picture(name, seed=7, res=(160, 160), tile=True)
    plain = resolve_picture(name, seed=7, res=(160, 160))
    a, b = tiled.model.render(tiled.z, 160, 160), plain.model.render(plain.z, 160, 160)
    other = plain.model.render(plain.model.sample_z(99), 160, 160)
    centre = slice(72, 88)  # the middle tenth: the torus there is nearly the plane (sin x ~ x)
    kept = np.abs(a[centre, centre] - b[centre, centre]).mean()
    assert kept < 0.6 * np.abs(other[centre, centre] - b[centre, centre]).mean(), kept
