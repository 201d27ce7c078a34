"""`train fit`: a small CPPN fitted to a small synthetic image reaches a PSNR bound on CPU."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch
from PIL import Image

from cppnart.configs.ganvae import FitConfig
from cppnart.graph.export import cppn_model
from cppnart.render.coords import grid
from cppnart.render.model import load_model
from cppnart.render.runtime import create_session
from cppnart.train.checkpoint import load_checkpoint
from cppnart.train.fit import build_fit_cppn, fit_image, psnr
from cppnart.train.loop import Interrupted
from cppnart.train.run import Callbacks

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def synthetic_photo(width: int = 24, height: int = 16) -> np.ndarray:
    """A smooth 'photo': sky gradient, a sun disc and a darker ground band, [H, W, 3]."""
    xy = grid(width, height).reshape(height, width, 2)
    x, y = xy[..., 0], xy[..., 1]
    sky = np.stack([0.3 + 0.2 * y, 0.5 + 0.2 * y, 0.9 - 0.1 * y], axis=-1)
    sun = (0.5 - 0.5 * np.tanh(((x - 0.5) ** 2 + (y + 0.3) ** 2 - 0.09) * 20))[..., None]
    image = sky * (1 - sun) + np.array([1.0, 0.85, 0.3]) * sun
    ground = (0.5 + 0.5 * np.tanh((y - 0.45) * 10))[..., None]
    image = image * (1 - ground) + np.array([0.25, 0.45, 0.2]) * ground
    return np.clip(image, 0, 1).astype(np.float32)


def tiny(**kw) -> FitConfig:
    base = dict(
        channels=3,
        max_side=64,
        width=32,
        depth=2,
        activations=("tanh",),
        fourier_features=16,
        fourier_scale=3.0,
        steps=150,
        batch_pixels=0,
        lr=1e-2,
        lr_final=1e-3,
        sample_every=75,
        checkpoint_every=50,
        render_scale=3,
    )
    base.update(kw)
    return FitConfig(**base)


def test_fit_reaches_psnr_bound_and_exports(tmp_path):
    target = synthetic_photo()
    result = fit_image(tiny(), target, tmp_path, device=CPU)
    assert result.steps == 150
    assert result.psnr > 25.0, result.psnr  # the ONNX model rendered at 24x16
    # the poster render: 3x the size, same picture (box-downsampled back it is close to the fit)
    poster = np.asarray(Image.open(tmp_path / "render.png"), dtype=np.float32) / 255
    assert poster.shape == (48, 72, 3)
    down = poster.reshape(16, 3, 24, 3, 3).mean(axis=(1, 3))
    assert psnr(down, target) > 22.0
    model = load_model(tmp_path)
    assert model.kind == "fit" and model.z_dim == 1
    assert (tmp_path / "samples" / "step-000150.png").is_file()


def test_fit_without_fourier_features_is_a_plain_cppn(tmp_path):
    result = fit_image(
        tiny(fourier_features=0, scale=2.0, steps=60), synthetic_photo(), tmp_path, device=CPU, export=False
    )
    assert result.psnr > 15.0


@pytest.mark.parametrize("features", [0, 8])
def test_fit_onnx_matches_torch(features):
    model = build_fit_cppn(tiny(fourier_features=features), generator=torch.Generator().manual_seed(0))
    coords = grid(11, 7)
    z = np.zeros((2, 1), np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(coords), torch.from_numpy(z)).numpy()
    session = create_session(cppn_model(model.to_weights(), preset="t", seed=0, config={}).SerializeToString(), "cpu")
    assert np.abs(session.run(None, {"coords": coords, "z": z})[0] - expected).max() < 1e-5


def test_fit_resume_equals_uninterrupted(tmp_path):
    target = synthetic_photo(12, 8)
    config = tiny(steps=20, batch_pixels=40, checkpoint_every=5)
    fit_image(config, target, tmp_path / "a", device=CPU, export=False)

    def ctrl_c(step, metrics):  # the learning-rate schedule spans all 20 steps: stop at 9 as Ctrl-C does
        if step == 9:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted):
        fit_image(config, target, tmp_path / "b", device=CPU, export=False, callbacks=Callbacks(on_metrics=ctrl_c))
    payload = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert payload["step"] == 9
    fit_image(config, target, tmp_path / "b", device=CPU, payload=payload, export=False)
    a = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["states"]["model"]
    b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")["states"]["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
