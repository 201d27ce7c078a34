"""Breeding genomes without a browser: novelty search, seeded and resumable, and its archive sheet.

    parent = genome_of_model(load_model("classic", seed=7))   # any preset, CPPN .onnx or genome
    state = start_breeding(parent, BreedSettings(seed=1))
    for _ in range(10):
        next_generation(state)                                # children, novelty, archive
    save_state(state, "run.breed.json")                       # atomic; load_state resumes exactly
    save_archive_sheet(state, "archive.png")                  # every cell's genome in its metadata
    kids = children_of([a, b], 16, rng, what="colour")        # interactive breeding: one or several parents

Novelty search (Lehman & Stanley 2011, as neat-python's picture example does it) rewards
being different rather than being good: each child is rendered small (``size`` x ``size``), and
its novelty is the mean distance of that render to its ``k`` nearest neighbours among the
archive and its siblings. The ``add`` most novel children of every generation join the archive;
parents of the next generation are picked by tournaments on novelty; a child is a mutation
(``graph.evolve.mutate`` with ``what`` and ``strength``) and sometimes a crossover of two.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..__about__ import __version__
from ..configs.schema import RANGES, Range, bounded, check_settings, chosen
from ..configs.view import View
from ..errors import PARAM, ParamError, UserError
from ..graph.evolve import WHAT, Innovations, crossover, mutate, random_genome
from ..graph.genome import Genome, genome_from_dict, genome_to_dict, read_bounded
from ..io.budget import check_budget
from .coords import grid

STATE_FORMAT = "cppnart-breed-state"
STATE_VERSION = 1
SHEET_KEY = "cppnart-breed"  # PNG text chunk of an archive sheet: every cell's genome
MAX_ARCHIVE = 1024
MAX_STATE_BYTES = 256 << 20


# A generation's renders, features and copies per pixel of one child (4 channels of float32, about
# three copies): 256 children at 512x512 reached 2.4 GB RSS (measured), this estimates 3.2 GB.
BYTES_PER_PIXEL = 48


@dataclass(frozen=True)
class BreedSettings:
    """How a novelty search breeds (stored in its state file, so a resumed run breeds the same way)."""

    seed: int = bounded(0, RANGES["seed"])
    population: int = bounded(16, Range(2, 256, "children per generation, each rendered and compared"))
    what: str = chosen("all", WHAT)
    strength: float = bounded(0.5, Range(0.0, 10.0, "mutation strength", open_low=True))
    k: int = bounded(5, Range(1, 64, "neighbours each novelty is measured against"))
    add: int = bounded(2, Range(1, 64, "genomes archived per generation"))
    crossover: float = bounded(0.2, Range(0.0, 1.0))
    size: int = bounded(32, Range(4, 512, "the side of the small renders novelty compares"))

    def check(self) -> BreedSettings:
        """ParamErrors naming the field for values out of their declared ranges; a generation's
        renders within the memory budget (measured: 256 children at 512 px held 2.4 GB)."""
        check_settings(self)
        if self.add > self.population:
            raise ParamError("add", f"must be at most population ({self.population}), got {self.add}")
        what = f"breeding {self.population} children of {self.size}x{self.size}"
        check_budget(what, memory=float(self.population) * self.size * self.size * BYTES_PER_PIXEL)
        return self


@dataclass
class BreedState:
    """A novelty search between generations: everything ``next_generation`` needs to go on."""

    settings: BreedSettings
    generation: int
    population: list[Genome]
    novelty: list[float]
    archive: list[Genome]
    archive_info: list[dict[str, Any]]  # per archived genome: generation, novelty
    innovations: Innovations
    rng: np.random.Generator
    _features: np.ndarray | None = field(default=None, repr=False)  # the archive's renders, flattened

    def archive_features(self) -> np.ndarray:
        """The small renders' features of every archived genome, kept while the archive is unchanged."""
        if self._features is None or len(self._features) != len(self.archive):
            self._features = np.stack([features(g, self.settings.size) for g in self.archive])
        return self._features


# --- rendering small -----------------------------------------------------------------------------


def render_genome(genome: Genome, width: int, height: int, view: View = View(), threads: int | None = 1) -> np.ndarray:
    """Pixels [H, W, C] of a genome with its own latent, through the ONNX graph ``cppnart render`` runs."""
    from .model import model_from_genome

    model = model_from_genome(genome, "genome")
    model.threads = threads
    return model.render(None, width, height, view)


def features(genome: Genome, size: int) -> np.ndarray:
    """The descriptor novelty is measured on: a ``size`` x ``size`` render as RGB, flattened (grey
    repeated, so grey and colour genomes compare)."""
    from ..graph.genome import evaluate

    coords = grid(size, size)
    pixels = evaluate(genome, coords)[0]  # [N, C]; the numpy reference: no session per child
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return pixels.reshape(-1).astype(np.float32)


def novelty_scores(children: np.ndarray, archive: np.ndarray, k: int) -> np.ndarray:
    """Mean RMS distance of each child [P, D] to its ``k`` nearest among the archive [A, D] and
    the other children."""
    reference = np.concatenate([archive, children])
    d2 = (children**2).sum(1)[:, None] + (reference**2).sum(1)[None, :] - 2 * children @ reference.T
    dist = np.sqrt(np.maximum(d2, 0) / children.shape[1])
    own = np.arange(len(children)) + len(archive)
    dist[np.arange(len(children)), own] = np.inf  # not its own neighbour
    k = min(k, reference.shape[0] - 1)
    nearest = np.sort(dist, axis=1)[:, :k]
    return nearest.mean(axis=1)


# --- the search ------------------------------------------------------------------------------------


def start_breeding(parent: Genome | None, settings: BreedSettings, colour: str = "grey") -> BreedState:
    """Generation 0: the parent (a small random genome of ``colour`` when None) in the archive,
    and a population of its mutants."""
    settings.check()
    rng = np.random.default_rng([settings.seed, 27])
    if parent is None:
        parent = random_genome(rng, colour=colour)
    marks = Innovations.of([parent])
    state = BreedState(settings, 0, [], [], [parent], [{"generation": 0, "novelty": 0.0}], marks, rng)
    children = [mutate(parent, rng, settings.what, settings.strength, marks) for _ in range(settings.population)]
    _score(state, children)
    return state


def _score(state: BreedState, children: list[Genome]) -> None:
    s = state.settings
    found = np.stack([features(g, s.size) for g in children])
    known = state.archive_features()
    scores = novelty_scores(found, known, s.k)
    state.population, state.novelty = children, [float(v) for v in scores]
    room = MAX_ARCHIVE - len(state.archive)
    best = [int(i) for i in np.argsort(-scores, kind="stable")[: min(s.add, room)]]
    for i in best:
        state.archive.append(children[i])
        state.archive_info.append({"generation": state.generation, "novelty": float(scores[i])})
    state._features = np.concatenate([known, found[best]])


def _pick(state: BreedState) -> Genome:
    """A parent by a tournament of two on novelty."""
    i, j = state.rng.integers(len(state.population), size=2)
    return state.population[i if state.novelty[i] >= state.novelty[j] else j]


def next_generation(state: BreedState) -> BreedState:
    """One generation in place: children of tournament-picked parents, scored, the best archived."""
    s = state.settings
    children = []
    for _ in range(s.population):
        child = _pick(state)
        if s.crossover and state.rng.random() < s.crossover:
            child = crossover(child, _pick(state), state.rng)
        children.append(mutate(child, state.rng, s.what, s.strength, state.innovations))
    state.generation += 1
    _score(state, children)
    return state


def children_of(
    parents: list[Genome],
    count: int,
    rng: np.random.Generator,
    what: str = "all",
    strength: float = 0.5,
    innovations: Innovations | None = None,
) -> list[Genome]:
    """``count`` children for interactive breeding: mutants of one parent, or, given several (the
    picks of a shift-click), crossovers of two of them (the first picked keeps its structure),
    each then mutated by ``what`` / ``strength``."""
    if not parents:
        raise ParamError("parents", "must hold at least one genome")
    if not 1 <= count <= 256:
        raise ParamError("count", f"must be from 1 to 256, got {count}")
    marks = innovations if innovations is not None else Innovations.of(parents)
    out = []
    for _ in range(count):
        child = parents[0] if len(parents) == 1 else parents[int(rng.integers(len(parents)))]
        if len(parents) > 1:
            others = [p for p in parents if p is not child]
            child = crossover(child, others[int(rng.integers(len(others)))], rng)
        out.append(mutate(child, rng, what, strength, marks))
    return out


# --- state files -------------------------------------------------------------------------------------


def file_header(file_format: str, version: int) -> dict[str, Any]:
    """The first keys of every breeding file (a state here, ``render.breeding``'s history): its
    format and version, which its reader checks, and the cppnart that wrote it."""
    return {"format": file_format, "version": version, "cppnart": __version__}


def state_to_dict(state: BreedState) -> dict[str, Any]:
    """The state as the JSON table the state file holds (format, version, settings, archive, population)."""
    return {
        **file_header(STATE_FORMAT, STATE_VERSION),
        "settings": asdict(state.settings),
        "generation": state.generation,
        "population": [genome_to_dict(g) for g in state.population],
        "novelty": state.novelty,
        "archive": [genome_to_dict(g) for g in state.archive],
        "archive_info": state.archive_info,
        "innovations": state.innovations.to_dict(),
        "rng": state.rng.bit_generator.state,
    }


def save_state(state: BreedState, path: str | Path) -> Path:
    """The search so far as JSON, written atomically (an interrupted save leaves the old state)."""
    from ..io.atomic import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(state_to_dict(state), separators=(",", ":")), encoding="utf-8")
    return Path(path)


def load_state(path: str | Path) -> BreedState:
    """A state file written by ``save_state``, checked; a one-line UserError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"breeding state '{path}' not found")
    where = f"'{path}'"
    try:
        table = json.loads(read_bounded(path, MAX_STATE_BYTES).decode("utf-8"))
        if not isinstance(table, dict) or table.get("format") != STATE_FORMAT:
            raise UserError(f"{where} is not a cppnart breeding state")
        if table.get("version") != STATE_VERSION:
            raise UserError(f"{where}: breeding state version {table.get('version')!r} is not one this cppnart reads")
        settings = BreedSettings(**table["settings"]).check()
        rng = np.random.default_rng()
        rng.bit_generator.state = table["rng"]
        archive = [genome_from_dict(g, f"{where} archive") for g in table["archive"]]
        population = [genome_from_dict(g, f"{where} population") for g in table["population"]]
        info, novelty = table["archive_info"], [float(v) for v in table["novelty"]]
        if len(info) != len(archive) or len(novelty) != len(population) or not archive or not population:
            raise ValueError("lists of different lengths")
        return BreedState(
            settings, int(table["generation"]), population, novelty, archive, info,
            Innovations.from_dict(table["innovations"]), rng,
        )  # fmt: skip
    except UserError:
        raise
    except (ValueError, KeyError, TypeError, ParamError) as exc:
        raise UserError(f"{where}: the breeding state is damaged ({str(exc)[:80]})") from None


# --- the archive sheet --------------------------------------------------------------------------------


def save_archive_sheet(state: BreedState, path: str | Path, cell: int = 128, cols: int | None = None) -> Path:
    """The archive as a labelled contact sheet (``sheets.compose_sheet``) whose PNG metadata carries
    every cell's genome under ``cppnart-breed`` (``read_breed_sheet``)."""
    from ..io.png import write_png
    from .poster import check_poster_space
    from .sheets import compose_sheet

    images = []
    for genome in state.archive:
        pixels = render_genome(genome, cell, cell)
        images.append(np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels)
    labels = [f"#{i} g{info['generation']}" for i, info in enumerate(state.archive_info)]
    sheet = compose_sheet(np.stack(images), cols=cols, labels=labels, background=GRID_BACKGROUND)
    check_poster_space(sheet.shape[1], sheet.shape[0], 3, 8, path)
    cells = [
        {"index": i, "label": labels[i], **info, "genome": genome_to_dict(g)}
        for i, (g, info) in enumerate(zip(state.archive, state.archive_info))
    ]
    meta = {"settings": asdict(state.settings), "generation": state.generation, "cell": cell, "cells": cells}
    text = {
        "Software": f"cppnart {__version__}",
        "parameters": f"Novelty search archive of {len(cells)} genomes, generation {state.generation}, "
        f"seed {state.settings.seed}",
        SHEET_KEY: json.dumps(meta, separators=(",", ":")),
    }
    return write_png(path, sheet.shape[1], sheet.shape[0], 3, [sheet.astype(np.float32) / 255.0], text=text)


GRID_BACKGROUND = 24 / 255


def read_breed_sheet(path: str | Path) -> list[Genome]:
    """The genomes of an archive sheet's cells, in cell order."""
    from PIL import PngImagePlugin

    from ..io.png import open_own_image

    old = PngImagePlugin.MAX_TEXT_CHUNK
    PngImagePlugin.MAX_TEXT_CHUNK = MAX_STATE_BYTES  # the genomes of a big archive exceed Pillow's 1 MiB
    try:
        with open_own_image(path) as image:
            image.load()
            text = image.info.get(SHEET_KEY)
    except Exception:
        raise UserError(f"'{path}' is not an image Pillow can read") from None
    finally:
        PngImagePlugin.MAX_TEXT_CHUNK = old
    if not text:
        raise UserError(f"'{path}' is not a breeding archive sheet (no '{SHEET_KEY}' metadata)")
    try:
        cells = json.loads(text)["cells"]
        return [genome_from_dict(c["genome"], f"'{path}' cell {i}") for i, c in enumerate(cells)]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"the breeding metadata in '{path}' is damaged") from None


def take_cell(sheet: str | Path | None, index: int, out: str | Path) -> Path:
    """Write the genome of cell ``index`` of an archive sheet to ``out`` (``.genome.json``)."""
    from ..graph.genome import write_genome

    if sheet is None:
        raise UserError("name the archive sheet to take a cell from (the PNG `cppnart breed` wrote)")
    genomes = read_breed_sheet(sheet)
    if not 0 <= index < len(genomes):
        raise ParamError("take", f"must be a cell of the sheet, 0 to {len(genomes) - 1}, got {index}")
    return write_genome(genomes[index], out)


def breeding_parent(model: str | None, from_image: str | Path | None, seed: int) -> Genome | None:
    """The genome a search starts from: of ``model`` (a preset, whose weights ``seed`` draws, a CPPN
    .onnx or a genome file), else of the model in ``from_image``'s recipe, else None (random)."""
    from ..configs.recipe import check_recipe
    from ..io.metadata import read_any_recipe
    from .model import load_model, model_from_recipe

    if model is not None:
        return genome_of_model(load_model(model, seed, "cpu"), seed)
    if from_image is None:
        return None
    recipe = check_recipe(read_any_recipe(from_image), f"the recipe in '{from_image}'", Path(from_image).parent)
    net = model_from_recipe({**recipe, "seed": recipe.get("seed", seed)}, "cpu")
    return genome_of_model(net, seed, recipe.get("z"))  # the picture of the image: its own z


def genome_of_model(model: Any, seed: int | None = None, z: Any = None) -> Genome:
    """The genome of a loaded ``Model``: a genome model's own, or a layered CPPN (a preset, a CPPN
    .onnx) converted with latent ``z`` stored in it (when None, the one ``seed`` draws, the
    model's seed when that is None too)."""
    import onnx

    from ..graph.genome_weights import genome_from_weights
    from ..graph.onnx_weights import weights_from_onnx

    if model.genome is not None:
        return model.genome
    weights = weights_from_onnx(onnx.load_from_string(model.onnx_bytes)) if model.interface == "coords" else None
    if weights is None:
        raise UserError(
            f"'{model.source}' is not a layered CPPN cppnart can turn into a genome; "
            "start from a preset, a CPPN .onnx, or a genome file"
        )
    if z is None:
        z = model.sample_z(seed if seed is not None else (model.seed or 0))[0]
    return genome_from_weights(weights, model.check_z(np.asarray(z, np.float32), "z")[0])


def breed_run(
    parent: Genome | None,
    settings: BreedSettings,
    generations: int,
    out: str | Path,
    state_path: str | Path | None = None,
    resume: bool = False,
    colour: str = "grey",
    cell: int = 128,
    cols: int | None = None,
    on_generation: Any = None,
) -> dict[str, Any]:
    """`cppnart breed`: start (or, with ``resume``, continue) a novelty search, run ``generations``
    more generations saving the state after each (Ctrl-C keeps the last whole one), then write the
    archive sheet ``out``. Returns the summary the command prints."""
    import time

    if isinstance(generations, bool) or not isinstance(generations, int) or not 0 <= generations <= 10_000:
        raise ParamError("generations", f"must be an integer from 0 to 10000, got {generations!r}")
    if not 16 <= cell <= 1024:
        raise ParamError("cell", f"must be from 16 to 1024 pixels, got {cell}")
    state_path = Path(state_path) if state_path is not None else Path(out).with_suffix(".breed.json")
    started = time.perf_counter()
    if resume:
        state = load_state(state_path)
    else:
        if state_path.exists():
            raise ParamError(
                "resume", f"breeding state '{state_path}' exists; pass {PARAM} to continue it, or remove it"
            )
        state = start_breeding(parent, settings, colour)
        save_state(state, state_path)
    for _ in range(generations):
        next_generation(state)
        save_state(state, state_path)
        if on_generation is not None:
            on_generation(state)
    save_archive_sheet(state, out, cell, cols)
    return {
        "path": str(out),
        "state": str(state_path),
        "generation": state.generation,
        "archive": len(state.archive),
        "seed": state.settings.seed,
        "novelty": max(state.novelty),
        "seconds": round(time.perf_counter() - started, 3),
    }
