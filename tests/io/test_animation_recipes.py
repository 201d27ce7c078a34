"""GIF, MP4 and WebP carry the morph recipe: `info` and `--from` read it back; MP4s are BT.709
and tagged so; a second reader (Pillow, ffmpeg) still decodes every file."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app
from cppnart.io.metadata import read_animation_recipe


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def keys(tmp_path):
    np.save(tmp_path / "a.npy", np.array([0.5, -0.2, 0.1, 0.9], np.float32))
    np.save(tmp_path / "b.npy", np.array([-0.4, 0.3, 0.8, -0.1], np.float32))
    return tmp_path


@pytest.mark.parametrize("suffix", [".gif", ".mp4", ".webp"])
def test_info_and_from_read_the_recipe_of_an_animation(suffix, keys, tiny_preset):
    out = keys / f"m{suffix}"
    made = run("morph", keys / "a.npy", keys / "b.npy", "-m", tiny_preset, "--seed", 3, "--res", "32x32",
               "--frames", 3, "--zoom", 2, "-o", out)  # fmt: skip
    assert made.exit_code == 0, made.output
    recipe = read_animation_recipe(out)
    assert recipe["seed"] == 3 and recipe["zoom"] == 2 and recipe["res"] == [32, 32]
    assert np.allclose(recipe["z"], np.load(keys / "a.npy"), atol=1e-6)
    info = run("info", out)
    assert info.exit_code == 0 and "zoom" in info.output, info.output
    again = run("render", "--from", out, "-o", keys / "again.png")
    direct = run("render", tiny_preset, "--seed", 3, "--z", keys / "a.npy", "--res", "32x32", "--zoom", 2,
                 "-o", keys / "direct.png")  # fmt: skip
    assert again.exit_code == 0 and direct.exit_code == 0, again.output + direct.output
    assert np.array_equal(np.asarray(Image.open(keys / "again.png")), np.asarray(Image.open(keys / "direct.png")))
    if suffix != ".mp4":
        with Image.open(out) as image:  # a second reader still decodes it
            assert image.n_frames == 4


def test_mp4_is_bt709_and_tagged(keys, tiny_preset):
    out = keys / "m.mp4"
    assert run("morph", keys / "a.npy", keys / "b.npy", "-m", tiny_preset, "--res", "32x32", "-o", out).exit_code == 0
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True)
    assert "yuv420p(tv, bt709" in info.stderr.decode(), info.stderr.decode()


def test_files_without_a_recipe_are_one_line(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.gif")
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    for name in ("plain.gif", "bad.mp4", "missing.webp"):
        result = run("info", tmp_path / name)
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output


def test_a_different_picture_is_not_replaced_without_force(keys, tiny_preset):
    morph = ["morph", keys / "a.npy", keys / "b.npy", "-m", tiny_preset, "--res", "16x16", "--frames", 2]
    grid = ["grid", "-m", tiny_preset, "--cell", "16x16"]
    for first, same, other, out in (
        ([*morph, "--seed", 1], [*morph, "--seed", 1], [*morph, "--seed", 2], keys / "m.gif"),
        ([*grid, "--seeds", "1-2"], [*grid, "--seeds", "1-2"], [*grid, "--seeds", "3-4"], keys / "g.png"),
        (["render", tiny_preset, "--seed", 1, "--res", "8x8"], ["render", tiny_preset, "--seed", 1, "--res", "8x8"],
         ["render", tiny_preset, "--seed", 1, "--res", "8x8", "--zoom", 3], keys / "r.png"),
    ):  # fmt: skip
        assert run(*first, "-o", out).exit_code == 0
        before = out.read_bytes()
        assert run(*same, "-o", out).exit_code == 0  # the same picture again: replaced, harmless
        refused = run(*other, "-o", out)
        assert refused.exit_code == 2 and "--force" in refused.output and out.read_bytes() == before
        assert run(*other, "-o", out, "--force").exit_code == 0 and out.read_bytes() != before
