"""`cppnart z map RUN`: a tiny ganvae run's latents of its data in 2-D with their density and a
decoded grid over the map (atomic files, a recipe, --json); `z sample --from-data --mixture K`;
bad input is one line with nothing left."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch  # noqa: F401  (the run it maps trains through the CLI: a torch module, see conftest)
from PIL import Image

from cppnart.latent.mixture import fit_mixture

from ..cli import test_ganvae_cli as ganvae
from ..conftest import one_error_line

invoke = ganvae.invoke
trained_run, one_thread_private_cache = ganvae.trained_run, ganvae.one_thread_private_cache  # its fixtures, shared


def _labelled_digits(folder: Path, count: int = 200) -> Path:
    """An MNIST-format IDX pair the test writes (images and their labels beside them): drawing the
    20,000 builtin digits into a fresh cache would cost this test 80 s (measured)."""
    from cppnart.io.digits import synthetic_digits

    images, labels = synthetic_digits(count, seed=11)
    ganvae.write_idx(folder / "t-labels-idx1-ubyte.gz", np.asarray(labels))
    return ganvae.write_idx(folder / "t-images-idx3-ubyte.gz", (np.asarray(images) * 255).round())


def test_z_map_draws_the_latents_their_density_and_the_decoded_grid(trained_run, tmp_path):
    run, _ = trained_run
    out = tmp_path / "map"
    data = _labelled_digits(tmp_path)
    done = invoke("z", "map", run, "--data", data, "--count", "200", "--grid", "5", "--out", out, "--json")
    assert done.exit_code == 0, done.output
    said = json.loads(done.stdout)
    report = json.loads((out / "map.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == ["grid.png", "map.json", "map.png"]  # no temporaries left
    assert report["kind"] == "latent-map" and report["count"] == 200 and report["data"] == str(data)
    assert said["gaps"] == report["gaps"] and 0 < sum(report["explained_variance"]) <= 1.0 + 1e-9
    assert len(report["class_centres"]) == 10  # the IDX file has labels: one centre per class
    assert len(report["grid_density"]) == 25 and max(report["grid_density"]) == 1.0
    with Image.open(out / "map.png") as picture:
        pixels = np.asarray(picture.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 12  # classes' colours over a density field
    from cppnart.render.latent_map import LEGEND_HEIGHT, MAP_SIDE, PALETTE

    assert pixels.shape == (MAP_SIDE + LEGEND_HEIGHT, MAP_SIDE, 3)
    legend = {tuple(c) for c in pixels[MAP_SIDE:].reshape(-1, 3)}
    assert all(tuple(int(v) for v in colour) in legend for colour in PALETTE)  # a square for each class
    with Image.open(out / "grid.png") as sheet:
        cells = np.asarray(sheet.convert("L"), np.float32)
    assert sheet.width > 5 * 14 and cells.std() > 10  # 5 x 5 decoded pictures, not a blank sheet
    again = one_error_line(invoke("z", "map", run, "--out", out))
    assert "already holds a latent map" in again


def test_z_map_refuses_bad_input_in_one_line_and_leaves_nothing(trained_run, tmp_path):
    run, _ = trained_run
    out = tmp_path / "m"
    assert "--grid must be 2..64" in one_error_line(invoke("z", "map", run, "--grid", "1", "--out", out))
    assert "holding encoder.onnx" in one_error_line(invoke("z", "map", tmp_path, "--out", out))
    assert not out.exists()


def test_mixture_samples_keep_to_the_clusters(trained_run, tmp_path):
    run, _ = trained_run
    done = invoke("z", "sample", "--model", run, "--from-data", "--mixture", "3", "--count", "6", "--seed", "2",
                  "-o", tmp_path / "z.npy", "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    z = np.load(tmp_path / "z.npy")
    assert z.shape == (6, 4) and np.isfinite(z).all() and json.loads(done.stdout)["mixture"] == 3
    again = invoke("z", "sample", "--model", run, "--from-data", "--mixture", "3", "--count", "6", "--seed", "2",
                   "-o", tmp_path / "y.npy")  # fmt: skip
    assert again.exit_code == 0 and np.array_equal(np.load(tmp_path / "y.npy"), z)  # seeded
    line = one_error_line(invoke("z", "sample", "--dim", "4", "--mixture", "3", "-o", tmp_path / "x.npy"))
    assert "--mixture" in line and not (tmp_path / "x.npy").exists()


def test_a_mixture_finds_separated_clusters_one_gaussian_cannot():
    rng = np.random.default_rng(0)
    centres = np.array([[-6.0, 0.0], [6.0, 0.0], [0.0, 8.0]])
    z = np.concatenate([c + rng.standard_normal((200, 2)) * 0.5 for c in centres])
    mixture = fit_mixture(z, 3, seed=0)
    found = mixture.means[np.argsort(mixture.means[:, 0] + 0.01 * mixture.means[:, 1])]
    assert np.abs(found - centres[[0, 2, 1]]).max() < 0.3, mixture.means
    one = fit_mixture(z, 1)
    gap = np.array([[0.0, 0.0]])  # between the clusters: likely under one gaussian, not under the mixture
    assert mixture.log_density(gap)[0] < one.log_density(gap)[0] - 5
    samples = mixture.sample(600, np.random.default_rng(1))
    nearest = np.min(np.linalg.norm(samples[:, None] - centres[None], axis=-1), axis=1)
    assert (nearest < 2.0).mean() > 0.98
