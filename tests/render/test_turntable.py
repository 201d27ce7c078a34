"""`cppnart mesh -o spin.mp4`: a mesh filmed turning, streamed into an animation that carries its recipe."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from cppnart.cli import app
from cppnart.io.metadata import read_any_recipe

from ..conftest import files_in, one_error_line

pytest.importorskip("skimage")
from cppnart.render.mesh import resolve_mesh, save_mesh
from cppnart.render.turntable import resolve_turntable, save_turntable, turntable_frames, turntable_view

SMALL = ["--seed", "2", "--res", "24", "--frame", "64x64", "--fps", "8", "--seconds", "1"]


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def gif_frames(path: Path) -> list[np.ndarray]:
    return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(path))]


def test_the_turntable_goes_round_once_and_comes_back_to_its_first_frame():
    request = resolve_turntable("solid", seed=2, res=24, seconds=1, fps=8, frame=(64, 64))
    view = turntable_view(request)
    frames = list(turntable_frames(request, view))
    assert len(frames) == 8 and all(f.shape == (64, 64, 3) for f in frames)
    assert request.azimuths().tolist() == [0, 45, 90, 135, 180, 225, 270, 315]
    after_last = view.frame(64, 64, 360.0, request.elevation)  # one step past the last frame
    assert np.abs(after_last.astype(int) - frames[0]).max() <= 1
    steps = [np.abs(frames[i].astype(int) - frames[(i + 1) % 8]).mean() for i in range(8)]
    assert min(steps) > 1.0  # every frame moves, the last into the first as much as any


def test_a_gif_turntable_carries_its_recipe_and_is_made_again_byte_for_byte(tmp_path):
    out = tmp_path / "spin.gif"
    result = save_turntable(resolve_turntable("solid", seed=2, res=24, seconds=0.5, fps=8, frame=(48, 32)), out)
    assert result.frames == 4 and result.faces > 0 and len(gif_frames(out)) == 4
    recipe = read_any_recipe(out)
    assert recipe["seed"] == 2 and recipe["mesh"]["res"] == 24 and recipe["turntable"]["width"] == 48
    again = tmp_path / "again.gif"
    save_turntable(resolve_turntable(recipe=recipe), again)
    assert again.read_bytes() == out.read_bytes()
    with pytest.raises(Exception, match="force"):  # a different turntable is not replaced silently
        save_turntable(resolve_turntable(recipe=recipe, elevation=10), out)
    save_turntable(resolve_turntable(recipe=recipe), out)  # the same one may be written again


def test_the_mp4_has_one_h264_stream_of_every_frame(runner, tmp_path):
    import imageio_ffmpeg

    out = tmp_path / "spin.mp4"
    result = run(runner, "mesh", "solid", *SMALL, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["frames"] == 8 and data["size"] == [64, 64] and data["path"] == str(out)
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    text = subprocess.run([ffmpeg, "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    streams = re.findall(r"Stream #0:\d.*", text)
    assert len(streams) == 1 and "h264" in streams[0] and "64x64" in streams[0], text
    raw = subprocess.run([ffmpeg, "-v", "error", "-i", str(out), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True).stdout  # fmt: skip
    assert len(raw) == 8 * 64 * 64 * 3


def test_info_and_from_read_the_turntable(runner, tmp_path):
    out = tmp_path / "spin.gif"
    assert run(runner, "mesh", "solid", *SMALL, "--elevation", "10", "-o", out).exit_code == 0
    shown = json.loads(run(runner, "info", out, "--json").output)
    assert shown["turntable"]["elevation"] == 10.0 and shown["mesh"]["kind"] == "solid"
    again = tmp_path / "again.gif"
    assert run(runner, "mesh", "--from", out, "-o", again).exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    # the mesh it films is the mesh `cppnart mesh` writes from the same recipe
    from_film, direct = tmp_path / "a.ply", tmp_path / "b.ply"
    assert run(runner, "mesh", "--from", out, "-o", from_film).exit_code == 0
    save_mesh(resolve_mesh("solid", seed=2, res=24), direct)
    assert from_film.read_bytes() == direct.read_bytes()


def test_a_relief_turns_seen_from_higher_up(runner, tmp_path):
    out = tmp_path / "relief.gif"
    args = ["classic", "--relief", "--seed", "7", "--res", "32", "--frame", "48x48", "--fps", "4", "--seconds", "1"]
    assert run(runner, "mesh", *args, "-o", out).exit_code == 0
    assert read_any_recipe(out)["turntable"]["elevation"] == 40.0
    frames = gif_frames(out)
    assert len(frames) == 4 and not (frames[0] == 255).all()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--fps", "0", "-o", "x.mp4"], "--fps"),
        (["--frame", "8x8", "-o", "x.mp4"], "--frame must be at least 16"),
        (["--frame", "99999x16", "-o", "x.gif"], "--frame"),
        (["--frame", "65x64", "-o", "x.mp4"], "even width and height"),
        (["--elevation", "91", "-o", "x.webp"], "--elevation must be at most 90"),
        (["--turns", "0", "-o", "x.gif"], "--turns"),
        (["--seconds", "700", "-o", "x.gif"], "--seconds must be at most 600"),
        (["--fps", "60", "-o", "x.gif"], "too fast for GIF"),
        (["--seconds", "2", "-o", "x.glb"], "--seconds is for a turntable"),
        (["--level", "1", "--seed", "2", "-o", "x.gif"], "surface is empty"),
        (["-o", "no/x.mp4"], "does not exist"),
    ],
)
def test_bad_turntable_input_is_one_line_and_leaves_nothing(runner, tmp_path, args, words):
    args = [a if not a.startswith(("x.", "no/")) else str(tmp_path / a) for a in args]
    result = run(runner, "mesh", "solid", "--res", "16", "--frame", "32x32", "--seconds", "0.25", *args)
    assert words in one_error_line(result)
    assert files_in(tmp_path) == []


def test_ctrl_c_mid_turntable_leaves_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = ["mesh", "solid", "--seed", "3", "--res", "48", "--frame", "256x256", "--seconds", "60", "-q", "-o", "t.mp4"]
    proc = subprocess.Popen([sys.executable, "-m", "cppnart", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(4.0)  # start-up, the mesh, then frames (1,800 of them take minutes here)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert files_in(tmp_path) == []
