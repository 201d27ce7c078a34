"""`train classifier`, `layers` and `dream`: a tiny classifier of bars, visualised by tiny CPPNs."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from PIL import Image

from cppnart.cli import app
from cppnart.configs.classifier import ClassifierConfig
from cppnart.io.images import ImageSet
from cppnart.render.model import load_model
from cppnart.train.classifier import load_labelled_images, train_classifier
from cppnart.train.dream import DreamSettings, dream
from cppnart.train.models.cppn import pixel_coords
from cppnart.train.targets import load_target

from ..conftest import files_in, one_error_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CPU = torch.device("cpu")
SIZE = 12


def bars(count: int = 240, seed: int = 0) -> ImageSet:
    """Class 0: a horizontal bar, class 1: a vertical bar, at random positions, with noise."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 0.15, (count, 1, SIZE, SIZE)).astype(np.float32)
    labels = np.arange(count) % 2
    for image, label in zip(images, labels):
        at = rng.integers(2, SIZE - 3)
        if label == 0:
            image[0, at : at + 2, 1:-1] = 1.0
        else:
            image[0, 1:-1, at : at + 2] = 1.0
    return ImageSet(images, labels.astype(np.int64), "bars")


def tiny_config(**kw) -> ClassifierConfig:
    base = dict(
        image_size=SIZE, classes=2, conv=(4, 8), dense=(16,), dropout=0.0, holdout=0.25, steps=60, batch=32,
        lr=1e-2, lr_final=1e-3, eval_every=30, checkpoint_every=30, data_limit=1000,
    )  # fmt: skip
    base.update(kw)
    return ClassifierConfig(**base)


def settings(**kw) -> DreamSettings:
    base = dict(layer="conv2", units=(1,), steps=40, probe=4, width=8, depth=3, lr=0.03)
    base.update(kw)
    return DreamSettings(**base)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("clf")
    result = train_classifier(tiny_config(), bars(), out, device=CPU)
    return out, result


def test_trained_classifier_beats_untrained_and_exports(run):
    out, result = run
    assert result.accuracy >= 0.9 > result.accuracy_untrained + 0.2, (result.accuracy, result.accuracy_untrained)
    assert {"checkpoint.pt", "classifier.onnx", "holdout.npz", "summary.json"} <= set(files_in(out))
    import onnxruntime as ort

    held = np.load(out / "holdout.npz")
    logits = ort.InferenceSession(str(out / "classifier.onnx")).run(None, {"images": held["images"] / np.float32(255)})
    assert (logits[0].argmax(1) == held["labels"]).mean() >= 0.9


def test_class_subfolders_are_labels(tmp_path):
    for name, value in (("a", 0), ("b", 255)):
        (tmp_path / name).mkdir()
        for i in range(12):
            Image.fromarray(np.full((8, 8), value, np.uint8)).save(tmp_path / name / f"{i}.png")
    data = load_labelled_images(str(tmp_path), tiny_config(image_size=8))
    assert data.classes == ("a", "b") and sorted(set(data.labels.tolist())) == [0, 1]


def test_dream_climbs_and_beats_its_start_with_onnx_parity(run, tmp_path):
    target = load_target(run[0])
    assert target.layers["conv2"].channels == 8 and target.layers["logits"].shape == (2,)
    result = dream(target, settings(), tmp_path / "d")
    sol = result.report["solutions"][0]
    assert sol["responded"]
    logged = result.report["objective_at_log_steps"]
    assert logged["40"][0] > logged["9"][0] > logged["0"][0]  # the objective rises
    assert sol["final_activation"] > max(1.8 * sol["start_activation"], sol["start_activation"] + 0.1)  # wide margin
    assert sol["data_percentile"] is not None
    # the exported CPPN renders the torch CPPN's pixels at the optimisation size
    model = load_model(tmp_path / "d" / "model.onnx")
    assert model.kind == "dream" and model.channels == 1
    onnx_pixels = model.render(np.zeros((1, 1), np.float32), SIZE, SIZE)
    with torch.no_grad():
        member = result.param.member(0)
        torch_pixels = member(pixel_coords(SIZE, SIZE))[0].numpy().reshape(SIZE, SIZE, 1)
    assert np.abs(onnx_pixels - torch_pixels).max() < 1e-5
    assert np.abs(onnx_pixels.transpose(2, 0, 1) - result.images[0]).max() < 1e-6
    strip = Image.open(tmp_path / "d" / "progress.png")
    assert strip.size[0] > 4 * strip.size[1]  # 0, 9, 18, 36, 40 side by side
    assert np.asarray(strip).std() > 10  # not a flat picture


def test_dead_unit_is_reported_not_drawn(run, tmp_path):
    target = load_target(run[0])
    conv = target.module.convs[1]
    with torch.no_grad():
        conv.weight[3] = 0.0
        conv.bias[3] = -5.0  # a ReLU that can never fire
    result = dream(target, settings(units=(3,), steps=20), tmp_path / "dead")
    sol = result.report["solutions"][0]
    assert not sol["responded"] and sol["probe_all_zero"] and sol["model"] is None
    assert files_in(tmp_path / "dead") == ["progress.png", "report.json"]
    sheet = dream(target, settings(steps=10), tmp_path / "all", all_channels=True)
    assert sheet.responded[3] is False and sum(sheet.responded) >= 4
    assert (tmp_path / "all" / "sheet.png").is_file() and not (tmp_path / "all" / "channels" / "c003.onnx").exists()
    assert (tmp_path / "all" / "channels" / "c000.onnx").is_file() or not sheet.responded[0]


@pytest.mark.parametrize("param", ["pixel", "fft"])
def test_baselines_climb_at_the_optimisation_size(run, tmp_path, param):
    result = dream(load_target(run[0]), settings(param=param, lr=0.05), tmp_path / param)
    sol = result.report["solutions"][0]
    assert sol["final_activation"] > sol["start_activation"]
    assert "image.png" in files_in(tmp_path / param) and "model.onnx" not in files_in(tmp_path / param)


def test_batch_with_diversity_and_class_objective(run, tmp_path):
    result = dream(load_target(run[0]), settings(layer="logits", units=(0,), steps=30), tmp_path / "b", batch=2)
    assert len(result.images) == 2 and (tmp_path / "b" / "solutions" / "s01.onnx").is_file()
    assert np.abs(result.images[0] - result.images[1]).mean() > 0.01  # two different solutions


def test_cli_dream_layers_render_and_bad_inputs(run, runner, tmp_path):
    clf = str(run[0])
    listed = runner.invoke(app, ["layers", clf])
    assert listed.exit_code == 0 and "conv2" in listed.stdout and "8" in listed.stdout
    out = tmp_path / "d"
    ok = runner.invoke(app, ["dream", clf, "--class", "1", "--steps", "12", "--probe", "2", "--out", str(out), "-q"])
    assert ok.exit_code == 0, ok.output
    poster = tmp_path / "poster.png"
    assert runner.invoke(app, ["render", str(out), "--res", "64x48", "-o", str(poster)]).exit_code == 0
    assert Image.open(poster).size == (64, 48)
    other = tmp_path / "d0"
    assert runner.invoke(app, ["dream", clf, "--class", "0", "--steps", "8", "--probe", "2", "--out", str(other), "-q"])
    gif = tmp_path / "morph.gif"
    morphed = runner.invoke(app, ["morph", str(out), str(other), "-o", str(gif), "--frames", "4", "--res", "16x16"])
    assert morphed.exit_code == 0, morphed.output
    import imageio.v3 as iio

    frames = iio.imread(gif, index=None)
    assert len(frames) >= 4 and np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1
    (tmp_path / "empty").mkdir()
    cases = [
        (["--layer", "conv9"], "its layers: conv1, conv2, dense1, logits"),
        (["--layer", "conv2", "--channel", "8"], "channels 0..7"),
        (["--layer", "conv2", "--neuron", "1,20,0"], "outside"),
        (["--layer", "dense1", "--neuron", "1,0,0"], "spatial"),
        (["--param", "wavelet", "--layer", "conv2"], "--param"),
    ]
    for flags, expected in cases:
        bad = tmp_path / "bad"
        result = runner.invoke(app, ["dream", clf, *flags, "--out", str(bad)])
        assert result.exit_code == 2 and expected in result.output and len(result.output.strip().splitlines()) == 1
        assert not bad.exists()
    for target, expected in (
        (str(tmp_path / "empty"), "holds no checkpoint.pt"),
        (str(out / "model.onnx"), "not an image model"),
    ):
        result = runner.invoke(app, ["dream", target, "--layer", "x", "--out", str(tmp_path / "bad")])
        assert result.exit_code == 2 and expected in result.output, result.output
        assert not (tmp_path / "bad").exists()


def test_onnx_with_unsupported_ops_is_named(tmp_path):
    if importlib.util.find_spec("onnx2torch") is None:  # its import needs torchvision: tested apart
        pytest.skip('needs pip install ".[onnx]"')
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("DFT", ["images"], ["y"])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    onnx.save(helper.make_model(graph), tmp_path / "odd.onnx")
    from cppnart.errors import UserError

    with pytest.raises(UserError, match="DFT"):
        load_target(tmp_path / "odd.onnx")


def test_classifier_resume_is_exact(run, tmp_path):
    from cppnart.train.checkpoint import load_checkpoint
    from cppnart.train.loop import Every
    from cppnart.train.run import Callbacks

    def stop(step):  # like Ctrl-C after step 30, once the checkpoint of step 30 is written
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_classifier(tiny_config(), bars(), tmp_path, device=CPU, callbacks=Callbacks(every=[Every(30, stop)]))
    payload = load_checkpoint(tmp_path / "checkpoint.pt")
    train_classifier(tiny_config(), bars(), tmp_path, device=CPU, payload=payload, export=False)
    resumed = load_checkpoint(tmp_path / "checkpoint.pt")["states"]["model"]
    straight = load_checkpoint(run[0] / "checkpoint.pt")["states"]["model"]
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_ganvae_and_glyph_runs_are_targets(tmp_path):
    from cppnart.configs.schema import to_dict
    from cppnart.train.checkpoint import save_checkpoint
    from cppnart.train.ganvae import build_nets
    from cppnart.train.glyph import build_models

    from ..glyph_fixtures import tiny_config as tiny_glyph
    from .test_ganvae_train import tiny_config as tiny_ganvae

    torch.manual_seed(0)
    (tmp_path / "gan").mkdir(), (tmp_path / "glyph").mkdir()
    gan = tiny_ganvae()
    save_checkpoint(
        tmp_path / "gan" / "checkpoint.pt", config=to_dict(gan), step=0, states=build_nets(gan, CPU).states()
    )
    glyph = tiny_glyph()
    models = build_models(glyph, CPU)
    save_checkpoint(
        tmp_path / "glyph" / "checkpoint.pt", config=to_dict(glyph), step=0, states={"decoder": models.decoder}
    )
    target = load_target(tmp_path / "gan")
    assert list(target.layers) == [
        "discriminator.conv1", "discriminator.conv2", "discriminator.logit", "encoder.dense1", "encoder.dense2",
        "encoder.mu",
    ]  # fmt: skip
    assert target.layers["discriminator.conv2"].shape == (8, 4, 4)
    result = dream(target, settings(layer="discriminator.conv2", units=(2,), steps=20), None)
    assert result.report["solutions"][0]["final_activation"] > result.report["solutions"][0]["start_activation"]
    decoder = load_target(tmp_path / "glyph")
    assert list(decoder.layers) == ["decoder.conv1", "decoder.conv2", "decoder.message"]
    result = dream(decoder, settings(layer="decoder.message", units=(5,), steps=20), None)
    assert result.report["solutions"][0]["final_activation"] > result.report["solutions"][0]["start_activation"]


def _bred_genome(tmp_path, colour: str = "grey"):
    """A small genome as `breed` writes it: a genome file (the test's own, no ../shared)."""
    from cppnart.graph.evolve import random_genome
    from cppnart.graph.genome import write_genome

    genome = random_genome(np.random.default_rng(3), colour=colour, hidden=5, links=16)
    path = tmp_path / f"bred-{colour}.genome.json"
    write_genome(genome, path)
    return genome, path


def test_dream_starts_from_a_bred_genome_and_exports_a_genome(run, tmp_path):
    """--init: the probe's first start is the bred picture itself; the weights climb, the structure
    stays; model.onnx is a genome model equal to torch, and genome.genome.json breeds further."""
    from cppnart.graph.evolve import mutate
    from cppnart.graph.genome import evaluate
    from cppnart.graph.genome_io import read_genome

    genome, path = _bred_genome(tmp_path)
    target = load_target(run[0])
    alone = dream(target, settings(init=str(path), probe=1, steps=2, lr=1e-9), tmp_path / "alone")
    picture = evaluate(genome, pixel_coords(SIZE, SIZE).numpy())[0].reshape(SIZE, SIZE, 1)
    with torch.no_grad():
        expected = target.run(torch.from_numpy(picture.transpose(2, 0, 1)[None].copy()), "conv2")[0, 1].mean()
    assert alone.report["solutions"][0]["start_activation"] == pytest.approx(float(expected), rel=1e-4, abs=1e-5)

    result = dream(target, settings(init=str(path), steps=60, lr=0.1), tmp_path / "d")
    sol = result.report["solutions"][0]
    assert sol["responded"] and sol["final_activation"] > sol["start_activation"] + 0.02, sol
    assert result.report["settings"]["init"] == str(path)
    assert {"model.onnx", "genome.genome.json", "progress.png", "report.json"} <= set(files_in(tmp_path / "d"))
    model = load_model(tmp_path / "d" / "model.onnx")
    assert model.kind == "genome" and model.metadata["layer"] == "conv2"
    onnx_pixels = model.render(None, SIZE, SIZE)
    with torch.no_grad():
        torch_pixels = result.param.member(0)(pixel_coords(SIZE, SIZE))[0].numpy().reshape(SIZE, SIZE, 1)
    assert np.abs(onnx_pixels - torch_pixels).max() < 1e-5
    assert np.abs(onnx_pixels.transpose(2, 0, 1) - result.images[0]).max() < 1e-6
    dreamt = read_genome(tmp_path / "d" / "genome.genome.json")
    assert dreamt.nodes == genome.nodes  # the structure is the bred one ...
    assert [(k.source, k.target) for k in dreamt.links] == [(k.source, k.target) for k in genome.links]
    assert dreamt.links != genome.links  # ... with climbed weights
    redrawn = evaluate(dreamt, pixel_coords(SIZE, SIZE).numpy())[0].reshape(SIZE, SIZE, 1)
    assert np.abs(redrawn - onnx_pixels).max() < 1e-5
    mutate(dreamt, np.random.default_rng(0), "structure")  # and it breeds on


def test_cli_dream_from_a_bred_png_and_bad_starts(run, runner, tmp_path):
    clf = str(run[0])
    _, path = _bred_genome(tmp_path)
    bred = tmp_path / "bred.png"
    assert runner.invoke(app, ["render", str(path), "--res", "24x24", "-o", str(bred)]).exit_code == 0
    out = tmp_path / "d"
    flags = ["--class", "1", "--init", str(bred), "--steps", "12", "--probe", "2", "--out", str(out), "--json"]
    ok = runner.invoke(app, ["dream", clf, *flags])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["out"] == str(out) and (out / "genome.genome.json").is_file()
    poster = tmp_path / "poster.png"
    rendered = runner.invoke(app, ["render", str(out / "genome.genome.json"), "--res", "40x30", "-o", str(poster)])
    assert rendered.exit_code == 0, rendered.output
    assert Image.open(poster).size == (40, 30)
    _, colour = _bred_genome(tmp_path, "rgb")
    plain = tmp_path / "plain.png"
    assert runner.invoke(app, ["render", "classic", "--res", "8x8", "--seed", "1", "-o", str(plain)]).exit_code == 0
    cases = [
        (["--init", str(path), "--param", "fft"], "--init"),
        (["--init", str(tmp_path / "missing.genome.json")], "not found"),
        (["--init", str(plain)], "neither a genome file nor a PNG"),
        (["--init", str(colour)], "3 channel(s) but the target takes 1"),
    ]
    for flags, expected in cases:
        bad = tmp_path / "bad"
        line = one_error_line(runner.invoke(app, ["dream", clf, "--class", "1", *flags, "--out", str(bad)]))
        assert expected in line, line
        assert not bad.exists()


def test_the_sheet_labels_units_by_class_name_where_known(tmp_path):
    """Named units change only the label strips; the pictures are the same pixels."""
    from cppnart.train.dream.pictures import write_sheet

    images = np.random.default_rng(0).random((3, 3, 32, 32), dtype=np.float32)
    write_sheet(tmp_path / "plain.png", images, ["rose"] * 3, [0, 1, 2], 1)
    write_sheet(tmp_path / "named.png", images, ["rose"] * 3, [0, 1, 2], 1, None, ["cat", None, "dog"])
    plain, named = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("plain", "named"))
    assert plain.shape == named.shape
    differs = np.argwhere((plain != named).any(-1))
    assert len(differs) and differs[:, 0].min() >= 64  # below the 64-pixel cells: only the labels moved
