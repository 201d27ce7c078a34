"""Frames from latents, and the streaming animation writers, read back with other readers."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image

from cppnart.io.animation import GIF_STRATEGIES, frame_delays, open_animation
from cppnart.io.metadata import read_recipe
from cppnart.io.png import quantize
from cppnart.latent.paths import plan_path
from cppnart.render.canvas import Canvas
from cppnart.render.frames import frames_per_call, render_frames
from cppnart.render.model import load_model

from ..conftest import files_in

W, H = 32, 24


@pytest.fixture
def tiny(tiny_preset):
    return load_model(tiny_preset, seed=5, device="cpu")


@pytest.fixture
def keys(tiny):
    return tiny.sample_z(11, 3)


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """An empty folder for outputs (tmp_path also holds the tiny preset)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def gif_frames(path: Path) -> np.ndarray:
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    return np.stack(frames)


def test_first_and_last_frames_are_the_keyframe_renders(tiny, keys):
    path = plan_path(keys, 6, easing="smooth", path="slerp")
    frames = list(render_frames(tiny, path, tiny.canvas(W, H), batch=4))
    assert len(frames) == 2 * 6 + 1
    for index, key in ((0, keys[0]), (6, keys[1]), (12, keys[2])):
        expected = quantize(tiny.render(key, W, H)).astype(int)
        # batched and single renders may round one level apart
        assert np.abs(frames[index].astype(int) - expected).max() <= 1


def test_consecutive_frames_change_smoothly(tiny, keys):
    frames = np.stack(list(render_frames(tiny, plan_path(keys[:2], 40), tiny.canvas(W, H)))).astype(np.float32)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    assert steps.mean() > 0.05  # it moves
    assert steps.max() <= 4 * steps.mean()  # and it never jumps


def test_held_frames_repeat_and_batches_do_not_change_frames(tiny, keys):
    path = plan_path(keys, 3, hold=2)
    one = list(render_frames(tiny, path, tiny.canvas(W, H), batch=1))
    many = list(render_frames(tiny, path, tiny.canvas(W, H), batch=5))
    assert len(one) == len(path) == 2 * 3 + 1 + 3 * 2
    np.testing.assert_array_equal(one[0], one[2])  # keyframe 0 held twice
    for a, b in zip(one, many):
        assert np.abs(a.astype(int) - b).max() <= 1
    assert frames_per_call(Canvas(W, H)) > 1 and frames_per_call(Canvas(1920, 1080)) == 1


def test_frames_are_made_lazily(tiny, keys):
    huge = plan_path(keys[:2], 100_000)  # 100k frames: only what is asked for gets rendered
    frame = next(render_frames(tiny, huge, tiny.canvas(W, H)))
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8


def test_frame_delays_keep_the_average_speed():
    delays = [frame_delays(i, 30, 0.01) for i in range(30)]
    assert sum(delays) == 100 and set(delays) <= {3, 4}
    assert [frame_delays(i, 25, 0.001) for i in range(3)] == [40, 40, 40]


def sample_frames(tiny, keys, count=9):
    return list(render_frames(tiny, plan_path(keys[:2], count - 1), tiny.canvas(W, H)))


def write_animation(out, frames, channels=3, fps=10, **options):
    """Stream ``frames`` through open_animation into ``out``, as morph does."""
    with open_animation(out, W, H, channels, fps=fps, **options) as writer:
        for frame in frames:
            writer.add(frame)
    return out


@pytest.mark.parametrize("strategy", GIF_STRATEGIES)
def test_gif_reads_back_with_pillow(outdir, tiny, keys, strategy):
    frames = sample_frames(tiny, keys)
    out = outdir / "m.gif"
    write_animation(out, frames, fps=20, gif_strategy=strategy, comment='{"x":1}', palette_sample=lambda: frames[::4])
    back = gif_frames(out)
    assert back.shape == (len(frames), H, W, 3)
    error = np.abs(back.astype(float) - np.stack(frames)).mean()
    assert error < 12, error  # 256 colours of a smooth image: a few levels off on average
    with Image.open(out) as gif:
        assert gif.info["duration"] == 50 and gif.info["loop"] == 0 and gif.info["comment"] == b'{"x":1}'
    assert files_in(outdir) == ["m.gif"]


def test_greyscale_gif_is_lossless(outdir):
    frames = [np.random.default_rng(i).integers(0, 256, (H, W, 1), dtype=np.uint8) for i in range(3)]
    out = outdir / "grey.gif"
    write_animation(out, frames, channels=1)
    np.testing.assert_array_equal(gif_frames(out)[..., 0], np.stack(frames)[..., 0])


def test_mp4_reads_back_with_imageio(outdir, tiny, keys):
    frames = sample_frames(tiny, keys, 12)
    out = outdir / "m.mp4"
    write_animation(out, frames, fps=24)
    reader = imageio.get_reader(out)
    try:
        back = np.stack([f for f in reader])
        assert reader.get_meta_data()["fps"] == 24
    finally:
        reader.close()
    assert back.shape == (12, H, W, 3)
    assert np.abs(back.astype(float) - np.stack(frames)).mean() < 20  # yuv420 + x264, tiny frames


def test_webp_reads_back_with_pillow(outdir, tiny, keys):
    frames = sample_frames(tiny, keys, 5)
    out = outdir / "m.webp"
    write_animation(out, frames)
    with Image.open(out) as webp:
        assert webp.n_frames == 5 and webp.size == (W, H) and webp.is_animated
        webp.seek(3)
        third = np.asarray(webp.convert("RGB")).astype(float)
    assert np.abs(third - frames[3]).mean() < 20


def test_png_folder_frames_carry_their_recipe(outdir, tiny, keys):
    from cppnart.configs.view import View
    from cppnart.io.metadata import make_recipe, png_text

    path = plan_path(keys[:2], 3)
    out = outdir / "frames"
    write_animation(
        out,
        render_frames(tiny, path, tiny.canvas(W, H)),
        frame_count=len(path),
        frame_text=lambda i: png_text(make_recipe(tiny, path[i], W, H, View(), 1, 8)),
    )
    names = files_in(out)
    assert names == [f"frame-{i:05d}.png" for i in range(4)]
    np.testing.assert_allclose(read_recipe(out / names[2])["z"], path[2], atol=1e-6)
    assert files_in(outdir) == ["frames"]


@pytest.mark.parametrize("name", ["m.gif", "m.mp4", "m.webp", "frames"])
def test_an_error_mid_animation_leaves_nothing(outdir, tiny, keys, name):
    frames = sample_frames(tiny, keys, 4)
    with pytest.raises(RuntimeError), open_animation(outdir / name, W, H, 3, fps=10, frame_count=4) as writer:
        writer.add(frames[0])
        writer.add(frames[1])
        raise RuntimeError("interrupted")
    assert files_in(outdir) == []
