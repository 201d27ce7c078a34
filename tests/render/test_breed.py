"""Novelty search (render.breed, `cppnart breed`): seeded, resumable exactly, an archive sheet whose
cells carry genomes that render those cells, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app
from cppnart.graph.genome import genome_to_dict, write_genome
from cppnart.io.png import quantize
from cppnart.render.breed import (
    BreedSettings,
    load_state,
    next_generation,
    novelty_scores,
    read_breed_sheet,
    render_genome,
    save_state,
    start_breeding,
)
from cppnart.render.sheets import cell_origin
from tests.genome_fixtures import GREY_XML

runner = CliRunner()
SMALL = BreedSettings(seed=4, population=6, k=3, add=2, size=12)


def archive_of(state) -> list[dict]:
    return [genome_to_dict(g) for g in state.archive]


def test_novelty_is_distance_to_the_nearest():
    archive = np.zeros((3, 4), np.float32)
    children = np.array([[0, 0, 0, 0], [2, 2, 2, 2]], np.float32)
    scores = novelty_scores(children, archive, k=1)
    assert scores[0] == 0 and scores[1] == pytest.approx(2.0)


def test_search_is_seeded_and_archives_the_most_novel():
    runs = []
    for _ in range(2):
        state = start_breeding(None, SMALL, colour="hsv")
        for _ in range(3):
            next_generation(state)
        runs.append(state)
    assert archive_of(runs[0]) == archive_of(runs[1])
    state = runs[0]
    assert len(state.archive) == 1 + 4 * SMALL.add and state.generation == 3
    last = [info["novelty"] for info in state.archive_info[-SMALL.add :]]
    assert min(last) >= max(v for v in sorted(state.novelty)[: -SMALL.add])  # the archived are the most novel
    other = start_breeding(None, BreedSettings(**{**SMALL.__dict__, "seed": 5}), colour="hsv")
    assert archive_of(other) != archive_of(runs[0])[: len(other.archive)]


def test_resumed_search_equals_an_uninterrupted_one(tmp_path: Path):
    whole = start_breeding(None, SMALL)
    for _ in range(4):
        next_generation(whole)
    half = start_breeding(None, SMALL)
    for _ in range(2):
        next_generation(half)
    save_state(half, tmp_path / "s.breed.json")
    resumed = load_state(tmp_path / "s.breed.json")
    for _ in range(2):
        next_generation(resumed)
    assert archive_of(resumed) == archive_of(whole) and resumed.novelty == pytest.approx(whole.novelty)


def test_cli_breeds_resumes_and_every_cell_genome_renders_its_cell(tmp_path: Path):
    parent = tmp_path / "p.xml"
    parent.write_bytes(GREY_XML)
    out = tmp_path / "a.png"
    args = ["breed", str(parent), "-o", str(out), "--population", "6", "--size", "12", "--cell", "32", "--json"]
    result = runner.invoke(app, [*args, "--generations", "2", "--seed", "9"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["generation"] == 2 and Path(summary["state"]).is_file()
    result = runner.invoke(app, ["breed", "--resume", "-o", str(out), "--generations", "1", "--cell", "32", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["generation"] == 3
    genomes = read_breed_sheet(out)
    assert len(genomes) == json.loads(result.output)["archive"] == 1 + 4 * 2
    sheet = np.asarray(Image.open(out).convert("RGB"))
    for index in (0, len(genomes) - 1):
        x, y = cell_origin(index, int(np.ceil(np.sqrt(len(genomes)))), 32, 32, 2, True)
        cell = quantize(np.repeat(render_genome(genomes[index], 32, 32), 3, axis=-1))
        np.testing.assert_array_equal(sheet[y : y + 32, x : x + 32], cell)
    assert len({sheet[y : y + 32, x : x + 32].tobytes() for index in range(4)
                for x, y in [cell_origin(index, 3, 32, 32, 2, True)]}) == 4  # fmt: skip


def test_children_of_a_preset_stay_closer_to_it_than_other_seeds(tmp_path: Path):
    from cppnart.render.breed import features, genome_of_model
    from cppnart.render.model import load_model

    parent = genome_of_model(load_model("classic", seed=7), 7)
    state = start_breeding(parent, BreedSettings(seed=1, population=4, what="weights", strength=0.3, size=24))
    mine = features(parent, 24)
    kin = [np.sqrt(((features(c, 24) - mine) ** 2).mean()) for c in state.population]
    strangers = [
        np.sqrt(((features(genome_of_model(load_model("classic", seed=s), s), 24) - mine) ** 2).mean())
        for s in (1, 2, 3)
    ]
    assert 0 < max(kin) < min(strangers)


def test_cli_errors_are_one_line(tmp_path: Path):
    out = tmp_path / "a.png"
    write_genome(start_breeding(None, SMALL).archive[0], tmp_path / "g.genome.json")
    cases = [
        (["breed", "-o", str(out), "--population", "1"], "--population"),
        (["breed", "-o", str(out), "--resume"], "not found"),
        (["breed", "-o", str(tmp_path / "a.jpg")], ".png"),
        (["breed", "nonexistent.genome.json", "-o", str(out)], "not found"),
        (["breed", str(tmp_path / "g.genome.json"), "-o", str(out), "--what", "latent"], "no latent inputs"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1, (
            args,
            result.output,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.genome.json"]


def test_ctrl_c_keeps_the_last_whole_generation_and_writes_no_sheet(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out, state = tmp_path / "a.png", tmp_path / "a.breed.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = [sys.executable, "-m", "cppnart", "breed", "-o", str(out), "--generations", "10000", "-q"]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while (
            proc.poll() is None
            and time.monotonic() < deadline
            and not (state.is_file() and load_state(state).generation >= 2)
        ):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert load_state(state).generation >= 2  # the state of a whole generation, readable
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.breed.json"]  # no sheet, no temporaries


def test_children_of_one_or_several_parents_are_seeded_valid_and_new():
    from cppnart.graph.evolve import random_genome
    from cppnart.graph.genome import evaluate
    from cppnart.render.breed import children_of
    from cppnart.render.coords import grid as coords_grid

    rng = np.random.default_rng(0)
    a, b = random_genome(rng, "hsv", hidden=3), random_genome(rng, "hsv", hidden=4)
    kids = [children_of([a, b], 9, np.random.default_rng(5), "weights") for _ in range(2)]
    assert [genome_to_dict(g) for g in kids[0]] == [genome_to_dict(g) for g in kids[1]]
    coords = coords_grid(16, 16)
    pictures = {evaluate(g, coords).tobytes() for g in kids[0]}
    assert len(pictures) == 9 and evaluate(a, coords).tobytes() not in pictures
    with pytest.raises(Exception, match="at least one genome"):
        children_of([], 4, rng)


def test_breeding_from_a_poster_starts_from_its_picture(tmp_path: Path):
    from cppnart.render.breed import breeding_parent, features, genome_of_model
    from cppnart.render.model import load_model

    poster = tmp_path / "p.png"
    result = runner.invoke(app, ["render", "classic", "--seed", "5", "--res", "24x24", "-o", str(poster)])
    assert result.exit_code == 0, result.output
    parent = breeding_parent(None, poster, 0)
    assert parent is not None
    want = genome_of_model(load_model("classic", seed=5), 5)
    np.testing.assert_allclose(features(parent, 16), features(want, 16), atol=1e-6)
    assert breeding_parent(None, None, 0) is None


def test_a_generation_too_large_for_memory_is_refused_before_any_render(tmp_path, monkeypatch):
    """Breeding sizes its generation's renders against CPPNART_MAX_MEMORY first; settings name their field."""
    from cppnart.errors import ParamError
    from cppnart.render.breed import BreedSettings

    monkeypatch.setenv("CPPNART_MAX_MEMORY", str(1 << 30))
    out = tmp_path / "archive.png"
    args = ["breed", "--generations", "1", "--population", "256", "--size", "512", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "breeding 256 children of 512x512 would hold" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(ParamError, match=r"^population must be at least 2, got 1$"):
        BreedSettings(population=1).check()
    with pytest.raises(ParamError, match=r"^strength must be in \(0, 10\], got 0$"):
        BreedSettings(strength=0.0).check()
