"""Interpolation, easing, keyframe paths and latent arithmetic (library and `cppnart z`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cppnart.cli import app
from cppnart.errors import UserError
from cppnart.latent.files import read_latents
from cppnart.latent.mix import mix_expression, mix_terms
from cppnart.latent.paths import ease, lerp, path_length, plan_path, slerp

from ..conftest import files_in


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def gaussians(count: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)


def test_lerp_and_slerp_start_and_end_on_the_endpoints():
    a, b = gaussians(2)
    for fn in (lerp, slerp):
        ends = fn(a, b, np.array([0.0, 1.0]))
        np.testing.assert_allclose(ends[0], a, atol=1e-5)
        np.testing.assert_allclose(ends[1], b, atol=1e-5)


def test_slerp_keeps_the_norm_where_lerp_dips():
    t = np.linspace(0, 1, 41)
    for seed in range(5):
        a, b = gaussians(2, seed=seed)
        lo, hi = sorted([np.linalg.norm(a), np.linalg.norm(b)])
        slerp_norms = np.linalg.norm(slerp(a, b, t), axis=1)
        lerp_norms = np.linalg.norm(lerp(a, b, t), axis=1)
        assert slerp_norms.min() >= lo * 0.999 and slerp_norms.max() <= hi * 1.001
        # Two independent 32-d gaussians are nearly orthogonal: the straight line's middle
        # sits at ~0.71 of their length.
        assert lerp_norms.min() < 0.85 * lo


def test_sine_and_smooth_easing_spend_more_frames_near_the_ends_than_linear():
    p = np.arange(100) / 100

    def near_ends(t):
        return int(np.sum((t < 0.1) | (t > 0.9)))

    linear = near_ends(ease("linear", p))
    assert near_ends(ease("sine", p)) > linear * 1.4
    assert near_ends(ease("smooth", p)) > linear * 1.4
    # seed 002's sinusoid: fast departure, slow arrival
    assert np.sum(ease("sine", p) > 0.9) > np.sum(ease("sine", p) < 0.1)
    np.testing.assert_allclose(ease("sine", np.array([0.0, 0.5, 1.0])), [0, np.sin(np.pi / 4), 1])


@pytest.mark.parametrize(
    "count,frames,hold,loop", [(2, 5, 0, False), (3, 4, 0, False), (3, 4, 2, False), (2, 6, 0, True), (4, 3, 1, True)]
)
def test_path_has_keyframes_times_frames_plus_holds_and_hits_every_keyframe(count, frames, hold, loop):
    keys = gaussians(count, dim=6)
    path = plan_path(keys, frames, hold, loop, "smooth", "slerp")
    transitions = count if loop else count - 1
    assert (
        len(path) == transitions * frames + (0 if loop else 1) + count * hold == path_length(count, frames, hold, loop)
    )
    for k in range(count):  # keyframe k starts at k·(frames + hold) and is held hold + 1 frames
        for j in range(hold + 1):
            np.testing.assert_allclose(path[k * (frames + hold) + j], keys[k], atol=1e-5)
    np.testing.assert_allclose(path[0], keys[0], atol=1e-6)
    if not loop:
        np.testing.assert_allclose(path[-1], keys[-1], atol=1e-6)
    else:  # the frame after the last is the first again: a seamless loop, no duplicate
        step = np.linalg.norm(np.diff(path, axis=0), axis=1).max()
        assert np.linalg.norm(path[-1] - keys[0]) <= step + 1e-5
        assert not np.allclose(path[-1], keys[0])


def test_path_rejects_one_keyframe_and_zero_frames():
    with pytest.raises(UserError, match="at least 2 keyframe"):
        plan_path(gaussians(1), 5)
    with pytest.raises(UserError, match="frames must be at least 1"):
        plan_path(gaussians(2), 0)


@pytest.fixture
def latent_files(tmp_path: Path) -> dict[str, np.ndarray]:
    zs = {name: gaussians(1, dim=4, seed=i)[0] for i, name in enumerate(["z9", "after", "before", "other-1"])}
    for name, z in zs.items():
        np.save(tmp_path / f"{name}.npy", z)
    return zs


def test_expression_is_seed_002_arithmetic(tmp_path, latent_files, monkeypatch):
    monkeypatch.chdir(tmp_path)
    z = latent_files
    got = mix_expression("z9.npy + (after.npy - before.npy)")
    np.testing.assert_allclose(got[0], z["z9"] + (z["after"] - z["before"]), atol=1e-6)
    got = mix_expression("-0.5*z9.npy+other-1.npy/2 - 'before.npy'")  # dashes in names, no spaces, quotes
    np.testing.assert_allclose(got[0], -0.5 * z["z9"] + z["other-1"] / 2 - z["before"], atol=1e-6)
    np.testing.assert_allclose(
        mix_terms("z9.npy", ["after.npy"], ["before.npy"], 1.5)[0],
        z["z9"] + 1.5 * (z["after"] - z["before"]),
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "expr,message",
    [
        ("z9.npy * after.npy", "numbers only"),
        ("__import__('os').system('echo hi') + z9.npy", "cannot read"),
        ("z9.npy.__class__", "cannot read|expected"),
        ("z9.npy + (after.npy", "incomplete"),
        ("z9.npy / 0", "division by zero"),
        ("1 + 2", "names no latent file"),
        ("z9.npy + missing.npy", "not found"),
    ],
)
def test_expression_rejects_anything_but_arithmetic(tmp_path, latent_files, monkeypatch, expr, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=message):
        mix_expression(expr)


def test_z_mix_and_lerp_commands_write_npy(runner, tmp_path, latent_files, monkeypatch):
    monkeypatch.chdir(tmp_path)
    z = latent_files
    result = run(runner, "z", "mix", "z9.npy + (after.npy - before.npy)", "-o", "alter.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load("alter.npy"), z["z9"] + z["after"] - z["before"], atol=1e-6)
    result = run(runner, "z", "mix", "--base", "z9.npy", "--add", "after.npy", "--sub", "before.npy", "-o", "flags.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load("flags.npy"), np.load("alter.npy"), atol=1e-6)

    result = run(runner, "z", "lerp", "z9.npy", "after.npy", "--steps", 5, "--path", "lerp", "-o", "between.npy")
    assert result.exit_code == 0, result.output
    between = np.load("between.npy")
    assert between.shape == (5, 4)
    np.testing.assert_allclose(between[2], (z["z9"] + z["after"]) / 2, atol=1e-6)
    result = run(runner, "z", "lerp", "z9.npy", "after.npy", "--t", 0.25, "-o", "quarter.npy")
    assert result.exit_code == 0 and np.load("quarter.npy").shape == (4,)


@pytest.mark.parametrize(
    "args",
    [
        ["mix", "z9.npy +", "-o", "out.npy"],
        ["mix", "z9.npy + small.npy", "-o", "out.npy"],
        ["mix", "z9.npy", "--base", "z9.npy", "-o", "out.npy"],
        ["mix", "z9.npy + after.npy", "-o", "out.txt"],
        ["lerp", "z9.npy", "small.npy", "-o", "out.npy"],
        ["lerp", "z9.npy", "after.npy", "--steps", "1", "-o", "out.npy"],
        ["lerp", "z9.npy", "after.npy", "-o", "nowhere/out.npy"],
    ],
)
def test_z_tools_bad_input_is_one_line_and_no_file(runner, tmp_path, latent_files, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    np.save("small.npy", np.zeros(3, np.float32))  # a latent of another size
    before = files_in(tmp_path)
    result = run(runner, "z", *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert files_in(tmp_path) == before


def test_latents_come_back_from_a_rendered_png(runner, tmp_path, tiny_preset):
    z = np.array([0.1, -0.2, 0.3, 0.4], np.float32)
    np.save(tmp_path / "z.npy", z)
    png = tmp_path / "art.png"
    result = run(runner, "render", tiny_preset, "--seed", 3, "--z", tmp_path / "z.npy", "--res", "16x16", "--out", png)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(read_latents(png, 4)[0], z, atol=1e-7)
    result = run(runner, "z", "get", png, "-o", tmp_path / "back.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(tmp_path / "back.npy"), z, atol=1e-7)
    # and PNGs work as operands of arithmetic
    np.testing.assert_allclose(mix_expression(f"{png} * 2")[0], 2 * z, atol=1e-6)
