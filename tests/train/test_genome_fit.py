"""`train fit photo.png --init GENOME`: a bred picture's genome (its structure fixed) fitted to an
image, exported as a genome model that renders, resumes exactly and breeds on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from cppnart.configs.ganvae import FitConfig
from cppnart.graph.evolve import mutate, random_genome
from cppnart.graph.genome import evaluate, validate, write_genome
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


def z_genome():
    """A colour genome whose picture hangs on its two z inputs (every z input linked into the graph)."""
    rng = np.random.default_rng(11)
    genome = random_genome(rng, "rgb", hidden=4, z_inputs=2, links=16)
    z_ids = [n.id for n in genome.inputs if n.label.startswith("z")]
    targets = [k.target for k in genome.links]
    fed = {k.source for k in genome.links}
    extra = [
        replace(genome.links[0], source=z, target=targets[i % len(targets)], weight=2.0, innovation=900 + i)
        for i, z in enumerate(z_ids)
        if z not in fed
    ]
    return validate(genome.with_links([*genome.links, *extra]))


def test_z_fit_finds_the_latent_of_a_genome(tmp_path):
    from cppnart.train.zfit import fit_latents, load_generators

    write_genome(z_genome(), tmp_path / "z.genome.json")
    trained, twin = load_generators(tmp_path / "z.genome.json", seed=0, size=SIZE)
    assert trained.z_dim == 2 and trained.channels == 3
    z_true = torch.tensor([[0.6, -0.4]])
    with torch.no_grad():
        target = trained.draw(z_true).numpy()
    fit = fit_latents(trained, target, steps=80, restarts=3, seed=1)
    other = fit_latents(twin, target, steps=80, restarts=3, seed=1)
    assert fit.loss < 0.2 * fit.losses[0] and fit.loss < 0.2 * other.loss, (fit.loss, fit.losses[0], other.loss)
    # through the command: the latents it writes render with the genome as the picture asked for
    Image.fromarray((target[0].transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(tmp_path / "want.png")
    done = cli("z", "fit", "want.png", "--model", "z.genome.json", "--size", "16", "--steps", "80", "--restarts", "3",
               "-o", "z.npy", "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["mse"] < report["mse_random"]
    shown = cli("render", "z.genome.json", "--z", "z.npy", "--res", "16x16", "-o", "got.png", "--quiet", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    got = np.asarray(Image.open(tmp_path / "got.png").convert("RGB"), np.float32) / 255
    assert psnr(got, target[0].transpose(1, 2, 0)) > 25


def test_z_fit_of_a_genome_without_z_inputs_is_one_line(tmp_path):
    genome, target = start_and_target()
    write_genome(genome, tmp_path / "g.genome.json")
    Image.fromarray((target * 255).round().astype(np.uint8)).save(tmp_path / "want.png")
    done = cli("z", "fit", "want.png", "--model", "g.genome.json", "--size", "16", "-o", "z.npy", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "no z inputs" in done.stderr
    assert not (tmp_path / "z.npy").exists()
