"""The trained-CPPN commands end to end: train ganvae / fit, z encode, z sample --from-data,
render a trained run, and bad data -> exit 2 with one line and nothing written."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app
from cppnart.io.digits import synthetic_digits

from ..conftest import one_error_line

TINY_GANVAE = """
description = "tiny test GAN+VAE"
kind = "ganvae"
z_dim = 4
data_size = 16
crop = 14
data_limit = 120
sample_every = 10
checkpoint_every = 10
sample_count = 4
upscale_size = 24

[generator]
width = 10
depth = 2
activations = ["softplus", "tanh"]
scale = 4.0

[encoder]
width = 24

[discriminator]
channels = [4, 8]

[schedule]
steps = 12
batch = 8
warmup_steps = 6
kl_anneal_steps = 6
"""

TINY_FIT = """
kind = "fit"
channels = 3
max_side = 20
width = 16
depth = 2
activations = "tanh"
fourier_features = 8
fourier_scale = 3.0
steps = 30
batch_pixels = 0
lr = 1e-2
sample_every = 15
checkpoint_every = 15
render_scale = 2
"""


@pytest.fixture(autouse=True)
def one_thread_private_cache(tmp_path_factory, monkeypatch, one_torch_thread):
    monkeypatch.setenv("CPPNART_CACHE", str(tmp_path_factory.getbasetemp() / "digits-cache"))


def write_idx(path: Path, array: np.ndarray) -> Path:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny run trained through the CLI on an MNIST-format IDX file the test writes."""
    base = tmp_path_factory.mktemp("ganvae")
    import os

    os.environ.setdefault("CPPNART_CACHE", str(base / "cache"))
    images, _ = synthetic_digits(120, seed=5)
    data = write_idx(base / "train-images-idx3-ubyte.gz", (images * 255).round())
    preset = base / "tiny.toml"
    preset.write_text(TINY_GANVAE)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    # --threads 1: tiny models run fastest without OpenMP spin-waits on a busy machine.
    result = invoke("train", "ganvae", "--data", data, "--preset", preset, "--out", base / "run", "--threads", 1)
    threads_used = torch.get_num_threads()
    torch.set_num_threads(threads)
    assert threads_used == 1
    assert result.exit_code == 0, result.output
    assert "reconstruction MSE" in result.output
    return base / "run", images


def test_train_ganvae_writes_a_complete_run(trained_run):
    run, _ = trained_run
    names = {p.name for p in run.iterdir()}
    assert {
        "model.onnx",
        "encoder.onnx",
        "latent_stats.npz",
        "checkpoint.pt",
        "summary.json",
        "recon.png",
        "samples",
    } <= names
    assert sorted(p.name for p in (run / "samples").iterdir())[-2:] == ["step-000012-large.png", "step-000012.png"]


def test_encode_sample_from_data_and_render_a_trained_run(trained_run, tmp_path):
    run, images = trained_run
    # a dark-on-light digit (as drawn on paper) is inverted automatically
    Image.fromarray((255 - images[0] * 255).astype(np.uint8)).save(tmp_path / "digit.png")
    Image.fromarray((images[1] * 255).astype(np.uint8)).save(tmp_path / "other.png")
    result = invoke("z", "encode", tmp_path / "digit.png", "--model", run, "-o", tmp_path / "z.npy")
    assert result.exit_code == 0, result.output
    z = np.load(tmp_path / "z.npy")
    assert z.shape == (4,) and np.isfinite(z).all()
    same = invoke("z", "encode", tmp_path / "digit.png", "--model", run, "--invert", "-o", tmp_path / "z2.npy")
    assert same.exit_code == 0 and np.allclose(np.load(tmp_path / "z2.npy"), z)
    both = invoke(
        "z",
        "encode",
        tmp_path / "digit.png",
        tmp_path / "other.png",
        "--model",
        run / "model.onnx",
        "-o",
        tmp_path / "zz.npy",
    )
    assert both.exit_code == 0 and np.load(tmp_path / "zz.npy").shape == (2, 4)

    result = invoke(
        "z", "sample", "--model", run, "--from-data", "--seed", "3", "--count", "5", "-o", tmp_path / "s.npy"
    )
    assert result.exit_code == 0, result.output
    sampled = np.load(tmp_path / "s.npy")
    stats = np.load(run / "latent_stats.npz")
    assert sampled.shape == (5, 4)
    again = invoke(
        "z", "sample", "--model", run, "--from-data", "--seed", "3", "--count", "5", "-o", tmp_path / "t.npy"
    )
    assert again.exit_code == 0 and np.array_equal(np.load(tmp_path / "t.npy"), sampled)
    assert np.abs(sampled.mean(axis=0) - stats["mean"]).max() < 3 * np.sqrt(np.diag(stats["cov"])).max() + 1e-3

    result = invoke("render", run, "--z", tmp_path / "z.npy", "--res", "64x48", "-o", tmp_path / "big.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "big.png").size == (64, 48)

    result = invoke("eval", "ganvae", run, "--count", "50")
    assert result.exit_code == 0 and "reconstruction MSE" in result.output, result.output


def test_from_data_needs_a_trained_run(tmp_path):
    line = one_error_line(invoke("z", "sample", "--model", "classic", "--from-data", "-o", tmp_path / "z.npy"))
    assert "latent_stats.npz" in line
    line = one_error_line(invoke("z", "encode", tmp_path / "x.png", "--model", tmp_path, "-o", tmp_path / "z.npy"))
    assert "run folder" in line


def test_existing_run_needs_resume_and_corrupt_checkpoint_is_refused(trained_run, tmp_path):
    run, _ = trained_run
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    line = one_error_line(invoke("train", "ganvae", "--data", "builtin:digits", "--out", run))
    assert "--resume" in line
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "checkpoint.pt").write_bytes(b"garbage" * 10)
    line = one_error_line(invoke("train", "ganvae", "--out", broken, "--resume"))
    assert "corrupt" in line


def test_resume_continues_a_run_through_the_cli(trained_run, tmp_path):
    import shutil

    run, _ = trained_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    result = invoke("train", "ganvae", "--out", copy, "--resume", "--steps", "14")
    assert result.exit_code == 0, result.output
    assert "14 steps" in result.output


def _bad_data(tmp_path: Path, case: str) -> Path:
    folder = tmp_path / case
    folder.mkdir()
    if case == "empty":
        return folder
    if case == "unreadable":
        (folder / "a.png").write_bytes(b"this is no png")
        return folder
    if case == "mixed":
        Image.new("L", (28, 28)).save(folder / "a.png")
        Image.new("L", (30, 20)).save(folder / "b.png")
        return folder
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x07\x03" + bytes(64))  # dtype code 7 does not exist: wrong magic
    return path


@pytest.mark.parametrize(
    "case,words",
    [("empty", "no images"), ("unreadable", "cannot read image"), ("mixed", "mixed sizes"), ("magic", "wrong magic")],
)
def test_bad_data_is_one_line_exit_2_and_writes_nothing(tmp_path, case, words):
    data = _bad_data(tmp_path, case)
    out = tmp_path / "out"
    line = one_error_line(invoke("train", "ganvae", "--data", data, "--out", out))
    assert words in line
    assert not out.exists()


def test_mixed_sizes_train_with_resize(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    images, _ = synthetic_digits(12, seed=1)
    for i, image in enumerate(images):
        size = 28 if i % 2 else 40
        Image.fromarray((image * 255).astype(np.uint8)).resize((size, size)).save(folder / f"{i}.png")
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_GANVAE.replace("steps = 12", "steps = 2"))
    result = invoke("train", "ganvae", "--data", folder, "--resize", "--preset", preset, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output


def test_train_fit_on_an_image_file(tmp_path):
    yy, xx = np.mgrid[0:30, 0:40]
    image = np.stack([xx / 40, yy / 30, 0.5 + 0.5 * np.sin(xx / 5.0)], axis=-1)
    Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    preset = tmp_path / "fit.toml"
    preset.write_text(TINY_FIT)
    result = invoke("train", "fit", tmp_path / "photo.png", "--preset", preset, "--out", tmp_path / "fit")
    assert result.exit_code == 0, result.output
    assert "PSNR" in result.output
    assert Image.open(tmp_path / "fit" / "render.png").size == (40, 30)  # fitted at 20x15, rendered 2x
    line = one_error_line(
        invoke("train", "fit", tmp_path / "missing.png", "--preset", preset, "--out", tmp_path / "f2")
    )
    assert "not found" in line


@pytest.mark.parametrize("command", [["glyph", "--preset", "glyph-quick"], ["ganvae"], ["fit", "photo.png"]])
def test_bad_threads_is_one_line_exit_2_and_writes_nothing(tmp_path, command):
    out = tmp_path / "run"
    line = one_error_line(invoke("train", *command, "--out", out, "--threads", 0))
    assert "--threads must be at least 1" in line
    assert not out.exists()
