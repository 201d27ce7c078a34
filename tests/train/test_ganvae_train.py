"""GAN+VAE training on tiny seeded models: learns, exports faithfully, resumes exactly."""

from __future__ import annotations

import dataclasses
import os
import signal

import numpy as np
import pytest
import torch

from cppnart.configs.ganvae import CPPNGeneratorConfig, DiscriminatorConfig, EncoderConfig, GanVaeConfig, ScheduleConfig
from cppnart.graph.export import cppn_model
from cppnart.render.coords import grid
from cppnart.render.model import load_model
from cppnart.render.runtime import create_session
from cppnart.train.checkpoint import load_checkpoint
from cppnart.train.ganvae import (
    build_nets,
    export_run,
    load_training_images,
    random_crops,
    split_holdout,
    train_ganvae,
)
from cppnart.train.loop import Interrupted
from cppnart.train.run import Callbacks

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_config(**schedule) -> GanVaeConfig:
    base = dict(
        kind="stable", steps=40, batch=16, lr=3e-3, lr_d=1e-3, warmup_steps=20, kl_anneal_steps=20, adv_weight=0.05
    )
    base.update(schedule)
    return GanVaeConfig(
        name="tiny",
        z_dim=4,
        channels=1,
        data_size=16,
        crop=14,
        data_limit=300,
        generator=CPPNGeneratorConfig(width=12, depth=2, activations=("softplus", "tanh"), scale=4.0),
        encoder=EncoderConfig(width=32, layers=2),
        discriminator=DiscriminatorConfig(channels=(4, 8)),
        schedule=ScheduleConfig(**base),
        sample_every=20,
        checkpoint_every=10,
        sample_count=4,
        upscale_size=32,
    )


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    os.environ["CPPNART_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    return load_training_images("builtin:digits", tiny_config(), resize=False)


def states(nets) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value.clone()
        for name in ("encoder", "generator", "discriminator")
        for key, value in getattr(nets, name).state_dict().items()
    }


def test_trained_tiny_model_reconstructs_better_than_untrained(digits, tmp_path):
    result = train_ganvae(tiny_config(), digits, tmp_path / "run", device=CPU)
    assert result.steps == 40
    assert result.recon_mse < 0.8 * result.recon_mse_untrained, (result.recon_mse, result.recon_mse_untrained)
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"model.onnx", "encoder.onnx", "latent_stats.npz", "checkpoint.pt", "recon.png", "summary.json"} <= files
    assert (tmp_path / "run" / "samples" / "step-000040.png").is_file()
    assert (tmp_path / "run" / "samples" / "step-000040-large.png").is_file()
    # The exported run renders through the normal path, at training size and far above it.
    model = load_model(tmp_path / "run")
    assert model.kind == "ganvae" and model.z_prior == "normal" and model.z_dim == 4
    assert model.render(model.sample_z(1), 14, 14).shape == (14, 14, 1)
    assert model.render(model.sample_z(1), 130, 130).shape == (130, 130, 1)


def test_reference_schedule_runs_and_gates_the_discriminator(digits, tmp_path):
    config = tiny_config(kind="reference", steps=3, lr_vae=1e-3, lr_g=1e-3)
    result = train_ganvae(config, digits, tmp_path / "ref", device=CPU, export=False)
    assert result.steps == 3 and np.isfinite(result.recon_mse)


def test_onnx_generator_and_encoder_match_torch(digits, tmp_path):
    config = tiny_config()
    torch.manual_seed(5)
    nets = build_nets(config, CPU)
    train, holdout = split_holdout(digits)
    tmp_path.mkdir(exist_ok=True)
    export_run(config, nets, train[:50], holdout[:20], tmp_path, CPU)
    coords = grid(23, 17)  # an odd size the generator never saw
    z = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    with torch.no_grad():
        expected = nets.generator(torch.from_numpy(coords), torch.from_numpy(z)).numpy()
    got = load_model(tmp_path / "model.onnx").session.run(None, {"coords": coords, "z": z})[0]
    assert np.abs(got - expected).max() < 1e-5
    # the numpy-built graph is the same function as a direct conversion
    direct = create_session(
        cppn_model(nets.generator.to_weights(), preset="t", seed=0, config={}).SerializeToString(), "cpu"
    ).run(None, {"coords": coords, "z": z})[0]
    assert np.abs(direct - got).max() == 0
    images = train[:5, :, 1:15, 1:15].numpy()
    encoder = create_session((tmp_path / "encoder.onnx").read_bytes(), "cpu")
    with torch.no_grad():
        mu = nets.encoder(torch.from_numpy(images))[0].numpy()
    assert np.abs(encoder.run(None, {"image": images})[0] - mu).max() < 1e-5
    stats = np.load(tmp_path / "latent_stats.npz")
    assert stats["mean"].shape == (4,) and stats["cov"].shape == (4, 4)


@pytest.mark.parametrize("kind", ["stable", "reference"])
def test_resume_equals_uninterrupted(digits, tmp_path, kind):
    # stable crosses its warm-up (20) so adversarial steps are included; a reference step is
    # already ~9 updates of all three networks.
    steps, stop = (24, 13) if kind == "stable" else (4, 2)
    extra = dict(lr_vae=1e-3, lr_g=1e-3) if kind == "reference" else {}
    full = tiny_config(kind=kind, steps=steps, **extra)
    straight = tmp_path / "straight"
    train_ganvae(full, digits, straight, device=CPU, export=False)
    half = dataclasses.replace(full, schedule=dataclasses.replace(full.schedule, steps=stop))
    resumed = tmp_path / "resumed"
    train_ganvae(half, digits, resumed, device=CPU, export=False)
    payload = load_checkpoint(resumed / "checkpoint.pt")
    assert payload["step"] == stop
    train_ganvae(full, digits, resumed, device=CPU, payload=payload, export=False)
    a = load_checkpoint(straight / "checkpoint.pt")
    b = load_checkpoint(resumed / "checkpoint.pt")
    assert a["step"] == b["step"] == steps
    for net in ("encoder", "generator", "discriminator", "opt_vae", "opt_d"):
        flat_a, flat_b = _tensors(a["states"][net]), _tensors(b["states"][net])
        assert flat_a.keys() == flat_b.keys()
        for key in flat_a:
            assert torch.equal(flat_a[key], flat_b[key]), (net, key)


def _tensors(tree, prefix="") -> dict[str, torch.Tensor]:
    out = {}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, (list, tuple)) else []
    for key, value in items:
        if isinstance(value, torch.Tensor):
            out[f"{prefix}{key}"] = value
        else:
            out.update(_tensors(value, f"{prefix}{key}."))
    return out


def test_ctrl_c_saves_a_checkpoint_between_steps(digits, tmp_path):
    def interrupt(step, metrics):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted) as stop:
        train_ganvae(tiny_config(), digits, tmp_path / "run", device=CPU, callbacks=Callbacks(on_metrics=interrupt))
    assert stop.value.step == 5
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 5
    assert not (tmp_path / "run" / "model.onnx").exists()


def test_random_crops_are_windows_of_the_images():
    images = torch.arange(2 * 1 * 5 * 5, dtype=torch.float32).reshape(2, 1, 5, 5)
    crops = random_crops(images, 3, torch.Generator().manual_seed(0))
    assert crops.shape == (2, 1, 3, 3)
    for image, crop in zip(images, crops):
        found = any(torch.equal(image[:, r : r + 3, c : c + 3], crop) for r in range(3) for c in range(3))
        assert found


def test_a_smaller_final_beta_lets_the_latents_carry_more(digits, tmp_path):
    def run(beta: float, name: str) -> dict[int, dict[str, float]]:
        seen: dict[int, dict[str, float]] = {}

        def remember(step: int, metrics: dict[str, float]) -> None:
            if "kl" in metrics:
                seen[step] = metrics

        config = tiny_config(beta=beta, kl_anneal_steps=10)
        train_ganvae(config, digits, tmp_path / name, device=CPU, callbacks=Callbacks(on_metrics=remember))
        return seen

    full, light = run(1.0, "full"), run(0.05, "light")
    assert light[max(light)]["beta"] == pytest.approx(0.05)  # annealed up to the configured weight, not to 1
    # The KL is what the latents carry about each image; a lighter weight on it lets them carry
    # more (measured: 0.009 nats at beta 1 against 0.06 at 0.05, over the last 10 steps).
    last = sorted(full)[-10:]
    assert np.mean([light[s]["kl"] for s in last]) > 3 * np.mean([full[s]["kl"] for s in last])


def test_final_beta_must_be_positive():
    from cppnart.configs.schema import check_fields
    from cppnart.errors import UserError

    with pytest.raises(UserError, match=r"'schedule.beta' must be in \(0, "):
        check_fields(tiny_config(beta=0.0), "tiny")
