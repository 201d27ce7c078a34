"""Fault injection in training: SIGINT, SIGTERM and SIGHUP at random steps stop between steps,
checkpoint, and a resumed run equals an uninterrupted one; the CLI exits 128+n; a full disk is
one line and leaves no half run folder."""

from __future__ import annotations

import os
import random
import signal

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app
from cppnart.train.checkpoint import load_checkpoint
from cppnart.train.fit import fit_image
from cppnart.train.loop import Interrupted
from cppnart.train.run import Callbacks

from ..cli.test_ganvae_cli import TINY_FIT
from .test_fit import synthetic_photo, tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CPU = torch.device("cpu")
STOPS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


def test_resume_after_every_kind_of_interruption_equals_an_uninterrupted_run(tmp_path):
    target = synthetic_photo(12, 8)
    config = tiny(steps=16, batch_pixels=40, checkpoint_every=4, sample_every=8)
    fit_image(config, target, tmp_path / "straight", device=CPU, export=False)
    straight = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")["states"]["model"]
    for sig in STOPS:
        stop_at = random.Random(int(sig)).randint(2, 14)  # a random step, between checkpoints or on one

        def send(step, metrics, stop_at=stop_at, sig=sig):
            if step == stop_at:
                os.kill(os.getpid(), sig)

        run = tmp_path / sig.name
        before = signal.getsignal(sig)  # Python's default, or what a library (a Ray session) installed
        with pytest.raises(Interrupted) as stopped:
            fit_image(config, target, run, device=CPU, export=False, callbacks=Callbacks(on_metrics=send))
        assert stopped.value.signum == sig and stopped.value.step == stop_at
        assert signal.getsignal(sig) == before  # handlers restored
        payload = load_checkpoint(run / "checkpoint.pt")
        assert payload["step"] == stop_at
        fit_image(config, target, run, device=CPU, payload=payload, export=False)
        resumed = load_checkpoint(run / "checkpoint.pt")["states"]["model"]
        assert all(torch.equal(straight[k], resumed[k]) for k in straight), sig.name


def test_cli_exit_status_is_128_plus_the_signal(tmp_path):
    import typer

    from cppnart.cli.train import run_live
    from cppnart.configs.presets import load_preset

    config = load_preset("glyph-quick")
    for sig in STOPS:

        def interrupted(callbacks, sig=sig):
            raise Interrupted(5, sig)

        with pytest.raises(typer.Exit) as stop:
            run_live("glyph", config, None, tmp_path / sig.name, True, interrupted)
        assert stop.value.exit_code == 128 + sig


def test_a_full_disk_during_training_leaves_no_half_run_folder(full_disk, tmp_path):
    yy, xx = np.mgrid[0:30, 0:40]
    image = np.stack([xx / 40, yy / 30, 0.5 + 0.5 * np.sin(xx / 5.0)], axis=-1)
    Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    (tmp_path / "fit.toml").write_text(TINY_FIT)
    with open(full_disk / "filler", "wb") as f:  # leave a few kB: the run starts, then the disk fills
        f.write(bytes(os.statvfs(full_disk).f_bavail * os.statvfs(full_disk).f_frsize - (8 << 10)))
    args = ["train", "fit", str(tmp_path / "photo.png"), "--preset", str(tmp_path / "fit.toml")]
    result = CliRunner().invoke(app, [*args, "--out", str(full_disk / "run")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0 and "space" in result.output, result.output
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_sigterm_to_a_training_process_checkpoints(tmp_path):
    """The real process: SIGTERM after the first checkpoint -> exit 143, a one-line resume hint, a
    consistent checkpoint and no temporary (resuming from it is exact: see the test above)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    yy, xx = np.mgrid[0:30, 0:40]
    image = np.stack([xx / 40, yy / 30, 0.5 + 0.5 * np.sin(xx / 5.0)], axis=-1)
    Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    (tmp_path / "fit.toml").write_text(TINY_FIT.replace("steps = 30", "steps = 100000"))
    args = ["train", "fit", "photo.png", "--preset", "fit.toml", "--out", "run", "--threads", "1", "-q"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "cppnart", *args], cwd=tmp_path, env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (tmp_path / "run" / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert "--resume" in err.decode() and err.decode().strip().count("\n") == 0, err.decode()
    step = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"]
    assert step >= 15 and not list((tmp_path / "run").glob(".*tmp-*"))
