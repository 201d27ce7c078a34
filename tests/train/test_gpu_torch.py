"""The torch side of the GPU path, checked on the CPU: the torch render backend gives onnxruntime's
pixels, and a training run under bf16 autocast runs its steps in bf16 and stays finite. The
tests marked ``gpu`` run on CUDA and skip without it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from cppnart.cli import app
from cppnart.errors import UserError
from cppnart.io.png import quantize
from cppnart.render.bands import render_array
from cppnart.render.canvas import Canvas
from cppnart.render.model import load_model
from cppnart.render.poster import save_poster
from cppnart.train.device import no_tf32, step_precision, training_precision
from cppnart.train.torch_render import TorchRenderer, TorchSession, torch_session

from .test_fit import synthetic_photo, tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# torch (CPU) against onnxruntime (CPU) on the same graph, measured on 8 presets at 128x96:
# max 5.6e-5 of the [0, 1] range (sums in another order), at most 1 level in 8 bits on < 0.1% of pixels.
# With onnxruntime 1.32 and torch 2.13 the sine preset (large pre-activations into sin) reaches
# 1.04e-4, the others stay under 3e-5; a level in 8 bits is 3.9e-3, so 2e-4 still catches a wrong op.
TORCH_MAX, TORCH_LEVELS = 2e-4, 1


@pytest.mark.parametrize("preset", ["classic", "wide", "residual", "softplus", "sine"])
def test_torch_backend_gives_onnxruntime_pixels(preset):
    model = load_model(preset, seed=3)
    z = model.sample_z(1, 2)
    canvas = Canvas(128, 96, chunk=4096)
    ort = render_array(model.session, z, canvas)
    session = torch_session(model.onnx_bytes, "cpu")
    assert session.get_providers() == ["torch:cpu"]
    ours = render_array(session, z, canvas)
    assert np.abs(ort - ours).max() <= TORCH_MAX
    assert np.abs(quantize(ort).astype(int) - quantize(ours).astype(int)).max() <= TORCH_LEVELS


def test_torch_renderer_writes_the_same_poster(tmp_path):
    model = load_model("classic", seed=7)
    z = model.sample_z(7)
    save_poster(model, z, 120, 80, tmp_path / "ort.png")
    save_poster(model, z, 120, 80, tmp_path / "torch.png", renderer=TorchRenderer("cpu"))
    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png")).astype(int) for n in ("ort", "torch"))
    assert a.std() > 20  # a picture, not a flat field
    assert np.abs(a - b).max() <= TORCH_LEVELS


def test_cli_backend_torch(runner, tmp_path):
    args = ["render", "classic", "--seed", "7", "--res", "64x40", "--device", "cpu"]
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "a.png")]).exit_code == 0
    result = runner.invoke(app, [*args, "--backend", "torch", "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 0, result.output
    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png")).astype(int) for n in "ab")
    assert np.abs(a - b).max() <= TORCH_LEVELS


def test_torch_fp16_stays_close():
    model = load_model("classic", seed=3)
    z = model.sample_z(3)
    canvas = Canvas(96, 64, chunk=4096)
    fp32 = render_array(model.session, z, canvas)
    fp16 = render_array(torch_session(model.onnx_bytes, "cpu", "fp16"), z, canvas)
    diff = np.abs(fp32 - fp16)
    assert 0 < diff.max() <= 0.03 and diff.mean() <= 0.003


def test_torch_backend_names_an_op_it_lacks():
    model = onnx.load_from_string(load_model("classic", seed=3).onnx_bytes)
    model.graph.node[-1].op_type = "HardSigmoid"
    with pytest.raises(UserError, match="no op HardSigmoid"):
        TorchSession(model.SerializeToString(), torch.device("cpu"))


def test_tf32_is_off():
    torch.backends.cuda.matmul.allow_tf32 = True
    no_tf32()
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32


def test_bf16_training_runs_its_steps_in_bf16(tmp_path):
    from cppnart.train.fit import fit_image
    from cppnart.train.run import Callbacks

    with step_precision():
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32  # outside: nothing
    with training_precision("cpu", "bf16"), step_precision():
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    seen: list[dict[str, float]] = []
    config = tiny(steps=12, sample_every=6, checkpoint_every=6)
    with training_precision(torch.device("cpu"), "bf16"):
        result = fit_image(
            config,
            synthetic_photo(),
            tmp_path,
            device=torch.device("cpu"),
            callbacks=Callbacks(on_metrics=lambda s, m: seen.append(m)),
        )
    assert result.steps == 12 and len(seen) == 12
    assert all(np.isfinite(m["mse"]) for m in seen) and seen[-1]["mse"] < seen[0]["mse"]
    assert load_model(tmp_path).kind == "fit"  # the export between steps stayed fp32 (verified against ORT)


def test_training_precision_names_the_parameter():
    with pytest.raises(UserError, match="^precision 'fp8' is unknown"), training_precision("cpu", "fp8"):
        pass


# --- on a GPU ------------------------------------------------------------------------------------
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("preset", ["classic", "wide"])
def test_torch_cuda_render_matches_the_cpu(preset):
    model = load_model(preset, seed=3, device="cpu")
    z = model.sample_z(3)
    canvas = Canvas(700, 300, chunk=4096)
    cpu = render_array(model.session, z, canvas)
    gpu = render_array(torch_session(model.onnx_bytes, "cuda"), z, canvas)
    assert np.abs(quantize(cpu).astype(int) - quantize(gpu).astype(int)).max() <= 1


@pytest.mark.gpu
@needs_cuda
def test_bf16_training_on_cuda_stays_finite(tmp_path):
    from cppnart.train.fit import fit_image

    with training_precision("cuda", "bf16"):
        result = fit_image(tiny(steps=12), synthetic_photo(), tmp_path, device=torch.device("cuda"), export=False)
    assert np.isfinite(result.psnr)
