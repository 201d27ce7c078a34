"""`cppnart morph` as a user runs it: outputs read back by other readers, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from cppnart.cli import app

from ..conftest import files_in

RES = "32x24"


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def work(tmp_path: Path, tiny_preset: Path, monkeypatch) -> Path:
    """A folder holding the tiny preset and three latents of its size (z_dim 4); outputs go to out/."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    for name in ("a", "b", "c"):
        np.save(tmp_path / f"{name}.npy", rng.uniform(-1, 1, 4).astype(np.float32))
    np.save(tmp_path / "wrong.npy", np.zeros(6, np.float32))
    (tmp_path / "out").mkdir()
    return tmp_path


def morph(runner, work, *args):
    return run(runner, "morph", *args, "--model", work / "tiny.toml", "--seed", 5, "--res", RES)


def gif_info(path: Path) -> tuple[int, tuple[int, int], np.ndarray, np.ndarray]:
    with Image.open(path) as gif:
        count, size = gif.n_frames, gif.size
        first = np.asarray(gif.convert("RGB")).astype(int)
        gif.seek(count - 1)
        last = np.asarray(gif.convert("RGB")).astype(int)
    return count, size, first, last


def render_png(runner, work, z: str, out: Path) -> np.ndarray:
    result = run(runner, "render", work / "tiny.toml", "--seed", 5, "--z", z, "--res", RES, "--out", out)
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def test_gif_of_two_keyframes(runner, work):
    result = morph(runner, work, "a.npy", "b.npy", "out/ab.gif", "--frames", 6)
    assert result.exit_code == 0, result.output
    assert "seed 5" in result.output and "7 frames" in result.output
    count, size, first, last = gif_info(work / "out/ab.gif")
    assert count == 7 and size == (32, 24)
    # First and last frames are the keyframe renders (up to the GIF's 256 colours).
    assert np.abs(first - render_png(runner, work, "a.npy", work / "a.png")).mean() < 8
    assert np.abs(last - render_png(runner, work, "b.npy", work / "b.png")).mean() < 8
    comment = json.loads(Image.open(work / "out/ab.gif").info["comment"])["cppnart-morph"]
    assert comment["seed"] == 5 and comment["frames"] == 6 and len(comment["keyframes"]) == 2


def test_shared_gif_palette_comes_from_the_whole_path(runner, work):
    result = morph(
        runner, work, "a.npy", "b.npy", "c.npy", "out/g.gif", "--frames", 3, "--gif-palette", "global-ordered"
    )
    assert result.exit_code == 0, result.output
    count, size, first, _ = gif_info(work / "out/g.gif")
    assert count == 7 and size == (32, 24)
    assert np.abs(first - render_png(runner, work, "a.npy", work / "a.png")).mean() < 12


def test_mp4_visits_three_keyframes_and_loops(runner, work):
    result = morph(
        runner,
        work,
        "a.npy",
        "b.npy",
        "c.npy",
        "out/abc.mp4",
        "--frames",
        5,
        "--loop",
        "--hold",
        2,
        "--fps",
        12,
        "--ease",
        "sine",
        "--path",
        "lerp",
    )
    assert result.exit_code == 0, result.output
    reader = imageio.get_reader(work / "out/abc.mp4")
    try:
        frames = [f for f in reader]
        fps = reader.get_meta_data()["fps"]
    finally:
        reader.close()
    assert len(frames) == 3 * 5 + 3 * 2 and frames[0].shape == (24, 32, 3) and fps == 12


def test_png_frames_equal_the_keyframe_renders_exactly(runner, work):
    result = morph(runner, work, "a.npy", "b.npy", "out/frames", "--frames", 3)
    assert result.exit_code == 0, result.output
    names = files_in(work / "out/frames")
    assert len(names) == 4
    with Image.open(work / "out/frames" / names[0]) as im:
        first = np.asarray(im.convert("RGB")).astype(int)
    with Image.open(work / "out/frames" / names[-1]) as im:
        last = np.asarray(im.convert("RGB")).astype(int)
    assert np.abs(first - render_png(runner, work, "a.npy", work / "a.png")).max() <= 1
    assert np.abs(last - render_png(runner, work, "b.npy", work / "b.png")).max() <= 1


def test_webp_and_keyframes_from_a_batch_file_and_a_png(runner, work):
    np.save(work / "ab.npy", np.stack([np.load(work / "a.npy"), np.load(work / "b.npy")]))
    render_png(runner, work, "c.npy", work / "c.png")  # a PNG made by cppnart is a keyframe too
    result = morph(runner, work, "ab.npy", "c.png", "out/m.webp", "--frames", 2)
    assert result.exit_code == 0, result.output
    with Image.open(work / "out/m.webp") as webp:
        assert webp.n_frames == 2 * 2 + 1 and webp.size == (32, 24)


def test_from_image_takes_model_seed_and_view(runner, work):
    result = run(runner, "render", work / "tiny.toml", "--seed", 5, "--res", "16x16", "--zoom", 2, "--out", "src.png")
    assert result.exit_code == 0, result.output
    result = run(runner, "morph", "a.npy", "b.npy", "out/m.gif", "--from", "src.png", "--res", RES, "--frames", 2)
    assert result.exit_code == 0, result.output
    comment = json.loads(Image.open(work / "out/m.gif").info["comment"])["cppnart-morph"]
    assert comment["seed"] == 5 and comment["zoom"] == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (["a.npy", "wrong.npy", "out/m.gif"], "6 values but the model takes z of size 4"),
        (["a.npy", "out/m.gif"], "at least 2 keyframe"),
        (["a.npy", "b.npy"], "looks like a keyframe"),
        (["out/m.gif"], "keyframe latents and then the output"),
        (["a.npy", "b.npy", "out/m.avi"], "unknown extension"),
        (["a.npy", "b.npy", "out/m.gif", "--frames", "0"], "--frames"),
        (["a.npy", "b.npy", "out/m.gif", "--hold", "-1"], "--hold"),
        (["a.npy", "b.npy", "missing/m.gif"], "does not exist"),
        (["a.npy", "b.npy", "out/m.mp4", "--res", "33x24"], "even width and height"),
        (["a.npy", "b.npy", "out/m.gif", "--fps", "100"], "too fast for GIF"),
        (["a.npy", "b.npy", "out/m.gif", "--fps", "0"], "--fps"),
        (["a.npy", "nothere.npy", "out/m.gif"], "not found"),
        (["a.npy", "b.npy", "out/m.gif", "--res", "big"], "WIDTHxHEIGHT"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_file(runner, work, args, message):
    before = files_in(work)
    result = run(
        runner,
        "morph",
        *args,
        "--model",
        work / "tiny.toml",
        "--seed",
        5,
        *(["--res", RES] if "--res" not in args else []),
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert files_in(work) == before and files_in(work / "out") == []


def test_an_existing_frames_folder_is_not_overwritten(runner, work):
    (work / "out/frames").mkdir()
    (work / "out/frames/keep.txt").write_text("mine")
    result = morph(runner, work, "a.npy", "b.npy", "out/frames", "--frames", 2)
    assert result.exit_code == 2 and "not empty" in result.output
    assert files_in(work / "out/frames") == ["keep.txt"]


def test_morph_runs_without_torch(work):
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any `import torch` now raises ImportError
        "from typer.testing import CliRunner\n"
        "from cppnart.cli import app\n"
        "r = CliRunner().invoke(app, ['morph', 'a.npy', 'b.npy', 'out/t.gif', '--model', 'tiny.toml',"
        " '--seed', '5', '--res', '32x24', '--frames', '2'])\n"
        "assert r.exit_code == 0, (r.output, r.exception)\n"
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (work / "out/t.gif").is_file()
