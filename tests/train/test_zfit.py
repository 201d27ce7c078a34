"""z fit on a random CPPN preset: latents found by gradient descent draw what was asked."""

import numpy as np
import pytest
import torch

from cppnart.errors import ParamError
from cppnart.train.zfit import fit_latents, load_generators

GENTLE = """
description = "a small, smooth CPPN: its z landscape has one basin per image, so the test is about z fit"
kind = "cppn"
z_dim = 4
channels = 3
width = 16
depth = 2
activations = "tanh"
scale = 2.0
"""


@pytest.fixture(scope="module")
def gentle(tmp_path_factory):
    preset = tmp_path_factory.mktemp("zfit") / "gentle.toml"
    preset.write_text(GENTLE)
    return load_generators(preset, seed=3, size=24)


def test_a_reachable_image_is_found_again(gentle):
    trained, twin = gentle
    z_true = torch.randn(2, trained.z_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        targets = trained.draw(z_true).numpy()
    fit = fit_latents(trained, targets, steps=150, restarts=3, seed=1)
    other = fit_latents(twin, targets, steps=150, restarts=3, seed=1)
    assert fit.losses[-1] < 0.01 * fit.losses[0]
    assert fit.loss < 0.01 * other.loss  # the net that drew them reaches them; another random net does not
    assert fit.z.shape == (2, trained.z_dim) and fit.images.shape == (2, 24, 24, 3)


def test_shapes_and_parameters_are_checked(gentle):
    trained, _ = gentle
    with pytest.raises(ParamError, match="targets"):
        fit_latents(trained, np.zeros((1, 1, 24, 24), np.float32))
    with pytest.raises(ParamError, match="steps"):
        fit_latents(trained, np.zeros((1, 3, 24, 24), np.float32), steps=0)


def test_a_fit_too_large_for_memory_is_refused_before_torch_allocates(gentle, monkeypatch):
    from cppnart.errors import UserError

    trained, _ = gentle
    monkeypatch.setenv("CPPNART_MAX_MEMORY", str(1 << 20))
    with pytest.raises(UserError, match=r"z fit of 2 image\(s\) x 4 start\(s\) at 24x24 would hold about"):
        fit_latents(trained, np.zeros((2, 3, 24, 24), np.float32), restarts=4)


def test_z_fit_on_a_full_disk_leaves_neither_the_sheet_nor_the_latents(tmp_path, full_disk, monkeypatch):
    """The sheet is written first; when the latents then find no space, the new sheet goes too, so
    "nothing was left behind" is true."""
    import os

    from PIL import Image
    from typer.testing import CliRunner

    from cppnart.cli import app

    from ..conftest import files_in

    (tmp_path / "gentle.toml").write_text(GENTLE)
    Image.new("RGB", (24, 24), (200, 40, 90)).save(tmp_path / "target.png")
    args = ["z", "fit", str(tmp_path / "target.png"), "--model", str(tmp_path / "gentle.toml"), "--size", "24"]
    args += ["--steps", "3", "--restarts", "1", "--count", "1", "--sheet", "fit.png", "-o", "z.npy"]
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, args).exit_code == 0  # the same run with room: how large its sheet is
    block = os.statvfs(full_disk).f_frsize
    sheet_blocks = -(-(tmp_path / "fit.png").stat().st_size // block)
    monkeypatch.chdir(full_disk)
    free = os.statvfs(full_disk).f_bavail * block
    with open(full_disk / "filler", "wb") as f:  # room for the sheet, not one block more for the latents
        f.write(bytes(free - sheet_blocks * block))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "no space left" in result.output, result.output
    assert files_in(full_disk) == ["filler"]
