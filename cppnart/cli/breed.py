"""`cppnart breed`: novelty search over genomes from the command line (``render.breed`` does the work)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .options import FromOption, JsonOption, QuietOption
from .output import check_output, emit, progress, user_errors

app = typer.Typer()


class What(StrEnum):
    """What mutation varies."""

    all = "all"
    weights = "weights"
    activations = "activations"
    structure = "structure"
    colour = "colour"
    latent = "latent"


class Colour(StrEnum):
    """The outputs of a random first genome."""

    grey = "grey"
    rgb = "rgb"
    hsv = "hsv"


@app.command(
    epilog="Examples: cppnart breed --seed 3 --generations 20 -o archive.png    "
    "cppnart breed classic --seed 7 --what weights    cppnart breed skull.zip    "
    "cppnart breed --resume -o archive.png --generations 10    cppnart breed archive.png --take 7 -o pick.genome.json"
)
@user_errors
def breed(
    model: Annotated[
        Optional[str],
        typer.Argument(
            help="Parent: a preset, preset .toml, CPPN .onnx or genome (.genome.json, Picbreeder .xml/.zip); "
            "with --take, an archive sheet. \\[default: a small random genome of --colour]",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .png sheet of the archive.")] = Path("breed.png"),
    generations: Annotated[int, typer.Option(help="Generations to run (more, with --resume).")] = 10,
    population: Annotated[int, typer.Option(help="Children per generation.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed of the search (and of a preset's weights).")] = 0,
    what: Annotated[What, typer.Option(help="What mutation varies; each choice keeps the rest.")] = What.all,
    strength: Annotated[float, typer.Option(help="Standard deviation of weight and latent nudges.")] = 0.5,
    k: Annotated[int, typer.Option("--k", help="Novelty: mean distance to this many nearest neighbours.")] = 5,
    add: Annotated[int, typer.Option(help="Most novel children archived per generation.")] = 2,
    size: Annotated[int, typer.Option(help="Side of the render novelty is measured on.")] = 32,
    colour: Annotated[Colour, typer.Option(help="Outputs of the random first genome (without MODEL).")] = Colour.grey,
    cell: Annotated[int, typer.Option(help="Side of each sheet cell in pixels.")] = 128,
    state: Annotated[
        Optional[Path],
        typer.Option(help="Breeding state file, saved every generation. \\[default: OUT with .breed.json]"),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue the search in the state file.")] = False,
    take: Annotated[
        Optional[int],
        typer.Option(help="Write cell N's genome of the archive sheet MODEL to -o (.genome.json), then stop."),
    ] = None,
    from_image: FromOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Breed genomes by novelty search; writes a sheet of the archive with every cell's genome inside."""
    from ..render.breed import BreedSettings, breed_run, breeding_parent, take_cell

    if take is not None:
        path = take_cell(model, take, check_output(out, (".json",)))
        emit({"path": str(path), "sheet": model, "cell": take}, f"cell {take} of {model} -> {path}", as_json, quiet)
        return
    check_output(out, (".png",))
    settings = BreedSettings(seed, population, what.value, strength, k, add, 0.2, size).check()
    parent = None if resume else breeding_parent(model, from_image, seed)
    # breed_run's default state path; a fresh run refuses an existing one, so what is there after a stop is ours
    kept = state if state is not None else out.with_suffix(".breed.json")
    with (
        _says_the_state_was_kept(kept),
        progress(generations, f"breeding {generations} generations", not quiet and not as_json) as advance,
    ):
        summary = breed_run(
            parent, settings, generations, out, state, resume, colour.value, cell, on_generation=lambda s: advance(1)
        )
    text = (
        f"seed {summary['seed']} · generation {summary['generation']} · {summary['archive']} archived "
        f"-> {summary['path']} (state {summary['state']}, {summary['seconds']:.1f} s)"
    )
    emit(summary, text, as_json, quiet)


@contextmanager
def _says_the_state_was_kept(state: Path) -> Iterator[None]:
    """A stop signal or a full disk after the first save keeps the resumable state file: say so,
    where the generic ending would say that nothing was left behind."""
    from .output import STOPS_REPORTED, fail, stop_note, system_error

    try:
        yield
    except KeyboardInterrupt as exc:
        if not state.is_file():
            raise
        signum = getattr(exc, "signum", 2)
        STOPS_REPORTED.append(signum)
        typer.echo(f"{stop_note(signum)}; kept the breeding state '{state}'; continue it with --resume", err=True)
        raise typer.Exit(128 + signum) from None
    except OSError as exc:
        message = system_error(exc)
        if message is None or not state.is_file():
            raise
        kept = f"kept the breeding state '{state}' (--resume continues it)"
        fail(f"{message.split(' (nothing was left behind)')[0]}; {kept}")
