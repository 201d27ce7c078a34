"""The table of training families (train/families.py): one row per trainable kind, read by `train`,
`sweep` and the resume resolver; the classifier's size bounds and memory estimate; torch's
allocation failures as one line; fit's target.npy written once and read back on --resume."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from cppnart.cli import app
from cppnart.configs.classifier import ClassifierConfig
from cppnart.configs.presets import KINDS, load_preset
from cppnart.configs.schema import check_fields, from_dict
from cppnart.errors import UserError
from cppnart.train.families import FAMILIES, family_for

from ..cli.test_ganvae_cli import TINY_FIT
from ..conftest import one_error_line

FAKE_RESULT = SimpleNamespace(
    final=SimpleNamespace(r2=0.9, cosine=0.9),
    recon_mse=0.1,
    recon_mse_untrained=0.2,
    psnr=30.0,
    psnr_start=10.0,
    accuracy=0.9,
    accuracy_untrained=0.1,
    holdout=10,
)


def test_every_trainable_kind_has_one_row_that_reads_its_preset():
    assert set(FAMILIES) == set(KINDS) - {"cppn", "solid"}  # every config kind but random CPPNs (2-D, 3-D) trains
    for kind, family in FAMILIES.items():
        preset = load_preset(family.default_preset)
        assert preset.kind == kind and isinstance(preset, family.config) and family_for(family.config) is family
        longer = family.with_steps(family.with_seed(preset, 77), family.steps(preset) + 5)
        assert (family.seed(longer), family.steps(longer)) == (77, family.steps(preset) + 5)
        assert family.score[0] in family.scores(FAKE_RESULT)  # the score a sweep ranks by is one it reports
        assert set(family.run_files(Path("run"))) >= {"model"}


def test_train_commands_use_the_families_default_presets(runner, tmp_path):
    from cppnart.cli.options import RunFlags, TorchFlags
    from cppnart.cli.train import start_run

    for kind, family in FAMILIES.items():
        config, payload = start_run(kind, tmp_path / kind, RunFlags(steps=1), TorchFlags())
        assert config.name == family.default_preset and payload is None and family.steps(config) == 1


def test_classifier_sizes_are_bounded_where_they_are_declared():
    for bad, words in [
        (dict(classes=1), "'classes' must be at least 2"),
        (dict(classes=10**6), "'classes' must be at most 100000"),
        (dict(conv=(32, 10**5)), "'conv' must be at most 4096"),
        (dict(dense=(0,)), "'dense' must be at least 1"),
        (dict(dense=(10**6,)), "'dense' must be at most 65536"),
        (dict(conv=(4,) * 17), "'conv' needs 1 to 16 layers"),
    ]:
        config = dataclasses.replace(ClassifierConfig(), **bad)
        with pytest.raises(UserError, match=words):
            check_fields(config, "clf.toml")
            config.validate("clf.toml")
        table = {k: list(v) if isinstance(v, tuple) else v for k, v in bad.items()}
        with pytest.raises(UserError, match=words):  # the preset reader refuses it as it reads the field
            from_dict(ClassifierConfig, table, "clf.toml").validate("clf.toml")


def test_classifier_memory_estimate_counts_images_weights_and_activations():
    small = ClassifierConfig()
    assert 1e8 < small.memory_bytes() < 2e9  # the default: 20000 28x28 images, a small CNN
    wide = dataclasses.replace(small, image_size=1024, batch=4096)
    assert wide.memory_bytes() > 1e12  # in range field by field, together far beyond any machine
    from cppnart.train.models.classifier import Classifier

    for config in (small, dataclasses.replace(small, conv=(3, 5, 7, 9), dense=(11, 13), classes=4, channels=3)):
        built = sum(p.numel() for p in Classifier(config).parameters())
        assert config.parameter_count() == built  # the estimate counts the layers torch builds


def test_a_classifier_too_large_for_memory_is_refused_before_training(runner, tmp_path):
    preset = tmp_path / "huge.toml"
    preset.write_text('kind = "classifier"\nimage_size = 1024\nbatch = 4096\nconv = [64, 64]\n')
    line = one_error_line(
        runner.invoke(app, ["train", "classifier", "--preset", str(preset), "--out", str(tmp_path / "r")])
    )
    assert "in memory" in line and "CPPNART_MAX_MEMORY" in line
    assert not (tmp_path / "r").exists()


def test_torchs_allocation_failure_is_one_line():
    import torch

    from cppnart.train.device import allocation_errors

    with pytest.raises(UserError, match="out of memory") as refused, allocation_errors("train classifier big"):
        torch.empty(1 << 62, dtype=torch.uint8)  # refused by the allocator at once, nothing touched
    assert "\n" not in str(refused.value) and str(refused.value).startswith("train classifier big: ")
    with pytest.raises(RuntimeError, match="shape"), allocation_errors("x"):  # other errors are not memory's
        torch.zeros(2, 3) @ torch.zeros(2, 3)


def test_fit_keeps_its_target_once_and_resumes_without_the_image(runner, tmp_path, one_torch_thread):
    yy, xx = np.mgrid[0:12, 0:16]
    Image.fromarray((np.stack([xx / 16, yy / 12, xx * 0 + 0.5], -1) * 255).astype(np.uint8)).save(tmp_path / "p.png")
    (tmp_path / "fit.toml").write_text(TINY_FIT.replace("steps = 30", "steps = 4"))
    out = tmp_path / "run"
    args = ["train", "fit", str(tmp_path / "p.png"), "--preset", str(tmp_path / "fit.toml"), "--out", str(out)]
    first = runner.invoke(app, [*args, "--json", "--threads", "1"])
    assert first.exit_code == 0, first.output
    target = np.load(out / "target.npy")
    assert target.shape == (12, 16, 3) and target.dtype == np.float32
    again = runner.invoke(app, ["train", "fit", "--out", str(out), "--resume", "--steps", "6", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output.splitlines()[-1])["steps"] == 6
    np.save(out / "target.npy", np.zeros((3, 3)))  # a damaged target: one line
    line = one_error_line(runner.invoke(app, ["train", "fit", "--out", str(out), "--resume", "--steps", "8"]))
    assert "is not an image array" in line


def test_a_failed_run_with_a_checkpoint_says_it_was_kept(tmp_path, capsys):
    """A full disk after the first checkpoint: the run folder stays for --resume, and the one line
    says so (not "nothing was left behind"); before any checkpoint the folder goes."""
    import errno

    import typer

    from cppnart.cli.output import user_errors
    from cppnart.cli.train import no_half_run

    def training(out: Path, checkpoint: bool) -> None:  # a command body that fails as a full disk does
        out.mkdir()
        if checkpoint:
            (out / "checkpoint.pt").write_bytes(b"saved")
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "samples" / "step.png"))

    command = user_errors(no_half_run(training))
    for checkpoint in (True, False):
        out = tmp_path / f"run-{checkpoint}"
        with pytest.raises(typer.Exit) as stop:
            command(out=out, checkpoint=checkpoint)
        assert stop.value.exit_code == 2
        assert out.exists() == checkpoint
        line = capsys.readouterr().err.strip()
        assert "\n" not in line and "no space left" in line
        if checkpoint:
            assert f"kept the run in '{out}' with its last checkpoint" in line and "nothing was" not in line
        else:
            assert "nothing was left behind" in line  # true: the folder went


def test_train_precision_bf16_runs_the_steps_under_autocast_from_the_cli(runner, tmp_path, one_torch_thread):
    """`train ... --precision bf16` trains (autocast on the CPU here, as on CUDA) to a finite loss;
    an unknown precision is refused by Typer's choices."""
    yy, xx = np.mgrid[0:12, 0:16]
    Image.fromarray((np.stack([xx / 16, yy / 12, xx * 0 + 0.5], -1) * 255).astype(np.uint8)).save(tmp_path / "p.png")
    (tmp_path / "fit.toml").write_text(TINY_FIT.replace("steps = 30", "steps = 4"))
    args = ["train", "fit", str(tmp_path / "p.png"), "--preset", str(tmp_path / "fit.toml"), "--threads", "1"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "bf16"), "--precision", "bf16", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])
    assert summary["steps"] == 4 and np.isfinite(summary["psnr"]), summary
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "x"), "--precision", "fp8"])
    assert refused.exit_code == 2 and not (tmp_path / "x").exists()
