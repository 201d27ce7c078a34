"""render.breeding: the breeding page's state transitions, seeded and deterministic, and its history file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cppnart.errors import ParamError, UserError
from cppnart.graph.evolve import random_genome
from cppnart.graph.genome import Genome, Link, Node, genome_json
from cppnart.render.breeding import (
    MAX_BREED_LINKS,
    check_breedable,
    child_file,
    history_from_dict,
    history_to_dict,
    load_history,
    save_history,
    start_session,
)


def parent(colour: str = "hsv", z: int = 0) -> Genome:
    return random_genome(np.random.default_rng(3), colour, hidden=4, z_inputs=z)


def texts(genomes) -> list[str]:
    return [genome_json(g) for g in genomes]


def test_the_same_seed_and_picks_breed_the_same_children():
    a, b = start_session(parent(), seed=9), start_session(parent(), seed=9)
    for session in (a, b):
        session.pick([4])
        session.pick([1, 7], what="weights", strength=0.4)
    assert texts(a.children()) == texts(b.children())
    assert texts(start_session(parent(), seed=10).children()) != texts(start_session(parent(), seed=9).children())


def test_undo_redo_and_a_pick_after_undo_drops_what_was_ahead():
    s = start_session(parent(), seed=1)
    first = texts(s.children())
    s.pick([2])
    second = texts(s.children())
    s.undo()
    assert texts(s.children()) == first and s.can_redo
    s.redo()
    assert texts(s.children()) == second
    s.undo()
    s.pick([5])
    assert len(s.steps) == 2 and not s.can_redo and texts(s.children()) != second
    with pytest.raises(UserError, match="nothing to redo"):
        s.redo()
    s.goto(0)
    with pytest.raises(UserError, match="nothing to undo"):
        s.undo()


def test_again_draws_other_children_of_the_same_parents_and_settings_keep_the_rest():
    s = start_session(parent(), seed=1)
    s.pick([3], what="colour", count=9)
    before = texts(s.children())
    s.again()
    assert s.step.what == "colour" and s.step.count == 9 and len(s.children()) == 9
    assert texts(s.children()) != before and s.step.parents == s.steps[1].parents
    # colour only: every link not into hue or saturation is the parent's
    mother = s.step.parents[0]
    tint = {n.id for n in mother.outputs if n.label in ("hue", "saturation")}
    keep = {k.innovation: k.weight for k in mother.links if k.target not in tint}
    for child in s.children():
        weights = {k.innovation: k.weight for k in child.links}
        assert all(weights[i] == w for i, w in keep.items())


def test_crossing_picks_takes_genes_of_both():
    s = start_session(parent(), seed=2, what="structure")
    a, b = s.children()[0], s.children()[1]
    s.pick([0, 1], what="weights")
    assert s.step.parents == (a, b)
    assert len(s.children()) == 16


def test_settings_out_of_range_are_refused_naming_the_parameter():
    s = start_session(parent(), seed=1)
    for kwargs, name in [
        ({"picks": [16]}, "picks"),
        ({"picks": [1, 1]}, "picks"),
        ({"picks": [0], "count": 12}, "count"),
        ({"picks": [0], "strength": 0}, "strength"),
        ({"picks": [0], "what": "nothing"}, "what"),
    ]:
        with pytest.raises(ParamError, match=name):
            s.pick(**kwargs)
    with pytest.raises(ParamError, match="no latent inputs"):
        s.pick([0], what="latent")
    assert len(s.steps) == 1
    with_z = start_session(parent(z=2), seed=1, what="latent")
    assert all(c.z != with_z.step.parents[0].z for c in with_z.children())


def test_the_history_file_reopens_every_generation_exactly(tmp_path):
    s = start_session(parent(), seed=5)
    s.pick([1])
    s.pick([2, 3])
    s.undo()
    path = save_history(s, tmp_path / "h.json")
    again = load_history(path)
    assert again.cursor == 1 and len(again.steps) == 3
    for g in range(3):
        assert texts(again.children(g)) == texts(s.children(g))
    assert again.lineage(1, 4) == s.lineage(1, 4)
    name, data = child_file(again, 1, 4, "genome")
    assert name == "bred-g1-4.genome.json" and json.loads(data)["format"] == "cppnart-genome"


def test_damaged_histories_are_one_line_errors(tmp_path):
    good = history_to_dict(start_session(parent(), seed=5))
    damaged = [
        {**good, "format": "x"},
        {**good, "version": 2},
        {**good, "cursor": 4},
        {**good, "next_key": 0},
        {**good, "steps": []},
        {**good, "steps": [{**good["steps"][0], "count": 5}]},
        {**good, "steps": [{**good["steps"][0], "parents": [{"format": "cppnart-genome"}]}]},
        {**good, "steps": "x"},
    ]
    for table in damaged:
        with pytest.raises(UserError) as caught:
            history_from_dict(table)
        assert "\n" not in str(caught.value)
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate((64 << 20) + 1)
    with pytest.raises(UserError, match="larger than"):
        load_history(path)


def test_a_genome_too_large_to_breed_on_the_page_is_refused():
    inputs = [Node(i, "input", "identity", label) for i, label in enumerate(("x", "y", "d", "bias"))]
    hidden = [Node(4 + i, "hidden", "sin") for i in range(260)]
    out = Node(300, "output", "signed_gaussian", "ink")
    first, second = hidden[:130], hidden[130:]
    pairs = [(s.id, h.id) for s in inputs for h in first] + [(a.id, b.id) for a in first for b in second]
    pairs += [(h.id, out.id) for h in second]
    links = tuple(Link(i + 1, s, t, 0.1) for i, (s, t) in enumerate(pairs))
    big = Genome((*inputs, *hidden, out), links)
    assert len(big.links) > MAX_BREED_LINKS
    with pytest.raises(UserError, match="too large to breed"):
        check_breedable(big)
