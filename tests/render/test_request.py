"""One request per picture: the CLI, the viewer's poster desk and the notebook API resolve the same
request and write the same bytes under the same name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cppnart
from cppnart.cli import app
from cppnart.errors import ParamError, UserError
from cppnart.render.request import resolve_morph, resolve_picture, resolve_sheet

from ..conftest import one_error_line


def test_options_win_over_the_recipe_which_wins_over_the_defaults(tiny_preset: Path, tmp_path: Path) -> None:
    recipe = {"model": str(tiny_preset), "seed": 5, "res": [40, 30], "zoom": 2.0, "center": [0.5, 0.0], "bits": 16}
    recipe["z"] = [0.1, 0.2, 0.3, 0.4]
    from_recipe = resolve_picture(recipe=recipe)
    assert (from_recipe.width, from_recipe.height, from_recipe.bits) == (40, 30, 16)
    assert from_recipe.canvas.view.zoom == 2.0 and from_recipe.model.seed == 5
    assert np.allclose(from_recipe.z[0], recipe["z"])  # the recipe's own z comes back
    assert not from_recipe.z_from_seed  # so the name carries a digest

    asked = resolve_picture(recipe=recipe, seed=9, res=(20, 10), zoom=1.0, bits=8)
    assert (asked.width, asked.height, asked.bits, asked.canvas.view.zoom) == (20, 10, 8, 1.0)
    assert asked.canvas.view.center == (0.5, 0.0)  # not asked: still the recipe's
    assert asked.model.seed == 9 and asked.z_from_seed  # a new seed draws the weights and z again
    assert np.array_equal(asked.z, asked.model.sample_z(9))

    plain = resolve_picture(tiny_preset, seed=3)
    assert (plain.width, plain.height, plain.bits, plain.canvas.supersample) == (1024, 1024, 8, 1)
    assert plain.default_name() == Path("tiny-3-1024x1024.png")


def test_library_errors_name_parameters() -> None:
    with pytest.raises(ParamError, match=r"^bits must be 8 or 16, got 12$"):
        resolve_picture("classic", seed=1, res=(8, 8), bits=12)
    with pytest.raises(ParamError, match=r"^supersample "):
        resolve_picture("classic", seed=1, res=(8, 8), supersample=0)
    with pytest.raises(ParamError, match=r"^frames "):
        resolve_morph(np.zeros((2, 8), np.float32), "classic", seed=1, frames=0)
    with pytest.raises(ParamError, match=r"^count "):
        resolve_sheet("classic", count=0)


def test_the_viewers_poster_is_cppnart_render_by_name_and_bytes(
    tiny_preset: Path, tmp_path: Path, runner, monkeypatch
) -> None:
    """The viewer's "Render poster" (its poster desk, fed as the page feeds it) and the CLI give
    the same default name and the same file for the same picture."""
    from cppnart.render.model import load_model
    from cppnart.view.posters import PosterDesk

    here = tmp_path / "cli"
    here.mkdir()
    monkeypatch.chdir(here)
    result = runner.invoke(app, ["render", str(tiny_preset), "--seed", "4", "--res", "48x32", "--json"])
    assert result.exit_code == 0, result.output
    cli_path = here / json.loads(result.output)["path"]
    net = load_model(str(tiny_preset), seed=4)
    desk = PosterDesk(tmp_path / "posters")
    z = np.asarray([[float(v) for v in net.sample_z(4)[0]]], np.float32)  # the page sends z as JSON numbers
    job = desk.start(net, z, 48, 32, cppnart.View(), 1, net.seed)
    assert desk.wait(60) and job.state == "done", job.message
    assert job.name == cli_path.name == "tiny-4-48x32.png"
    assert (tmp_path / "posters" / job.name).read_bytes() == cli_path.read_bytes()


def test_a_second_viewer_poster_of_another_picture_does_not_take_the_name(tiny_preset: Path, tmp_path: Path) -> None:
    from cppnart.render.model import load_model
    from cppnart.view.posters import PosterDesk

    net = load_model(str(tiny_preset), seed=4)
    desk = PosterDesk(tmp_path)
    first = desk.start(net, net.sample_z(4), 16, 16, cppnart.View(), 1, 4)
    assert desk.wait(60) and first.state == "done"
    again = desk.start(net, net.sample_z(4), 16, 16, cppnart.View(), 1, 4)  # the same picture: the same file
    assert desk.wait(60) and again.name == first.name
    (tmp_path / first.name).write_bytes(b"not ours")
    other = desk.start(net, net.sample_z(4), 16, 16, cppnart.View(), 1, 4)
    assert desk.wait(60) and other.state == "done" and other.name == first.name.replace(".png", "-2.png")


def test_notebook_save_morph_is_the_cli_morph_byte_for_byte(tiny_preset: Path, tmp_path: Path, runner) -> None:
    keys = cppnart.sample_z(4, seed=1, count=3)
    np.save(tmp_path / "keys.npy", keys)
    cli = tmp_path / "cli.gif"
    args = ["morph", str(tmp_path / "keys.npy"), "-m", str(tiny_preset), "--seed", "2", "--frames", "3"]
    result = runner.invoke(app, [*args, "--res", "24x16", "--loop", "-o", str(cli), "--quiet"])
    assert result.exit_code == 0, result.output
    request = cppnart.resolve_morph(keys, tiny_preset, seed=2, res=(24, 16), frames=3, loop=True)
    notebook = cppnart.save_morph(request, tmp_path / "notebook.gif")
    assert notebook.read_bytes() == cli.read_bytes()


def test_morph_frames_of_a_request_are_the_frames_save_morph_writes(tiny_preset: Path, tmp_path: Path) -> None:
    request = resolve_morph(cppnart.sample_z(4, seed=3, count=2), tiny_preset, seed=2, res=(12, 10), frames=4)
    frames = list(cppnart.morph_frames(request))
    assert len(frames) == request.frame_count == 5
    folder = cppnart.save_morph(request, tmp_path / "frames")
    written = [np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))]
    assert len(written) == len(frames) and all(np.array_equal(a, b) for a, b in zip(frames, written))
    from cppnart.io.metadata import read_recipe

    assert read_recipe(sorted(folder.glob("*.png"))[2])["res"] == [12, 10]  # each frame carries its recipe


def test_notebook_grid_is_the_cli_grid_byte_for_byte(tiny_preset: Path, tmp_path: Path, runner) -> None:
    cli = tmp_path / "cli.png"
    args = ["grid", "-m", str(tiny_preset), "--seeds", "3-6", "--cell", "20x20", "--cols", "2", "-o", str(cli), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    sheet = cppnart.grid(cppnart.resolve_sheet(tiny_preset, seeds=range(3, 7), cell=(20, 20), cols=2))
    assert sheet.save(tmp_path / "notebook.png").read_bytes() == cli.read_bytes()


def test_save_poster_refuses_a_different_picture_unless_forced(tiny_preset: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    cppnart.save_poster(resolve_picture(tiny_preset, seed=1, res=(16, 16)), path=path)
    before = path.read_bytes()
    cppnart.save_poster(resolve_picture(tiny_preset, seed=1, res=(16, 16)), path=path)  # the same picture: fine
    with pytest.raises(UserError, match="holds a different picture"):
        cppnart.save_poster(resolve_picture(tiny_preset, seed=2, res=(16, 16)), path=path)
    assert path.read_bytes() == before
    cppnart.save_poster(resolve_picture(tiny_preset, seed=2, res=(16, 16)), path=path, force=True)
    assert path.read_bytes() != before


def test_the_loose_save_poster_still_works_and_warns(tiny_preset: Path, tmp_path: Path) -> None:
    net = cppnart.load_model(tiny_preset, seed=3)
    with pytest.warns(DeprecationWarning, match="pass a request"):
        loose = cppnart.save_poster(net, net.sample_z(3), 20, 12, tmp_path / "loose.png")
    request = cppnart.save_poster(resolve_picture(net, seed=3, res=(20, 12)), path=tmp_path / "request.png")
    assert loose.read_bytes() == request.read_bytes()


def test_renders_of_a_model_file_are_named_by_their_z_seed(tiny_preset: Path, tmp_path: Path, runner) -> None:
    """A model file's weights are fixed, so the z seed is what tells two renders apart."""
    onnx_path = tmp_path / "m.onnx"
    assert runner.invoke(app, ["export", str(tiny_preset), "--seed", "1", "-o", str(onnx_path), "-q"]).exit_code == 0
    names = {resolve_picture(onnx_path, seed=s, res=(8, 8)).default_name() for s in (5, 6)}
    assert names == {Path("tiny-5-8x8.png"), Path("tiny-6-8x8.png")}
    given = resolve_picture(onnx_path, z=np.full((1, 4), 0.25, np.float32), res=(8, 8))
    assert given.default_name().name.startswith("tiny-") and len(given.default_name().stem.split("-")) == 4


def test_a_tile_pyramid_is_refused_with_a_png_path_or_16_bits(tiny_preset: Path, tmp_path: Path, runner) -> None:
    base = ["render", str(tiny_preset), "--tiles", str(tmp_path / "pyr")]
    assert "not both" in one_error_line(runner.invoke(app, [*base, "-o", str(tmp_path / "p.png")]))
    assert one_error_line(runner.invoke(app, [*base, "--bits", "16"])).startswith("error: --bits must be 8")
    assert not (tmp_path / "pyr").exists()
