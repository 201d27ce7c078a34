"""`dream` on a classifier someone else trained and published: ccexam's SVHN net (RGB 32x32, its
weights in the wheel), exported to ONNX here, converted by onnx2torch beside a CPU torch. The
conversion matches onnxruntime, gradients reach the image, the layers have readable names, the
input normalisation comes from the file's metadata or the flags, a model of any input size needs
--size, and bad flags are one line with nothing left."""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cppnart.cli import app
from cppnart.train.dream import DreamSettings, dream
from cppnart.train.dream.params import PhaseStack, PixelStack, probe_pool
from cppnart.train.packaged import packaged_onnx
from cppnart.train.targets import load_target

from ..conftest import one_error_line

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(importlib.util.find_spec("onnx2torch") is None, reason="needs pip install --no-deps onnx2torch"),
    pytest.mark.skipif(importlib.util.find_spec("ccexam") is None, reason="needs pip install --no-deps ccexam"),
]
LOGITS = "classifier.4/Gemm"


@pytest.fixture(scope="module")
def svhn(tmp_path_factory) -> Path:
    return packaged_onnx("svhn", tmp_path_factory.mktemp("svhn") / "svhn.onnx")


def svhn_samples() -> tuple[np.ndarray, list[int]]:
    """ccexam's own SVHN sample crops [N, 3, 32, 32] in [0, 1] and their digits."""
    from PIL import Image

    found, digits = [], []
    for digit in (0, 1, 2, 5):
        with importlib.resources.as_file(
            importlib.resources.files("ccexam") / "samples" / f"svhn_digit_{digit}.png"
        ) as f:
            picture = Image.open(f).convert("RGB").resize((32, 32))
        found.append(np.asarray(picture, np.float32).transpose(2, 0, 1) / 255.0)
        digits.append(digit)
    return np.stack(found), digits


def softmax(logits: np.ndarray) -> np.ndarray:
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def test_the_published_classifier_converts_with_parity_and_gradients(svhn):
    import onnxruntime as ort

    target = load_target(svhn)
    assert (target.kind, target.channels, target.size) == ("onnx", 3, (32, 32))
    assert target.normalise == ((0.4377, 0.4438, 0.4728), (0.198, 0.201, 0.197))  # from the file's metadata
    images, digits = svhn_samples()
    mean, std = (np.array(v, np.float32).reshape(1, 3, 1, 1) for v in target.normalise)
    expected = ort.InferenceSession(str(svhn)).run(None, {"images": (images - mean) / std})[0]
    x = torch.from_numpy(images).requires_grad_(True)
    got = target.run(x, LOGITS)
    diff = float(np.abs(got.detach().numpy() - expected).max())
    print(f"svhn: max |torch - onnxruntime| = {diff:.2e} over logits of size {np.abs(expected).max():.1f}")
    assert diff < 1e-4
    assert expected.argmax(1).tolist() == digits  # the published weights read the package's own samples
    got[:, 3].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_layers_lists_readable_names_and_shapes(svhn, runner, tmp_path):
    listed = runner.invoke(app, ["layers", str(svhn), "--json"])
    assert listed.exit_code == 0, listed.output
    found = json.loads(listed.stdout)
    names = [layer["name"] for layer in found["layers"]]
    assert names[:2] == ["features.0.0/Conv", "features.0.2/Relu"] and names[-1] == LOGITS
    assert found["layers"][0]["shape"] == [32, 32, 32] and found["layers"][-1]["shape"] == [10]
    assert found["normalise"]["mean"] == [0.4377, 0.4438, 0.4728]
    unnamed = packaged_onnx("svhn", tmp_path / "unnamed.onnx", strip_names=True)
    layers = load_target(unnamed).layers
    # the nodes' outputs still say where each layer is (the last one's is the graph's "logits")
    assert list(layers) == [*names[:-1], "logits/Gemm"]
    assert [layer.shape for layer in layers.values()] == [tuple(layer["shape"]) for layer in found["layers"]]


def test_mean_and_std_asked_match_the_metadata(svhn, tmp_path, runner):
    bare = packaged_onnx("svhn", tmp_path / "bare.onnx", metadata=False)
    assert load_target(bare).normalise is None
    asked = load_target(bare, mean=(0.4377, 0.4438, 0.4728), std=(0.198, 0.201, 0.197))
    images = torch.from_numpy(svhn_samples()[0])
    with torch.no_grad():
        assert torch.allclose(asked.run(images, LOGITS), load_target(svhn).run(images, LOGITS), atol=1e-5)
    listed = runner.invoke(app, ["layers", str(bare), "--mean", "0.5", "--std", "0.25"])
    assert listed.exit_code == 0 and "mean [0.5, 0.5, 0.5] std [0.25, 0.25, 0.25]" in listed.stdout, listed.output


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--mean", "0.1,0.2"], "--mean has 2 values"),
        (["--std", "1,2,3,4"], "--std has 4 values"),
        (["--std", "0,1,1"], "--std must be finite and positive"),
        (["--mean", "a,b"], "--mean 'a,b' is not comma-separated numbers"),
        (["--size", "64"], "--size must be left out"),
        (["--layer", "nope"], "has no layer 'nope'"),
    ],
)
def test_bad_input_flags_are_one_line_and_leave_nothing(svhn, runner, tmp_path, flags, says):
    out = tmp_path / "d"
    args = ["dream", str(svhn), "--out", str(out), *flags] + ([] if "--layer" in flags else ["--class", "3"])
    assert says in one_error_line(runner.invoke(app, args))
    assert not out.exists()


def test_a_model_of_any_input_size_needs_a_size(tmp_path, runner):
    import onnx

    path = packaged_onnx("mnist", tmp_path / "any.onnx")
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"  # as fully convolutional models declare it
    onnx.save(model, str(path))
    out = tmp_path / "d"
    line = one_error_line(runner.invoke(app, ["dream", str(path), "--class", "1", "--out", str(out)]))
    assert "--size is needed" in line and not out.exists()
    listed = runner.invoke(app, ["layers", str(path), "--size", "28"])
    assert listed.exit_code == 0 and "input 1x28x28" in listed.stdout, listed.output


def test_class_visualisations_of_the_published_model_read_as_their_class(svhn, tmp_path):
    """The cppn solution, drawn by onnxruntime from its model.onnx at 32x32, is read as its digit."""
    import onnxruntime as ort

    target = load_target(svhn)
    settings = DreamSettings(layer=LOGITS, units=(3, 7), steps=96, probe=4)
    result = dream(target, settings, tmp_path / "d")
    mean, std = (np.array(v, np.float32).reshape(1, 3, 1, 1) for v in target.normalise)
    p = softmax(ort.InferenceSession(str(svhn)).run(None, {"images": (result.images - mean) / std})[0])
    assert p[0, 3] >= 0.9 and p[1, 7] >= 0.9, p
    assert result.images.std() > 0.05  # a picture, not a grey field


@pytest.mark.parametrize("param", ["maco", "fft"])
def test_rgb_baselines_climb_in_the_decorrelated_space(svhn, tmp_path, param):
    target = load_target(svhn)
    result = dream(target, DreamSettings(layer=LOGITS, units=(4,), steps=48, probe=4, param=param, lr=0.05), tmp_path)
    sol = result.report["solutions"][0]
    assert sol["responded"] and sol["final_activation"] > sol["start_activation"] + 1.0, sol
    assert (tmp_path / "image.png").is_file()


def test_maco_optimises_the_phase_only():
    settings = DreamSettings(layer=LOGITS, param="maco", probe=3)
    real = np.random.default_rng(0).random((8, 3, 16, 16), np.float32)
    pool = probe_pool(settings, 3, (16, 16), real)
    assert isinstance(pool, PhaseStack) and [n for n, _ in pool.named_parameters()] == ["phase"]
    centred = torch.from_numpy(real) - torch.from_numpy(real).mean(dim=(2, 3), keepdim=True)
    expected = torch.fft.rfft2(centred).abs().mean(0)
    expected[:, 0, 0] = 0
    assert torch.allclose(pool.magnitude, expected)  # the data's own spectrum, fixed
    images = pool.images()
    assert images.shape == (3, 3, 16, 16) and float(images.min()) > 0 and float(images.max()) < 1


def test_the_decorrelated_space_keeps_the_start_picture():
    start = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    for fft in (False, True):
        assert torch.allclose(PixelStack(start, fft=fft).images(), torch.sigmoid(start), atol=1e-5)


def test_dataset_examples_sit_beside_each_visualisation(tmp_path, runner):
    """With --data, the real images that excite each class logit most: in report.json (index,
    activation, label) and beside the picture in sheet.png; for a class they are mostly that class."""
    from PIL import Image

    mnist = packaged_onnx("mnist", tmp_path / "mnist.onnx")
    out = tmp_path / "d"
    args = ["dream", str(mnist), "--class", "3", "--data", "builtin:digits", "--examples", "3", "--steps", "16"]
    done = runner.invoke(app, [*args, "--probe", "2", "--out", str(out), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "report.json").read_text())
    shown = report["solutions"][0]["examples"]
    assert report["data"] == "builtin:digits" and len(shown) == 3
    assert [e["label"] for e in shown].count(3) >= 2, shown
    assert shown[0]["activation"] >= shown[1]["activation"] >= shown[2]["activation"]
    with Image.open(out / "sheet.png") as sheet:  # one row: the picture, then its three real images
        assert sheet.width > 2.8 * sheet.height  # 4 cells of 56 px and a label strip
    line = one_error_line(
        runner.invoke(app, ["dream", str(mnist), "--class", "3", "--examples", "2", "--out", str(tmp_path / "e")])
    )
    assert "--examples needs real images" in line and not (tmp_path / "e").exists()


NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.mark.parametrize(
    "written, third",
    [
        (",".join(NAMES), "three"),
        (json.dumps(list(NAMES)), "three"),
        ("a,b,c", None),  # three names for ten logits: not the classes of this layer
        ("[1, 2]", None),  # numbers are not names
        ("[unclosed", None),
        (json.dumps([*NAMES[:3], "th\x1b[2Jree", *NAMES[4:]]), "th?[2Jree"),  # no terminal escape passes
    ],
)
def test_class_names_come_from_the_models_metadata(tmp_path, runner, written, third):
    """A foreign model's `classes` metadata names the last layer's units in report.json, the sheet's
    labels and the summary line; names that do not fit the last layer are ignored, not trusted."""
    import onnx

    path = packaged_onnx("mnist", tmp_path / "named.onnx")
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = "classes", written
    onnx.save(model, str(path))
    target = load_target(path)
    assert target.unit_name(list(target.layers)[-1], 3) == third
    assert target.unit_name(next(iter(target.layers)), 3) is None  # a hidden layer's channel has no class
    out = tmp_path / "d"
    args = ["dream", str(path), "--class", "3", "--steps", "8", "--probe", "2", "--out", str(out), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["solutions"][0]["name"] == third
    plain = runner.invoke(app, [*args[:-3], "--out", str(tmp_path / "again")])
    assert (f"({third})" in plain.output) == (third is not None), plain.output
