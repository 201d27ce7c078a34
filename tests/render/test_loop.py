"""Seamless loops: closed paths at constant speed, `cppnart loop` and its files read back."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from cppnart.cli import app
from cppnart.latent.loops import box_curve, great_circle, loop_path, spline_loop
from cppnart.render.loop import loop_frames, resolve_loop, save_loop

from ..conftest import files_in, one_error_line


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def steps_of(path: np.ndarray) -> np.ndarray:
    """Every frame-to-frame step of a loop, the one from the last frame back to the first included."""
    return np.linalg.norm(np.roll(path, -1, axis=0) - path, axis=1)


CURVES = {
    "great circle": great_circle(16, seed=1),
    "box": box_curve(8, seed=2),
    "spline": spline_loop(np.random.default_rng(4).uniform(-1, 1, (5, 8))),
}


@pytest.mark.parametrize("name", list(CURVES))
@pytest.mark.parametrize("frames", [12, 240])
def test_every_step_is_the_same_within_one_percent_and_the_loop_closes(name, frames):
    path = loop_path(CURVES[name], frames)
    steps = steps_of(path)  # the last one is last -> first: the frame after the last is the first
    assert np.ptp(steps) / steps.mean() < 0.01, (name, frames, steps.min(), steps.max())


def test_a_box_curve_stays_in_the_box_and_a_great_circle_at_the_typical_norm():
    assert np.abs(loop_path(box_curve(8, seed=5), 500)).max() <= 1.0
    norms = np.linalg.norm(loop_path(great_circle(64, seed=5), 100), axis=1)
    np.testing.assert_allclose(norms, 8.0, rtol=1e-5)


def test_a_loop_through_latents_passes_through_each(tmp_path):
    keys = np.random.default_rng(8).uniform(-1, 1, (4, 8)).astype(np.float32)
    path = loop_path(spline_loop(keys), 200)
    step = steps_of(path).mean()
    np.testing.assert_allclose(path[0], keys[0], atol=1e-6)  # it starts on the first
    for key in keys:  # and every other one lies on the path, within half a step of a frame
        assert np.linalg.norm(path - key, axis=1).min() <= 0.5 * step + 1e-6


def test_the_frame_after_the_last_renders_as_the_first(tiny_preset):
    request = resolve_loop(tiny_preset, seed=3, seconds=1, fps=12, res=(32, 32))
    frames = list(loop_frames(request))
    assert len(frames) == 12
    curve_end = request.model.render(loop_path_end(request), 32, 32)
    first = frames[0].astype(np.float32) / 255
    assert np.abs(curve_end - first).max() <= 1 / 255 + 1e-6  # within rendering (8-bit) noise
    assert np.abs(frames[0].astype(int) - frames[6]).max() > 20  # and it did move


def loop_path_end(request) -> np.ndarray:
    """The latent one full lap along the request's curve: where frame N (after the last) would be."""
    from cppnart.latent.loops import loop_curve

    return loop_curve(request.model.z_dim, request.seed, request.model.z_prior)(np.array([1.0]))


def test_a_time_loop_shifts_the_tile_by_one_period(tiny_preset):
    request = resolve_loop(tiny_preset, seed=3, seconds=1, fps=8, res=(40, 32), time=True)
    assert request.curve_name == "time" and request.model.metadata["tile"] == "torus"
    frames = list(loop_frames(request))
    assert len({f.tobytes() for f in frames}) == 8  # it drifts
    # one period further (phase 1, the frame after the last) is the first frame again
    from dataclasses import replace

    from cppnart.configs.view import View
    from cppnart.render.seamless import periods_of

    px, py = periods_of(request.canvas)
    moved = replace(request.canvas, view=View(1.0, (px, py)))
    after = request.model.render(request.z, 40, 32, moved.view)
    assert np.abs(after - frames[0] / 255).max() <= 1 / 255 + 1e-5


@pytest.mark.parametrize("name", ["loop.gif", "loop.webp", "loop.mp4", "frames"])
def test_cli_writes_each_format_with_its_recipe_and_from_renders_it_again(runner, tmp_path, tiny_preset, name):
    out = tmp_path / name
    result = run(runner, "loop", tiny_preset, "--seed", "5", "--seconds", "0.5", "--fps", "10", "--res", "32x32",
                 "-o", out, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["frames"] == 5 and report["curve"] == "box"
    if name == "frames":
        assert len(files_in(out)) == 5
        return
    frames = _read_frames(out)
    assert len(frames) == 5
    info = run(runner, "info", out, "--json")
    recipe = json.loads(info.output)
    assert recipe["cycle"]["seed"] == 5 and recipe["cycle"]["frames"] == 5
    again = tmp_path / f"again{out.suffix}"
    assert run(runner, "loop", "--from", out, "-o", again, "-q").exit_code == 0
    if out.suffix != ".mp4":  # x264 is deterministic too, but its timing metadata is not asserted here
        assert again.read_bytes() == out.read_bytes()


def _read_frames(path: Path) -> list[np.ndarray]:
    if path.suffix == ".mp4":
        reader = imageio.get_reader(path)
        try:
            return [np.asarray(f) for f in reader]
        finally:
            reader.close()
    with Image.open(path) as image:
        out = []
        for index in range(image.n_frames):
            image.seek(index)
            out.append(np.asarray(image.convert("RGB")))
        return out


def test_cli_through_latents(runner, tmp_path, tiny_preset):
    keys = np.random.default_rng(1).uniform(-1, 1, (3, 4)).astype(np.float32)
    paths = []
    for i, key in enumerate(keys):
        np.save(tmp_path / f"k{i}.npy", key)
        paths += ["--through", tmp_path / f"k{i}.npy"]
    out = tmp_path / "through.gif"
    result = run(runner, "loop", tiny_preset, "--seed", "1", *paths, "--seconds", "1", "--fps", "6",
                 "--res", "24x24", "-o", out, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["curve"] == "spline"
    recipe = json.loads(run(runner, "info", out, "--json").output)
    np.testing.assert_allclose(recipe["keyframes"], keys, atol=1e-6)


def test_an_interrupted_loop_leaves_nothing(tmp_path, tiny_preset):
    request = resolve_loop(tiny_preset, seed=1, seconds=1, fps=10, res=(32, 32))

    def stop(count: int) -> None:
        raise KeyboardInterrupt

    for name in ("l.gif", "l.mp4", "l.webp", "frames"):
        with pytest.raises(KeyboardInterrupt):
            save_loop(request, tmp_path / name, on_frame=stop)
    assert files_in(tmp_path) == ["tiny.toml"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--seconds", "0"], "seconds"),
        (["--fps", "-1"], "fps"),
        (["-o", "loop.png"], "extension"),
        (["--through", "missing.npy"], "missing.npy"),
    ],
)
def test_bad_input_is_one_line_and_no_file(runner, tmp_path, tiny_preset, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    base = ["loop", tiny_preset, "--res", "16x16", "--seconds", "0.2", "--fps", "5"]
    if "-o" not in args:
        base += ["-o", "loop.gif"]
    line = one_error_line(run(runner, *base, *args))
    assert message in line
    assert files_in(tmp_path) == ["tiny.toml"]


def test_the_python_api_exports_the_loop_lazily(tmp_path, tiny_preset):
    import cppnart

    request = cppnart.resolve_loop(tiny_preset, seed=2, seconds=0.3, fps=10, res=(16, 16))
    frames = list(cppnart.loop_frames(request))
    assert len(frames) == 3 and frames[0].shape == (16, 16, 3)
    out = cppnart.save_loop(request, tmp_path / "api.gif")
    assert out.is_file()


def test_a_time_loop_of_a_reflected_model_closes_too(runner, tmp_path):
    model = tmp_path / "net.onnx"
    assert run(runner, "export", "classic", "--seed", "3", "-o", model, "-q").exit_code == 0
    request = resolve_loop(model, seed=3, seconds=1, fps=6, res=(32, 32), time=True)
    assert request.model.metadata["tile"] == "reflect"
    from dataclasses import replace

    from cppnart.configs.view import View
    from cppnart.render.seamless import periods_of

    frames = list(loop_frames(request))
    px, py = periods_of(request.canvas)
    after = request.model.render(request.z, 32, 32, replace(request.canvas, view=View(1.0, (px, py))).view)
    assert np.abs(after - frames[0] / 255).max() <= 1 / 255 + 1e-5
    assert len({f.tobytes() for f in frames}) > 1


@pytest.mark.parametrize("cycle", [{"frames": 10**12}, {"laps": -1}, {"seed": "x"}, "not a table"])
def test_a_hostile_cycle_in_a_recipe_is_one_line(runner, tmp_path, tiny_preset, monkeypatch, cycle):
    from cppnart.io.animation import save_animation
    from cppnart.io.metadata import animation_comment

    monkeypatch.chdir(tmp_path)
    request = resolve_loop(tiny_preset, seed=1, seconds=0.2, fps=5, res=(16, 16))
    recipe = {**request.recipe(), "cycle": cycle}
    save_animation(tmp_path / "bad.gif", loop_frames(request), 16, 16, 3, 5, comment=animation_comment(recipe))
    line = one_error_line(run(runner, "loop", "--from", "bad.gif", "-o", "out.gif"))
    assert "cycle" in line
    assert "out.gif" not in files_in(tmp_path)


def test_each_png_frame_of_a_time_loop_renders_again_from_its_recipe(runner, tmp_path, tiny_preset, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a recipe names models beside it or in the current folder only
    out = tmp_path / "frames"
    args = ["loop", tiny_preset, "--seed", "2", "--time", "--seconds", "0.4", "--fps", "10", "--res", "24x24"]
    assert run(runner, *args, "-o", out, "-q").exit_code == 0
    frame = sorted(out.iterdir())[2]
    again = tmp_path / "again.png"
    assert run(runner, "render", "--from", frame, "-o", again, "-q").exit_code == 0
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(frame)))
