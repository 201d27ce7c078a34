"""Data loaders: MNIST IDX files, image folders, the built-in synthetic digits, and bad data."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cppnart.errors import UserError
from cppnart.io.digits import _draw_digits, synthetic_digits
from cppnart.io.images import load_images, read_idx


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CPPNART_CACHE", str(tmp_path / "cache"))


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_idx_reader_round_trips_images_and_finds_labels(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 7, 6), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    suffix = ".gz" if compress else ""
    path = write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, compress)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, compress)
    assert np.array_equal(read_idx(path), images)
    data = load_images(path, channels=1)
    assert data.images.shape == (5, 1, 7, 6) and data.images.dtype == np.float32
    assert np.allclose(data.images[:, 0], images / 255.0)
    assert data.labels.tolist() == [3, 1, 4, 1, 5]


def test_idx_wrong_magic_and_truncation_are_user_errors(tmp_path):
    bad = tmp_path / "not-idx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(UserError, match="wrong magic"):
        read_idx(bad)
    good = write_idx(tmp_path / "images-idx3", np.zeros((4, 3, 3), np.uint8))
    (tmp_path / "short").write_bytes(good.read_bytes()[:-5])
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "short")


def test_image_folder_any_size_grey_or_colour(tmp_path):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    Image.new("L", (10, 8), 200).save(folder / "a.png")
    Image.new("RGB", (10, 8), (255, 0, 0)).save(folder / "sub" / "b.jpg")
    grey = load_images(folder, channels=1)
    assert grey.images.shape == (2, 1, 8, 10) and grey.labels is None
    assert abs(grey.images[0].mean() - 200 / 255) < 1e-6
    colour = load_images(folder, channels=3)
    assert colour.images.shape == (2, 3, 8, 10)
    assert colour.images[1, 0].mean() > 0.9 and colour.images[1, 1].mean() < 0.1  # red stays red
    square = load_images(folder, channels=1, resize=4)  # centre crop 8x8, then 4x4
    assert square.images.shape == (2, 1, 4, 4)


def test_mixed_sizes_need_resize(tmp_path):
    Image.new("L", (10, 8)).save(tmp_path / "a.png")
    Image.new("L", (12, 12)).save(tmp_path / "b.png")
    with pytest.raises(UserError, match="mixed sizes.*give resize a side"):
        load_images(tmp_path, channels=1)
    assert load_images(tmp_path, channels=1, resize=6).images.shape == (2, 1, 6, 6)


def test_empty_folder_and_unreadable_image_are_user_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        load_images(tmp_path / "empty")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.png").write_bytes(b"not a png at all")
    with pytest.raises(UserError, match="cannot read image"):
        load_images(tmp_path / "broken")
    with pytest.raises(UserError, match="not found"):
        load_images(tmp_path / "nowhere")
    with pytest.raises(UserError, match="built-in"):
        load_images("builtin:letters")


def test_builtin_digits_are_varied_labelled_and_reproducible():
    pytest.importorskip("scipy")  # the elastic warps of builtin:digits (train extra)
    images, labels = synthetic_digits(200, seed=3)
    assert images.shape == (200, 28, 28) and sorted(set(labels.tolist())) == list(range(10))
    assert images.min() >= 0 and images.max() <= 1
    # MNIST convention: white ink on black, digit away from the border.
    assert images[:, :2].mean() < 0.02 and images[:, 10:18, 10:18].mean() > 0.2
    for digit in range(10):
        same = images[labels == digit].reshape(-1, 28 * 28)
        # Handwriting varies: copies of one digit differ in many pixels (a font rendered
        # identically would give distance 0), and the set is not one fixed template.
        distances = np.abs(same[:, None] - same[None]).mean(axis=2)[np.triu_indices(len(same), 1)]
        assert distances.min() > 0.01 and distances.mean() > 0.06, (digit, distances.min(), distances.mean())
    # Classes differ on average more than copies of one class do: the digits are recognisable.
    means = np.stack([images[labels == d].mean(axis=0) for d in range(10)]).reshape(10, -1)
    between = np.abs(means[:, None] - means[None]).mean(axis=2)[np.triu_indices(10, 1)]
    assert between.min() > 0.03
    cached, cached_labels = synthetic_digits(200, seed=3)
    redrawn, redrawn_labels = _draw_digits(200, seed=3)  # the cache holds exactly what a redraw gives
    assert np.array_equal(cached, images) and np.array_equal(redrawn, images)
    assert np.array_equal(cached_labels, labels) and np.array_equal(redrawn_labels, labels)
    other, _ = synthetic_digits(200, seed=4)
    assert not np.array_equal(other, images)


def test_builtin_digits_through_load_images_limit_and_channels():
    pytest.importorskip("scipy")  # the elastic warps of builtin:digits (train extra)
    data = load_images("builtin:digits", channels=3, limit=30)
    assert data.images.shape == (30, 3, 28, 28) and len(data.labels) == 30
    assert np.array_equal(data.images[:, 0], data.images[:, 2])


FASHION = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist (.ci/run installs it)


@pytest.mark.skipif(not FASHION.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist_idx_files_are_read_with_their_labels():
    test = load_images(FASHION / "t10k-images-idx3-ubyte.gz")
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype == np.float32
    assert test.images.min() >= 0.0 and test.images.max() <= 1.0
    assert np.bincount(test.labels).tolist() == [1000] * 10  # the test split is balanced
    train = load_images(FASHION / "train-images-idx3-ubyte.gz", limit=500)
    assert train.images.shape == (500, 1, 28, 28) and train.labels is not None and len(set(train.labels)) == 10
