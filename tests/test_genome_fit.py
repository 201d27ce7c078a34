"""`train fit photo.png --init GENOME`: a bred picture's genome (its structure fixed) fitted to an
image, exported as a genome model that renders, resumes exactly and breeds on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cppnart.configs.ganvae import FitConfig
from cppnart.graph.evolve import mutate, random_genome
from cppnart.graph.genome import evaluate, write_genome
from cppnart.graph.genome_io import read_genome
from cppnart.render.coords import grid
from cppnart.render.model import load_model
from cppnart.train.checkpoint import load_checkpoint
from cppnart.train.fit import fit_image, psnr
from cppnart.train.loop import Interrupted
from cppnart.train.run import Callbacks

CPU = torch.device("cpu")
SIZE = 16

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cppnart", *args], capture_output=True, text=True, timeout=180, cwd=cwd
    )


def start_and_target():
    """A bred genome and a picture its own structure can draw (its weights nudged): reachable."""
    rng = np.random.default_rng(5)
    genome = random_genome(rng, "rgb", hidden=4, links=14)
    other = mutate(genome, rng, "weights", strength=1.0)
    target = evaluate(other, grid(SIZE, SIZE))[0].reshape(SIZE, SIZE, 3)
    return genome, target


def tiny(**kw) -> FitConfig:
    base = dict(channels=3, max_side=64, steps=40, batch_pixels=0, lr=3e-2, lr_final=3e-3, sample_every=20,
                checkpoint_every=10, render_scale=2)  # fmt: skip
    base.update(kw)
    return FitConfig(**base)


def test_fitting_a_genome_beats_its_start_and_exports_a_genome_model(tmp_path):
    genome, target = start_and_target()
    result = fit_image(tiny(), target, tmp_path, device=CPU, genome=genome)
    assert result.psnr_start is not None
    assert result.psnr > result.psnr_start + 2, (result.psnr, result.psnr_start)
    model = load_model(tmp_path)
    assert model.kind == "genome"
    fitted = read_genome(tmp_path / "genome.genome.json")
    assert [(k.source, k.target, k.innovation) for k in fitted.links] == [
        (k.source, k.target, k.innovation) for k in genome.links
    ]  # the structure is the starting genome's; only weights moved
    assert fitted.links != genome.links
    drawn = model.render(None, SIZE, SIZE)
    assert abs(psnr(drawn, target) - result.psnr) < 1e-3
    assert np.abs(evaluate(fitted, grid(SIZE, SIZE))[0].reshape(SIZE, SIZE, 3) - drawn).max() < 1e-4
    assert Image.open(tmp_path / "render.png").size == (2 * SIZE, 2 * SIZE)


def test_genome_fit_resume_equals_uninterrupted(tmp_path):
    genome, target = start_and_target()
    config = tiny(steps=20, checkpoint_every=5)
    fit_image(config, target, tmp_path / "a", device=CPU, export=False, genome=genome)

    def ctrl_c(step, metrics):
        if step == 9:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted):
        fit_image(config, target, tmp_path / "b", device=CPU, export=False, genome=genome,
                  callbacks=Callbacks(on_metrics=ctrl_c))  # fmt: skip
    payload = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert payload["step"] == 9
    fit_image(config, target, tmp_path / "b", device=CPU, payload=payload, export=False, genome=genome)
    a = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["states"]["model"]
    b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")["states"]["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_train_fit_init_from_a_png_of_a_genome_then_resume(tmp_path):
    genome, target = start_and_target()
    write_genome(genome, tmp_path / "bred.genome.json")
    assert (
        cli("render", "bred.genome.json", "--res", "16x16", "-o", "bred.png", "--quiet", cwd=tmp_path).returncode == 0
    )
    Image.fromarray((target * 255).round().astype(np.uint8)).save(tmp_path / "photo.png")
    (tmp_path / "tiny.toml").write_text(
        'kind = "fit"\nchannels = 3\nmax_side = 64\nsteps = 30\nbatch_pixels = 0\nlr = 0.03\nlr_final = 0.003\n'
        "sample_every = 15\ncheckpoint_every = 10\nrender_scale = 2\n"
    )
    done = cli("train", "fit", "photo.png", "--init", "bred.png", "--preset", "tiny.toml", "--out", "run", "--json",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["steps"] == 30 and report["psnr"] > report["psnr_start"] + 2, report
    run = tmp_path / "run"
    assert (run / "init.genome.json").is_file() and (run / "genome.genome.json").is_file()
    assert load_model(run).kind == "genome"
    # it renders like any run, and --resume goes on from the genome it kept
    assert cli("render", "run", "--res", "32x32", "-o", "big.png", "--quiet", cwd=tmp_path).returncode == 0
    more = cli("train", "fit", "--out", "run", "--resume", "--steps", "40", "--json", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    again = json.loads(more.stdout.strip().splitlines()[-1])
    assert again["steps"] == 40 and again["psnr"] >= report["psnr"] - 0.5


@pytest.mark.parametrize(
    "args, words",
    [
        (["--init", "missing.genome.json"], "not found"),
        (["--init", "photo.png"], "carries a genome"),  # a PNG cppnart did not make from a genome
    ],
)
def test_a_bad_starting_genome_is_one_line_and_leaves_no_run(tmp_path, args, words):
    _, target = start_and_target()
    Image.fromarray((target * 255).round().astype(np.uint8)).save(tmp_path / "photo.png")
    done = cli("train", "fit", "photo.png", *args, "--out", "run", "--steps", "2", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr, done.stderr
    assert not (tmp_path / "run").exists()
