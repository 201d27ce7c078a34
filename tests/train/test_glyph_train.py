"""Glyph training on CPU with tiny seeded models: it learns, resumes exactly, exports faithfully."""

from __future__ import annotations

import os
import re
import signal

import numpy as np
import onnx
import pytest
import torch

from cppnart.configs.glyph import GlyphConfig
from cppnart.render.coords import grid
from cppnart.render.model import load_model
from cppnart.train.checkpoint import load_checkpoint
from cppnart.train.glyph import (
    build_models,
    export_generator,
    glyph_look,
    ink_over_budget,
    seeded_recovery,
    train_glyph,
    untrained_models,
)
from cppnart.train.loop import Every, Interrupted
from cppnart.train.resolve import resolve_run
from cppnart.train.run import Callbacks

from ..glyph_fixtures import TINY_CONV, TINY_GLYPH, TINY_INK, TINY_STROKES, tiny_config

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("glyph") / "run"
    config = tiny_config()
    result = train_glyph(config, out, device="cpu")
    return config, out, result


def _trained_models(config, out):
    models = build_models(config, CPU)
    states = load_checkpoint(out / "checkpoint.pt")["states"]
    models.generator.load_state_dict(states["generator"])
    models.decoder.load_state_dict(states["decoder"])
    return models


def test_training_beats_untrained(trained_run):
    config, out, result = trained_run
    trained = seeded_recovery(_trained_models(config, out), config, 512, seed=1)
    untrained = seeded_recovery(untrained_models(config, CPU), config, 512, seed=1)
    # R² = 1 - MSE/var: higher recovery is lower loss on the same messages.
    assert abs(untrained.r2) < 0.1
    assert trained.r2 > untrained.r2 + 0.05
    assert trained.cosine > untrained.cosine + 0.1
    losses = [
        float(line.split('"loss": ')[1].split(",")[0]) for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    assert losses[-1] < 0.95  # the untrained read-back MSE is ~1 (the message variance)


def test_run_folder_contents(trained_run):
    config, out, result = trained_run
    assert result.steps == 40
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checkpoint.pt", "messages.npy", "metrics.jsonl", "model.onnx", "samples", "sheet.png"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-000020.png", "step-000040.png"]
    assert np.load(out / "messages.npy").shape == (8, 8)


def test_resume_after_ctrl_c_equals_uninterrupted(tmp_path):
    config = tiny_config(steps=12, checkpoint_every=5, eval_every=4, sample_every=6)
    straight = tmp_path / "straight"
    train_glyph(config, straight, device="cpu", export=False)

    def press_ctrl_c(step):
        os.kill(os.getpid(), signal.SIGINT)

    broken = tmp_path / "broken"
    with pytest.raises(Interrupted) as stop:
        train_glyph(
            config,
            broken,
            device="cpu",
            export=False,
            callbacks=Callbacks(every=[Every(7, press_ctrl_c, at_end=False)]),
        )
    assert stop.value.step == 7
    assert load_checkpoint(broken / "checkpoint.pt")["step"] == 7
    resumed, payload = resolve_run(GlyphConfig, None, broken, resume=True)
    train_glyph(resumed, broken, payload=payload, device="cpu", export=False)

    a, b = load_checkpoint(straight / "checkpoint.pt"), load_checkpoint(broken / "checkpoint.pt")
    assert a["step"] == b["step"] == 12
    for name in ("generator", "decoder"):
        for key, value in a["states"][name].items():
            assert torch.equal(value, b["states"][name][key]), f"{name}.{key}"
    exp_a = a["states"]["optimizer"]["state"]
    for index, state in exp_a.items():
        assert torch.equal(state["exp_avg_sq"], b["states"]["optimizer"]["state"][index]["exp_avg_sq"])
    assert (straight / "metrics.jsonl").read_text() != ""
    steps = [line.split(",")[0] for line in (broken / "metrics.jsonl").read_text().splitlines()]
    assert steps == [line.split(",")[0] for line in (straight / "metrics.jsonl").read_text().splitlines()]


def test_cppn_export_matches_torch_at_two_resolutions(trained_run):
    config, out, result = trained_run
    proto = onnx.load(out / "model.onnx")
    onnx.checker.check_model(proto, full_check=True)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["kind"] == "glyph" and meta["interface"] == "coords" and meta["z_dim"] == "8"
    assert meta["z_prior"] == "normal"

    generator = _trained_models(config, out).generator.eval()
    model = load_model(out / "model.onnx", device="cpu")
    z = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    with torch.no_grad():
        expected = generator.images(torch.from_numpy(z)).permute(0, 2, 3, 1).numpy()  # [B, 16, 16, 1]
    native = model.render(z, 16, 16)
    assert np.max(np.abs(native - expected)) < 1e-4  # training grid == render grid

    # Resolution independence: 4x the pixels, box-downsampled, is (nearly) the native render.
    big = model.render(z, 64, 64)
    down = big.reshape(3, 16, 4, 16, 4, 1).mean(axis=(2, 4))
    assert np.mean(np.abs(down - native)) < 0.02
    with torch.no_grad():
        dense = generator(torch.from_numpy(grid(64, 64)), torch.from_numpy(z)).numpy().reshape(3, 64, 64, 1)
    assert np.max(np.abs(big - dense)) < 1e-4


def test_conv_export_matches_torch(tmp_path):
    config = tiny_config(TINY_CONV)
    torch.manual_seed(0)
    models = build_models(config, CPU)
    # A few train-mode batches so BatchNorm's running statistics are not the defaults.
    for _ in range(3):
        models.generator.images(torch.randn(16, 8))
    path = export_generator(models.generator, config, tmp_path / "model.onnx")
    model = load_model(path, device="cpu")
    assert model.interface == "image" and model.native_size == (15, 15)
    z = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    with torch.no_grad():
        expected = models.generator.eval()(torch.from_numpy(z)).numpy()
    got = model.session.run(None, {"z": z})[0]
    assert got.shape == (5, 1, 15, 15)
    assert np.max(np.abs(got - expected)) < 1e-4


def test_conv_glyph_renders_at_native_size_unless_asked(tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from cppnart.cli import app

    config = tiny_config(TINY_CONV)
    torch.manual_seed(0)
    path = export_generator(build_models(config, CPU).generator, config, tmp_path / "model.onnx")
    msg = tmp_path / "msg.npy"
    np.save(msg, np.random.default_rng(2).standard_normal(8).astype(np.float32))
    runner = CliRunner()
    native = runner.invoke(app, ["render", str(path), "--z", str(msg), "-o", str(tmp_path / "native.png")])
    assert native.exit_code == 0, native.output
    assert Image.open(tmp_path / "native.png").size == (15, 15)
    big = runner.invoke(app, ["render", str(path), "--z", str(msg), "--res", "60x60", "-o", str(tmp_path / "big.png")])
    assert big.exit_code == 0, big.output
    assert Image.open(tmp_path / "big.png").size == (60, 60)


def _train_beats_untrained(config, tmp_path):
    """Train a tiny run, check it reads messages back better than untrained; its result, models and look."""
    result = train_glyph(config, tmp_path / "run", device="cpu")
    models = _trained_models(config, tmp_path / "run")
    trained = seeded_recovery(models, config, 256, seed=1)
    untrained = seeded_recovery(untrained_models(config, CPU), config, 256, seed=1)
    assert trained.r2 > untrained.r2 + 0.05
    return result, models, glyph_look(models, config, 64, seed=1)


def test_stroke_glyphs_learn_look_like_marks_and_export_faithfully(tmp_path):
    config = tiny_config(TINY_STROKES, steps=60)
    result, models, look = _train_beats_untrained(config, tmp_path)
    assert look.checkerboard < 0.01  # painted strokes leave no period-2 pattern
    assert 0.02 < look.ink < 0.5  # marks on a ground: some ink, a minority of the canvas

    model = load_model(result.model, device="cpu")
    assert model.interface == "coords"
    z = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    with torch.no_grad():
        expected = models.generator.eval().images(torch.from_numpy(z)).permute(0, 2, 3, 1).numpy()
    assert np.max(np.abs(model.render(z, 16, 16) - expected)) < 1e-4
    with torch.no_grad():
        dense = models.generator(torch.from_numpy(grid(48, 40)), torch.from_numpy(z)).numpy().reshape(3, 40, 48, 1)
    assert np.max(np.abs(model.render(z, 48, 40) - dense)) < 1e-4  # any size, not just the training grid


def test_layout_places_cppn_glyphs_by_their_message_and_exports(tmp_path):
    config = tiny_config(TINY_GLYPH.replace('type = "cppn"', 'type = "cppn"\nlayout = true'))
    torch.manual_seed(0)
    generator = build_models(config, CPU).generator.eval()
    z = torch.randn(64, 8, generator=torch.Generator().manual_seed(3))
    coords = torch.from_numpy(grid(16, 16))
    with torch.no_grad():
        placed = generator.place(coords, z)  # [B, N, 2]
        offsets = placed[:, len(coords) // 2 + 8] - coords[len(coords) // 2 + 8]  # where the centre pixel moved
        # The glyph is the layout-free network read at the placed coordinates ...
        layout, generator.layout = generator.layout, None
        unplaced = torch.stack([generator(c, zi[None])[0] for c, zi in zip(placed[:4], z[:4])])
        generator.layout = layout
        assert torch.allclose(generator(coords, z[:4]), unplaced, atol=1e-5)
    # ... and the placement differs from message to message: not every glyph centred on the origin.
    assert offsets.norm(dim=1).std() > 0.1 and offsets.norm(dim=1).mean() > 0.2

    path = export_generator(generator, config, tmp_path / "model.onnx")
    model = load_model(path, device="cpu")
    with torch.no_grad():
        dense = generator(torch.from_numpy(grid(40, 24)), z[:3]).numpy().reshape(3, 24, 40, 1)
    assert np.max(np.abs(model.render(z[:3].numpy(), 40, 24) - dense)) < 1e-4


def test_ink_glyphs_learn_keep_to_their_budget_and_leave_no_checkerboard(tmp_path):
    config = tiny_config(TINY_INK, steps=60)
    result, models, look = _train_beats_untrained(config, tmp_path)
    conv_look = glyph_look(untrained_models(tiny_config(TINY_CONV), CPU), tiny_config(TINY_CONV), 64, seed=1)
    assert look.checkerboard < conv_look.checkerboard / 10  # resize-then-convolve: no period-2 pattern
    assert 0.01 < look.ink < 0.5  # marks on paper, a minority of it
    with torch.no_grad():
        _, opacity = models.generator.eval().paint(torch.randn(64, 8, generator=torch.Generator().manual_seed(5)))
    assert float(ink_over_budget(opacity, config.train.ink_budget + 0.05)) == 0.0  # the budget held, per glyph

    model = load_model(result.model, device="cpu")
    assert model.interface == "image" and model.native_size == (16, 16)
    z = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    with torch.no_grad():
        expected = models.generator.images(torch.from_numpy(z)).permute(0, 2, 3, 1).numpy()
    assert np.max(np.abs(model.render(z, 16, 16) - expected)) < 1e-4


@pytest.mark.parametrize(
    ("train", "power", "held"),
    [
        ({"ink_budget": 0.1}, 0.5, True),
        ({"ink_budget": 0.45, "ink_power": 0.25}, 0.25, True),  # the budget is counted at the configured power
        ({"ink_budget": 0.1, "ink_ramp_steps": 10**6}, 0.5, False),  # a ramp that never ends: the weight stays ~0
    ],
)
def test_training_holds_the_ink_budget_at_its_power_once_ramped(tmp_path, train, power, held):
    config = tiny_config(TINY_INK, steps=60, **train)
    train_glyph(config, tmp_path / "run", device="cpu")
    models = _trained_models(config, tmp_path / "run")
    with torch.no_grad():
        _, opacity = models.generator.eval().paint(torch.randn(64, 8, generator=torch.Generator().manual_seed(5)))
    over = float(ink_over_budget(opacity, config.train.ink_budget + 0.05, power))
    # Measured: 0 when held; 0.19 over on average with the weight still ramping.
    assert (over == 0.0) if held else (over > 0.1), over


def test_ink_budget_penalises_each_glyph_over_it():
    opacity = torch.zeros(2, 1, 4, 4)
    opacity[0, :, :2] = 1.0  # half the first glyph is ink: 0.5 ink, 0.3 over a 0.2 budget
    assert float(ink_over_budget(opacity, 0.2)) == pytest.approx(0.15, abs=1e-3)  # (0.3 + 0) / 2 glyphs
    assert float(ink_over_budget(opacity, 0.6)) == 0.0
    wash = torch.full((1, 1, 4, 4), 0.2)  # the same 0.2 of opacity... spread thin over the whole canvas
    gathered = torch.zeros(1, 1, 4, 4)
    gathered[0, 0, 0, :] = 0.8  # ... or gathered into one row of strong ink
    assert float(ink_over_budget(wash, 0.3)) > 0.1 > float(ink_over_budget(gathered, 0.3))


def test_a_smaller_ink_power_prices_a_pale_wash_out_of_the_budget():
    wash = torch.full((1, 1, 8, 8), 0.12)  # the pale wash a 64x64 colour run settled into under the square root
    marks = torch.zeros(1, 1, 8, 8)
    marks[0, 0, :3, :] = 1.0  # as much ink gathered into solid marks on 3/8 of the canvas
    assert float(ink_over_budget(wash, 0.35, power=0.5)) == 0.0  # the square root lets the wash through
    assert float(ink_over_budget(wash, 0.35, power=0.25)) > 0.2
    assert float(ink_over_budget(marks, 0.4, power=0.25)) == 0.0  # solid marks cost their area at any power


def test_the_ink_weight_ramps_up_over_the_ramp_steps():
    from cppnart.configs.glyph import TrainConfig

    ramped = TrainConfig(ink_budget=0.3, ink_weight=8.0, ink_ramp_steps=400)
    assert [ramped.ink_weight_at(step) for step in (0, 100, 400, 900)] == [0.0, 2.0, 8.0, 8.0]
    assert TrainConfig(ink_budget=0.3, ink_weight=8.0).ink_weight_at(0) == 8.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("image_size = 16", "image_size = 32"), "draws 16x16 images"),
        (('type = "ink"', 'type = "cppn"\nactivations = ["sin"]'), "needs generator.type = 'ink'"),
        (("ink_budget = 0.3", "ink_budget = 1.5"), "'train.ink_budget' must be in [0, 1)"),
        (('type = "ink"', 'type = "ink"\nink_start = 1.0'), "'generator.ink_start' must be in (0, 1), got 1"),
        (("ink_budget = 0.3", "ink_budget = 0.3\nink_power = 0"), "'train.ink_power' must be in (0, 1]"),
        (
            ("ink_budget = 0.3", "ink_budget = 0.3\nink_ramp_steps = -1"),
            "'train.ink_ramp_steps' must be at least 0",
        ),
    ],
)
def test_ink_config_errors_say_what_to_change(change, message):
    from cppnart.errors import UserError

    with pytest.raises(UserError, match=re.escape(message)):
        tiny_config(TINY_INK.replace(*change))


@pytest.mark.parametrize("start", [0.02, 0.3])
def test_ink_starts_at_the_configured_opacity(start):
    config = tiny_config(TINY_INK.replace('type = "ink"', f'type = "ink"\nink_start = {start}'))
    torch.manual_seed(0)
    generator = build_models(config, CPU).generator.eval()
    with torch.no_grad():
        _, opacity = generator.paint(torch.randn(16, 8, generator=torch.Generator().manual_seed(1)))
    # The last conv's bias sets the start; its random weights spread each pixel a little around it.
    assert float(opacity.median()) == pytest.approx(start, rel=0.5)


def test_colour_ink_is_coloured_where_there_is_ink_and_paper_elsewhere(tmp_path):
    config = tiny_config(TINY_INK.replace("channels = 1", "channels = 3"))
    torch.manual_seed(0)
    generator = build_models(config, CPU).generator.eval()
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        images, opacity = generator.paint(z)
        assert images.shape == (4, 3, 16, 16) and opacity.shape == (4, 1, 16, 16)
        # Where a pixel carries no ink it is white paper; ink only ever darkens it, channel by channel.
        paper = 1.0 - images
        assert torch.all(paper <= opacity + 1e-6)
        generator.net[-1].bias[0].fill_(-30.0)  # no ink at all
        assert torch.allclose(generator.images(z), torch.ones(4, 3, 16, 16), atol=1e-6)
        generator.net[-1].bias[0].fill_(30.0)  # ink everywhere: the colours show, not paper
        assert float(generator.images(z).std()) > 0.01
    path = export_generator(generator, config, tmp_path / "model.onnx")
    rendered = load_model(path, device="cpu").render(z.numpy(), 16, 16)
    with torch.no_grad():
        assert np.max(np.abs(rendered - generator.images(z).permute(0, 2, 3, 1).numpy())) < 1e-4
