"""`cppnart train glyph` / `eval glyph` as a user runs them, and every bad input -> exit 2, one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageSequence

from cppnart.cli import app

from ..conftest import one_error_line
from ..glyph_fixtures import TINY_GLYPH, write_tiny


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    from typer.testing import CliRunner

    folder = tmp_path_factory.mktemp("cli")
    preset = write_tiny(folder, TINY_GLYPH.replace("steps = 40", "steps = 30"))
    out = folder / "run"
    result = run(CliRunner(), "train", "glyph", "--preset", preset, "--out", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    return folder, preset, out, result


def test_train_writes_the_run_and_reports(cli_run):
    folder, preset, out, result = cli_run
    assert "trained to step 30" in result.output and "R²" in result.output
    for name in ("checkpoint.pt", "model.onnx", "sheet.png", "metrics.jsonl", "samples/step-000020.png"):
        assert (out / name).is_file(), name


def test_eval_prints_trained_and_untrained(runner, cli_run):
    folder, preset, out, _ = cli_run
    result = run(runner, "eval", "glyph", out, "--count", "256")
    assert result.exit_code == 0, result.output
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in result.output.splitlines()
        if line.split() and line.split()[0] in ("trained", "untrained")
    }
    assert rows["trained"][0] > rows["untrained"][0]  # R²
    assert rows["trained"][1] > rows["untrained"][1]  # cosine


def test_render_the_exported_glyph_at_any_size(runner, cli_run):
    folder, preset, out, _ = cli_run
    np.save(folder / "msg.npy", np.load(out / "messages.npy")[0])
    png = folder / "glyph.png"
    result = run(runner, "render", out / "model.onnx", "--z", folder / "msg.npy", "--res", "96x64", "-o", png)
    assert result.exit_code == 0, result.output
    with Image.open(png) as image:
        assert image.size == (96, 64) and image.mode == "L"
        assert np.asarray(image).std() > 1  # a glyph, not a flat field


def test_grid_and_morph_of_a_glyph_run(runner, cli_run, tmp_path):
    folder, preset, out, _ = cli_run
    sheet = tmp_path / "sheet.png"
    result = run(runner, "grid", "--model", out, "--seeds", "1-4", "--cell", "32x32", "-o", sheet)
    assert result.exit_code == 0, result.output
    with Image.open(sheet) as image:
        assert np.asarray(image).std() > 1
    messages = np.load(out / "messages.npy")
    np.save(tmp_path / "a.npy", messages[0])
    np.save(tmp_path / "b.npy", messages[1])
    gif = tmp_path / "morph.gif"
    result = run(
        runner, "morph", tmp_path / "a.npy", tmp_path / "b.npy", gif, "--model", out, "--frames", "5", "--res", "32x32"
    )
    assert result.exit_code == 0, result.output
    with Image.open(gif) as image:
        frames = [np.asarray(frame.convert("L"), dtype=float) for frame in ImageSequence.Iterator(image)]
    assert len(frames) == 5 + 1  # one transition of 5 frames, then the last keyframe
    assert np.abs(frames[0] - frames[-1]).mean() > 1  # the glyph changes along the way


def test_unknown_preset_key(runner, tmp_path):
    preset = write_tiny(tmp_path, TINY_GLYPH.replace("[noise]", "").replace("[train]", "[noise]\nwobble = 3\n[train]"))
    line = one_error_line(run(runner, "train", "glyph", "--preset", preset, "--out", tmp_path / "run"))
    assert "wobble" in line and "tiny.toml" in line
    assert not (tmp_path / "run").exists()


def test_message_size_mismatch_on_resume(runner, cli_run, tmp_path):
    folder, preset, out, _ = cli_run
    before = (out / "checkpoint.pt").read_bytes()
    other = write_tiny(tmp_path, TINY_GLYPH.replace("message_size = 8", "message_size = 16"))
    line = one_error_line(run(runner, "train", "glyph", "--preset", other, "--out", out, "--resume"))
    assert "message size 8" in line and "16" in line
    assert (out / "checkpoint.pt").read_bytes() == before


def test_existing_run_needs_resume(runner, cli_run):
    folder, preset, out, _ = cli_run
    before = (out / "checkpoint.pt").read_bytes()
    line = one_error_line(run(runner, "train", "glyph", "--preset", preset, "--out", out))
    assert "--resume" in line
    assert (out / "checkpoint.pt").read_bytes() == before


def test_unwritable_out_dir(runner, tmp_path):
    preset = write_tiny(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = one_error_line(run(runner, "train", "glyph", "--preset", preset, "--out", blocker / "run"))
    assert "cannot create run folder" in line
    line = one_error_line(run(runner, "train", "glyph", "--preset", preset, "--out", blocker))
    assert "is a file" in line
    assert blocker.read_text() == "not a folder"


def test_corrupt_checkpoint(runner, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"PK\x03\x04 half a zip")
    line = one_error_line(run(runner, "train", "glyph", "--out", out, "--resume"))
    assert "corrupt" in line
    line = one_error_line(run(runner, "eval", "glyph", out))
    assert "corrupt" in line
    assert (out / "checkpoint.pt").read_bytes() == b"PK\x03\x04 half a zip"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]


def test_not_a_glyph_preset(runner, tmp_path):
    line = one_error_line(run(runner, "train", "glyph", "--preset", "classic", "--out", tmp_path / "run"))
    assert "glyph" in line


def test_no_preset_trains_the_family_default_and_no_run_is_an_error(runner, tmp_path):
    from cppnart.cli.options import RunFlags, TorchFlags
    from cppnart.cli.train import start_run
    from cppnart.train.families import FAMILIES

    config, payload = start_run("glyph", tmp_path / "run", RunFlags(steps=1), TorchFlags())
    assert config.name == FAMILIES["glyph"].default_preset and payload is None and config.train.steps == 1
    line = one_error_line(run(runner, "train", "glyph", "--out", tmp_path / "run", "--resume"))
    assert "no checkpoint.pt" in line and not (tmp_path / "run").exists()
    line = one_error_line(run(runner, "eval", "glyph", tmp_path))
    assert "no checkpoint" in line


def test_eval_reports_the_look_of_the_glyphs(runner, cli_run):
    folder, preset, out, _ = cli_run
    result = run(runner, "eval", "glyph", out, "--count", "64", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for label in ("trained", "untrained"):
        look = report[label]
        assert 0.0 <= look["checkerboard"] <= 1.0 and 0.0 <= look["ink"] <= 1.0
        assert look["diversity"] > 0.0
    # training separates the messages' glyphs beyond what the noise blurs
    assert report["trained"]["diversity"] > report["untrained"]["diversity"]


def test_z_fit_finds_the_message_of_a_glyph_the_trained_generator_drew(runner, cli_run, tmp_path):
    """The glyph post's experiment, end to end: the trained generator reaches its own glyphs; a random one does not."""
    folder, preset, out, _ = cli_run
    np.save(tmp_path / "m.npy", np.random.default_rng(5).standard_normal(8).astype(np.float32))
    drawn = run(runner, "render", out, "--z", tmp_path / "m.npy", "--res", "16x16", "-o", tmp_path / "glyph.png")
    assert drawn.exit_code == 0, drawn.output
    result = run(
        runner, "z", "fit", tmp_path / "glyph.png", "--model", out, "-o", tmp_path / "z.npy",
        "--sheet", tmp_path / "fit.png", "--steps", "120", "--restarts", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["mse"] < 0.5 * report["mse_random"]
    assert np.load(tmp_path / "z.npy").shape == (8,)
    assert Image.open(tmp_path / "fit.png").size[1] > 3 * 16  # three rows: targets, fits, random fits


def test_z_fit_bad_input(runner, cli_run, tmp_path):
    folder, preset, out, _ = cli_run
    conv = run(runner, "z", "fit", "builtin:digits", "--model", out, "--size", "0", "-o", tmp_path / "z.npy")
    assert "size" in one_error_line(conv)
    missing = run(runner, "z", "fit", tmp_path / "nope.png", "--model", out, "-o", tmp_path / "z.npy")
    assert "not found" in one_error_line(missing)
    count = run(runner, "z", "fit", "builtin:digits", "--model", out, "--count", "0", "-o", tmp_path / "z.npy")
    assert "--count" in one_error_line(count)
    assert not (tmp_path / "z.npy").exists()


def test_eval_probe_reads_digits_from_the_decoders_features(runner, cli_run):
    pytest.importorskip("scipy")  # the builtin digits' elastic warp
    folder, preset, out, _ = cli_run
    result = run(runner, "eval", "glyph", out, "--count", "32", "--probe", "builtin:digits", "--probe-count", "400")
    assert result.exit_code == 0, result.output
    assert "linear probe" in result.output
    as_json = run(runner, "eval", "glyph", out, "--count", "32", "--probe", "builtin:digits", "--probe-count", "400",
                  "--json")  # fmt: skip
    probe = json.loads(as_json.output)["probe"]
    assert probe["train_count"] == 320 and probe["test_count"] == 80 and probe["chance"] == 0.1
    # both decoders' features carry the digit class far above chance: the probe itself works
    assert probe["trained"] > 0.4 and probe["random"] > 0.4


def test_eval_probe_needs_labels(runner, cli_run, tmp_path):
    folder, preset, out, _ = cli_run
    images = tmp_path / "unlabelled"
    images.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 16), 40 * i, np.uint8)).save(images / f"{i}.png")
    result = run(runner, "eval", "glyph", out, "--count", "32", "--probe", images)
    assert "labels" in one_error_line(result)


def test_eval_reconstructs_images_through_the_glyph_model(runner, cli_run):
    pytest.importorskip("scipy")  # the builtin digits' elastic warp
    folder, preset, out, _ = cli_run
    result = run(runner, "eval", "glyph", out, "--count", "32", "--reconstruct", "builtin:digits", "--json")
    assert result.exit_code == 0, result.output
    recon = json.loads(result.output)["reconstruction"]
    assert 0.0 < recon["mse"] < 1.0 and 0.0 < recon["mse_random"] < 1.0
    sheet = Image.open(recon["sheet"])
    assert sheet.size[0] > 16 * 16 and sheet.size[1] > 3 * 16  # 16 images a row; data, trained, random
