"""Interactive breeding (the viewer's breeding page): generations, picks, undo/redo and the history file.

    session = start_session(parent, seed=3)              # generation 0: 16 children of the parent
    session.pick([5])                                    # child 5 is the parent of generation 1
    session.pick([2, 7], what="weights", strength=0.3)   # several picks: their crossovers
    session.undo(); session.redo()                       # back and forth along the history
    session.children()                                   # the genomes of the generation shown
    save_history(session, "run.history.json")            # atomic; load_history reopens it

The library decides every transition; the page and the server only ask. A generation is a pure
function of its parents, its settings (``what``, ``strength``, ``count``) and its ``key``:
``render.breed.children_of`` with ``default_rng([seed, key])`` and fresh innovation numbers
continuing after its parents' (siblings share them, so crossovers of picked siblings align), so
the history file stores the parents (the lineage), never the children, and a reopened history
draws every generation exactly as before. Undo moves back without forgetting; a pick after an
undo drops the generations that were ahead (as an editor's undo does).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParamError, UserError
from ..graph.evolve import WHAT, Innovations
from ..graph.genome import Genome, genome_from_dict, genome_json, genome_to_dict, read_bounded

HISTORY_FORMAT = "cppnart-breeding-history"
HISTORY_VERSION = 1
COUNTS = (9, 16)  # children per generation: a 3x3 or 4x4 grid
MAX_PICKS = 8  # parents crossed at once (a shift-click)
MAX_STEPS = 1000  # generations kept in one history
# A preset's genome (3651 links) is 260 KB of JSON; a history of MAX_STEPS such parents is 260 MB,
# so the page breeds genomes up to this many links (the `wide` preset's 118k are refused).
MAX_BREED_LINKS = 16384
MAX_HISTORY_BYTES = 64 << 20
MAX_STRENGTH = 10.0
_CACHED_GENERATIONS = 8  # children kept in memory; older ones are drawn again (they are deterministic)


@dataclass(frozen=True)
class Step:
    """One generation: bred from ``parents`` (the picks ``picked`` of the generation before;
    generation 0: the first ancestor, picked from nothing) by ``what`` and ``strength``."""

    parents: tuple[Genome, ...]
    picked: tuple[int, ...]
    what: str
    strength: float
    count: int
    key: int  # its random stream: default_rng([session seed, key])

    def to_dict(self) -> dict[str, Any]:
        """The step as the history file holds it."""
        return {
            "parents": [genome_to_dict(g) for g in self.parents],
            "picked": list(self.picked),
            "what": self.what,
            "strength": self.strength,
            "count": self.count,
            "key": self.key,
        }


def check_settings(what: str, strength: float, count: int) -> tuple[str, float, int]:
    """ParamErrors naming the parameter for settings out of range; the settings otherwise."""
    if what not in WHAT:
        raise ParamError("what", f"must be one of {', '.join(WHAT)}, got {str(what)[:40]!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= MAX_STRENGTH:
        raise ParamError("strength", f"must be a number in (0, {MAX_STRENGTH:g}], got {str(strength)[:40]!r}")
    if isinstance(count, bool) or count not in COUNTS:
        raise ParamError("count", f"must be one of {', '.join(map(str, COUNTS))}, got {str(count)[:40]!r}")
    return what, float(strength), int(count)


def check_breedable(genome: Genome) -> Genome:
    """The genome, or a UserError when it is too large to breed on the page."""
    if len(genome.links) > MAX_BREED_LINKS:
        raise UserError(
            f"a genome of {len(genome.links)} links is too large to breed on the page (at most {MAX_BREED_LINKS}); "
            "start from a smaller preset, or use `cppnart breed`"
        )
    return genome


def genome_hash(genome: Genome) -> str:
    """A short fingerprint of a genome (12 hex digits of the SHA-256 of its JSON), for lineages."""
    return hashlib.sha256(genome_json(genome).encode("utf-8")).hexdigest()[:12]


@dataclass
class BreedingSession:
    """A breeding history: its steps (generation 0 first), the one shown (``cursor``) and the seed."""

    seed: int
    steps: list[Step]
    cursor: int = 0
    next_key: int = 1
    _children: OrderedDict[int, list[Genome]] = field(default_factory=OrderedDict, repr=False)

    # --- what is shown ----------------------------------------------------------------------------
    @property
    def step(self) -> Step:
        """The generation shown."""
        return self.steps[self.cursor]

    def children(self, generation: int | None = None) -> list[Genome]:
        """The genomes of generation ``generation`` (the one shown when None), drawn from its
        parents and key (kept for the last few generations asked)."""
        from .breed import children_of

        step = self.steps[self.index(generation)]
        found = self._children.get(step.key)
        if found is None:
            rng = np.random.default_rng([self.seed, step.key])
            marks = Innovations.of(list(step.parents))
            found = children_of(list(step.parents), step.count, rng, step.what, step.strength, marks)
            self._children[step.key] = found
            while len(self._children) > _CACHED_GENERATIONS:
                self._children.popitem(last=False)
        self._children.move_to_end(step.key)
        return found

    def child(self, generation: int | None, index: int) -> Genome:
        """Child ``index`` of a generation (``-1``: its first parent, for the lineage strip)."""
        step = self.steps[self.index(generation)]
        if isinstance(index, bool) or not isinstance(index, int) or not -1 <= index < step.count:
            raise ParamError("child", f"must be -1 (the parent) or 0 to {step.count - 1}, got {str(index)[:40]!r}")
        return step.parents[0] if index == -1 else self.children(generation)[index]

    def index(self, generation: int | None) -> int:
        """A generation number checked against the history (None: the one shown)."""
        if generation is None:
            return self.cursor
        if isinstance(generation, bool) or not isinstance(generation, int) or not 0 <= generation < len(self.steps):
            raise ParamError("generation", f"must be 0 to {len(self.steps) - 1}, got {str(generation)[:40]!r}")
        return generation

    @property
    def can_undo(self) -> bool:
        """Whether a generation comes before the one shown."""
        return self.cursor > 0

    @property
    def can_redo(self) -> bool:
        """Whether an undone generation lies ahead."""
        return self.cursor < len(self.steps) - 1

    # --- transitions ---------------------------------------------------------------------------------
    def pick(
        self, picks: list[int], what: str | None = None, strength: float | None = None, count: int | None = None
    ) -> Step:
        """A new generation bred from children ``picks`` of the one shown (one: its mutants;
        several: crossovers of them, the first picked keeping its structure). Settings left None
        are the shown generation's. Generations ahead of the shown one (undone) are dropped."""
        current = self.step
        what, strength, count = check_settings(
            current.what if what is None else what,
            current.strength if strength is None else strength,
            current.count if count is None else count,
        )
        if not isinstance(picks, list) or not 1 <= len(picks) <= MAX_PICKS or len(set(map(repr, picks))) != len(picks):
            raise ParamError("picks", f"must be 1 to {MAX_PICKS} different children, got {str(picks)[:80]}")
        for i in picks:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < current.count:
                raise ParamError("picks", f"must be children 0 to {current.count - 1}, got {str(i)[:40]!r}")
        kids = self.children()
        parents = tuple(kids[i] for i in picks)
        return self._push(Step(parents, tuple(picks), what, strength, count, self.next_key))

    def again(self, what: str | None = None, strength: float | None = None, count: int | None = None) -> Step:
        """New children of the shown generation's parents (other draws, or other settings): a new
        generation, so undo returns to these children."""
        current = self.step
        what, strength, count = check_settings(
            current.what if what is None else what,
            current.strength if strength is None else strength,
            current.count if count is None else count,
        )
        return self._push(Step(current.parents, current.picked, what, strength, count, self.next_key))

    def _push(self, step: Step) -> Step:
        if self.cursor + 1 >= MAX_STEPS:
            raise UserError(f"this history holds {MAX_STEPS} generations, the most one holds; start a new one")
        if step.what == "latent" and not step.parents[0].z_inputs:
            raise ParamError("what", "'latent' varies a genome's own z, and this genome has no latent inputs")
        del self.steps[self.cursor + 1 :]
        self.steps.append(step)
        self.cursor = len(self.steps) - 1
        self.next_key += 1
        self.children()  # drawn now: a bad setting fails here, before anything is saved
        return step

    def undo(self) -> Step:
        """Back to the generation before (its children exactly as they were)."""
        if not self.can_undo:
            raise UserError("nothing to undo: this is the first generation")
        self.cursor -= 1
        return self.step

    def redo(self) -> Step:
        """Forward again to a generation undone."""
        if not self.can_redo:
            raise UserError("nothing to redo")
        self.cursor += 1
        return self.step

    def goto(self, generation: int) -> Step:
        """Show generation ``generation`` (the lineage strip's click); the ones after it stay for redo."""
        self.cursor = self.index(generation)
        return self.step

    # --- what a child carries ------------------------------------------------------------------------
    def lineage(self, generation: int | None = None, child: int | None = None) -> dict[str, Any]:
        """How a child came to be, back to the first ancestor: the seed, every generation's picks,
        settings and key with its parents' fingerprints; ``cppnart`` recipes carry it."""
        last = self.index(generation)
        steps = [
            {
                "generation": g,
                "picked": list(s.picked),
                "what": s.what,
                "strength": s.strength,
                "count": s.count,
                "key": s.key,
                "parents": [genome_hash(p) for p in s.parents],
            }
            for g, s in enumerate(self.steps[: last + 1])
        ]
        out: dict[str, Any] = {"seed": self.seed, "steps": steps}
        if child is not None:
            out["child"] = child
            out["genome"] = genome_hash(self.child(last, child))
        return out


def child_name(generation: int, child: int) -> str:
    """What a bred child is called (its model label, its poster's and exports' names)."""
    return f"bred-g{generation}-{'parent' if child == -1 else child}"


def child_model(session: BreedingSession, generation: int | None, child: int, device: str = "cpu") -> Any:
    """A child as a ``Model`` (its genome compiled to ONNX) whose recipes carry its lineage."""
    from .model import model_from_genome

    g = session.index(generation)
    model = model_from_genome(session.child(g, child), child_name(g, child), device)
    model.metadata["lineage"] = json.dumps(session.lineage(g, child), separators=(",", ":"))
    return model


EXPORTS = {"genome": ".genome.json", "onnx": ".onnx", "glsl": ".glsl"}


def child_file(session: BreedingSession, generation: int | None, child: int, fmt: str) -> tuple[str, bytes]:
    """(file name, bytes) of a child as ``cppnart export`` writes it: its genome (``genome``), the
    ONNX model ``cppnart render`` runs (``onnx``) or a ShaderToy shader of it (``glsl``)."""
    if fmt not in EXPORTS:
        raise ParamError("format", f"must be one of {', '.join(EXPORTS)}, got {str(fmt)[:40]!r}")
    g = session.index(generation)
    genome, name = session.child(g, child), child_name(g, child)
    if fmt == "genome":
        data = (json.dumps(genome_to_dict(genome), indent=1) + "\n").encode("utf-8")  # as write_genome
    elif fmt == "onnx":
        data = child_model(session, g, child).onnx_bytes
    else:
        from ..graph.genome_glsl import genome_shadertoy_shader

        data = genome_shadertoy_shader(genome, title=f"cppnart {name}").encode("utf-8")
    return name + EXPORTS[fmt], data


def start_session(
    parent: Genome, seed: int = 0, what: str = "all", strength: float = 0.25, count: int = 16
) -> BreedingSession:
    """Generation 0: ``count`` children of ``parent``, seeded by ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ParamError("seed", f"must be an integer from 0 to 2**63 - 1, got {str(seed)[:40]!r}")
    what, strength, count = check_settings(what, strength, count)
    session = BreedingSession(seed, [])
    session.steps.append(Step((check_breedable(parent),), (), what, strength, count, 0))
    if what == "latent" and not parent.z_inputs:
        raise ParamError("what", "'latent' varies a genome's own z, and this genome has no latent inputs")
    session.children()
    return session


# --- the history file -------------------------------------------------------------------------------


def history_to_dict(session: BreedingSession) -> dict[str, Any]:
    """The history as the JSON table ``history_from_dict`` reads."""
    from .breed import file_header

    return {
        **file_header(HISTORY_FORMAT, HISTORY_VERSION),
        "seed": session.seed,
        "cursor": session.cursor,
        "next_key": session.next_key,
        "steps": [s.to_dict() for s in session.steps],
    }


def history_from_dict(table: Any, where: str = "the breeding history") -> BreedingSession:
    """A session from its JSON table, every field checked; a one-line UserError naming ``where``."""
    if not isinstance(table, dict) or table.get("format") != HISTORY_FORMAT:
        raise UserError(f"{where} is not a cppnart breeding history (its 'format' is not '{HISTORY_FORMAT}')")
    if table.get("version") != HISTORY_VERSION:
        raise UserError(f"{where}: history version {str(table.get('version'))[:20]!r} is not one this cppnart reads")
    try:
        steps_in = table["steps"]
        if not isinstance(steps_in, list) or not 1 <= len(steps_in) <= MAX_STEPS:
            raise ValueError(f"'steps' must be a list of 1 to {MAX_STEPS} generations")
        steps = []
        for g, s in enumerate(steps_in):
            parents = s["parents"]
            if not isinstance(parents, list) or not 1 <= len(parents) <= MAX_PICKS:
                raise ValueError(f"generation {g} must have 1 to {MAX_PICKS} parents")
            genomes = tuple(check_breedable(genome_from_dict(p, f"{where} generation {g}")) for p in parents)
            what, strength, count = check_settings(s["what"], s["strength"], s["count"])
            picked = tuple(int(i) for i in s["picked"])
            key = s["key"]
            if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key < 2**63:
                raise ValueError(f"generation {g}'s key must be a whole number")
            steps.append(Step(genomes, picked, what, strength, count, key))
        session = BreedingSession(int(table["seed"]), steps, int(table["cursor"]), int(table["next_key"]))
        if not 0 <= session.cursor < len(steps) or not 0 <= session.seed < 2**63:
            raise ValueError("'cursor' or 'seed' out of range")
        if session.next_key <= max(s.key for s in steps):
            raise ValueError("'next_key' must come after every generation's key")
    except UserError as exc:
        raise UserError(str(exc).splitlines()[0]) from None
    except (ValueError, KeyError, TypeError, ParamError) as exc:
        raise UserError(f"{where} is damaged ({str(exc)[:100]})") from None
    return session


def save_history(session: BreedingSession, path: str | Path) -> Path:
    """The history as JSON, written atomically (an interrupted save leaves the previous file)."""
    from ..io.atomic import atomic_output

    text = json.dumps(history_to_dict(session), separators=(",", ":"))
    if len(text) > MAX_HISTORY_BYTES:
        raise UserError(
            f"the breeding history is over {MAX_HISTORY_BYTES >> 20} MiB, more than one reopens; start a new one"
        )
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def load_history(path: str | Path) -> BreedingSession:
    """A history file ``save_history`` wrote: read bounded (``MAX_HISTORY_BYTES``), every field checked."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"breeding history '{path}' not found")
    from ..configs.schema import loads_bounded

    data = read_bounded(path, MAX_HISTORY_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"'{path}' is not a breeding history (not UTF-8 text)") from None
    table = loads_bounded(text, f"'{path}'", max_chars=MAX_HISTORY_BYTES, max_depth=8)
    return history_from_dict(table, f"'{path}'")


def open_session(
    model: str | None, history: str | Path | None, seed: int = 0, from_image: str | Path | None = None
) -> BreedingSession:
    """What `cppnart view --breed` breeds: the history file when it exists (then no ``model`` or
    ``from_image``), else a new session from the genome of ``model`` (``breed.breeding_parent``:
    a preset, a CPPN .onnx, a genome file) or ``from_image``'s recipe, else a small random genome
    drawn from ``seed``."""
    from ..graph.evolve import random_genome
    from .breed import breeding_parent

    if history is not None and Path(history).exists():
        if model is not None or from_image is not None:
            raise UserError(
                f"breeding history '{history}' exists and reopens as it is; drop the model (and the image), "
                "or give a new history file"
            )
        return load_history(history)
    parent = breeding_parent(model, from_image, seed)
    if parent is None:
        parent = random_genome(np.random.default_rng([seed, 27]), colour="hsv", hidden=4, links=12)
    return start_session(parent, seed)
