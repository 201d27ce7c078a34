"""Genomes: the file format and its checks, Picbreeder's XML, numpy -> ONNX parity, presets as
genomes, mutation and crossover validity, and the CLI on genome files."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from cppnart.cli import app
from cppnart.errors import UserError
from cppnart.graph.evolve import Innovations, crossover, mutate, random_genome
from cppnart.graph.genome import (
    GENOME_ACTIVATIONS,
    Genome,
    Link,
    evaluate,
    genome_from_dict,
    genome_to_dict,
    write_genome,
)
from cppnart.graph.genome_glsl import genome_fragment_shader, genome_shadertoy_shader
from cppnart.graph.genome_io import read_genome
from cppnart.graph.genome_onnx import genome_layers, genome_model
from cppnart.graph.picbreeder import parse_picbreeder
from cppnart.render.breed import genome_of_model
from cppnart.render.coords import grid
from cppnart.render.model import load_model
from tests.genome_fixtures import GREY_XML, HSV_XML, genomes, picbreeder_xml

runner = CliRunner()
PROBE = np.random.default_rng(0).uniform(-1.5, 1.5, (300, 2)).astype(np.float32)


def onnx_eval(genome: Genome, coords: np.ndarray, z: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(genome_model(genome).SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"coords": coords, "z": z})[0]


def independent_check(genome: Genome) -> None:
    """No cycles, inputs never targets, every link between existing nodes: checked here without
    the library's own validator (depth-first search with colours)."""
    kinds = {n.id: n.kind for n in genome.nodes}
    out: dict[int, list[int]] = {i: [] for i in kinds}
    for link in genome.links:
        assert link.source in kinds and link.target in kinds
        assert kinds[link.target] != "input"
        out[link.source].append(link.target)
    state: dict[int, int] = {}

    def visit(node: int) -> None:
        state[node] = 1
        for nxt in out[node]:
            assert state.get(nxt) != 1, "cycle"
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in kinds:
        if node not in state:
            visit(node)


# --- Picbreeder's format ---------------------------------------------------------------------------


def test_picbreeder_grey_genome_computes_picbreeders_formulas():
    g = parse_picbreeder(GREY_XML)
    assert g.colour == "grey" and g.squash == "abs" and len(g.nodes) == 6
    x, y = PROBE[:, 0], PROBE[:, 1]
    d = 1.4 * np.sqrt(x * x + y * y)
    ink = 2 * np.exp(-((2 * x + np.sin(3 * d - 1)) ** 2)) - 1  # Picbreeder's gaussian
    want = np.clip(np.abs(ink), 0, 1)
    np.testing.assert_allclose(evaluate(g, PROBE)[0, :, 0], want, atol=1e-5)


def test_picbreeder_colour_genome_converts_hsv_and_keeps_ink_out_of_the_picture():
    g = parse_picbreeder(HSV_XML)
    assert g.colour == "hsv" and [n.label for n in g.outputs] == ["hue", "saturation", "brightness"]
    x, y = PROBE[:, 0], PROBE[:, 1]
    import colorsys

    hue = (2 / (1 + np.exp(-1.5 * y)) - 1 + 1) % 1
    value = np.clip(np.abs(2 * np.exp(-((np.cos(2 * x) - 0.25) ** 2)) - 1), 0, 1)
    want = np.array([colorsys.hsv_to_rgb(h, 1.0, v) for h, v in zip(hue, value)])
    np.testing.assert_allclose(evaluate(g, PROBE)[0], want, atol=1e-5)


def test_picbreeder_zip_reads_like_its_xml(tmp_path: Path):
    path = tmp_path / "g.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a", GREY_XML)
    assert genome_to_dict(read_genome(path)) == genome_to_dict(parse_picbreeder(GREY_XML))


def test_skull_convention_rows_start_at_y_minus_one(tmp_path: Path):
    """Row 0 is y = -1 (the top), as Picbreeder draws: a genome of ink = y is dark at the top."""
    xml = picbreeder_xml([(0, "in", "bias", "identity(x)"), (3, "in", "y", "identity(x)"),
                          (4, "out", "ink", "identity(x)")], [(3, 4, 1.0)])  # fmt: skip
    path = tmp_path / "y.xml"
    path.write_bytes(xml)
    pixels = load_model(path).render(None, 8, 8)
    assert pixels[0].mean() > 0.7 and pixels[3:5].mean() < 0.2  # |y|: bright at both edges, dark in the middle
    assert pixels[0, 0, 0] == pytest.approx(0.875, abs=1e-6)  # pixel centre at y = -0.875


# --- bad files: one line, exit 2, nothing left --------------------------------------------------------

NODE = {"id": 0, "type": "input", "label": "x"}
OUT = {"id": 1, "type": "output", "label": "ink", "activation": "sin"}


def genome_file(nodes, links) -> str:
    return json.dumps({"format": "cppnart-genome", "version": 1, "colour": "grey", "nodes": nodes, "links": links})


def bomb_json(count: int) -> str:
    nodes = ",".join(f'{{"id":{i},"type":"hidden"}}' for i in range(count))
    return f'{{"format":"cppnart-genome","version":1,"nodes":[{nodes}],"links":[]}}'


BAD_FILES = {
    "not-xml.xml": (b"this is not < xml at all", "not XML"),
    "cycle.genome.json": (
        genome_file(
            [NODE, OUT, {"id": 2, "type": "hidden", "activation": "tanh"}, {"id": 3, "type": "hidden"}],
            [
                {"innovation": 1, "source": 2, "target": 3, "weight": 1},
                {"innovation": 2, "source": 3, "target": 2, "weight": 1},
                {"innovation": 3, "source": 3, "target": 1, "weight": 1},
            ],
        ),
        "cycle",
    ),
    "unknown.xml": (
        picbreeder_xml([(2, "in", "x", "identity(x)"), (4, "out", "ink", "wobble(x)")], [(2, 4, 1.0)]),
        "unknown activation 'wobble(x)'",
    ),
    "unknown.genome.json": (genome_file([NODE, {**OUT, "activation": "wobble"}], []), "unknown activation 'wobble'"),
    "missing.genome.json": (
        genome_file([NODE, OUT], [{"innovation": 1, "source": 9, "target": 1, "weight": 1}]),
        "node 9, which does not exist",
    ),
    "missing.xml": (
        picbreeder_xml([(2, "in", "x", "identity(x)"), (4, "out", "ink", "sin(x)")], [(9, 4, 1.0)]),
        "does not exist",
    ),
    "input-target.genome.json": (
        genome_file([NODE, OUT], [{"innovation": 1, "source": 1, "target": 0, "weight": 1}]),
        "inputs take no links",
    ),
    "bomb.genome.json": (bomb_json(10**6), "a genome this large is refused"),
    "bomb.xml": (b"<data><genome><nodes>" + b"<node/>" * 10**6 + b"</nodes></genome></data>", "refused"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["render", "export"])
def test_bad_genome_files_give_one_line_and_exit_2(tmp_path: Path, name: str, command: str):
    data, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    out = tmp_path / ("out.png" if command == "render" else "out.onnx")
    args = [command, str(path), "-o", str(out)] + (["--res", "16x16"] if command == "render" else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing left


@pytest.mark.parametrize("name", ["bomb.genome.json", "bomb.xml"])
def test_node_bombs_are_refused_in_bounded_memory(tmp_path: Path, name: str):
    path = tmp_path / name
    data = BAD_FILES[name][0]
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    tracemalloc.start()
    with pytest.raises(UserError, match="refused"):
        read_genome(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * path.stat().st_size + (8 << 20)  # the bytes and a little, not a parsed million nodes


def test_json_round_trip_and_version(tmp_path: Path):
    g = parse_picbreeder(HSV_XML)
    path = write_genome(g, tmp_path / "g.genome.json")
    assert genome_to_dict(read_genome(path)) == genome_to_dict(g)
    table = json.loads(path.read_text())
    table["version"] = 99
    with pytest.raises(UserError, match="version 99"):
        genome_from_dict(table)


# --- compiled forms ----------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(genomes())
def test_onnx_matches_numpy_for_random_genomes(genome: Genome):
    z = np.random.default_rng(1).uniform(-1, 1, (2, genome.z_dim)).astype(np.float32)
    want = evaluate(genome, PROBE, z)
    got = onnx_eval(genome, PROBE, z)
    assert got.shape == want.shape == (2, len(PROBE), genome.channels)
    np.testing.assert_allclose(got, want, atol=2e-4)


def test_every_activation_reaches_every_backend():
    from cppnart.graph import genome_glsl, genome_onnx

    assert set(genome_onnx.ACTIVATIONS) == set(genome_glsl.ACTIVATIONS) == set(GENOME_ACTIVATIONS)


def test_layers_are_one_matmul_per_source_each():
    g = parse_picbreeder(GREY_XML)
    assert [len(layer) for layer in genome_layers(g)] == [1, 1]  # sin node, then ink
    ops = [n.op_type for n in genome_model(g).graph.node]
    assert ops.count("MatMul") == 2 + 1 + 1  # layer 1: coords and z; layer 2: coords and the hidden values


@pytest.mark.parametrize("preset", ["classic", "grey", "abs", "sine", "residual", "softplus", "gaussian"])
def test_a_presets_genome_renders_the_presets_pixels(preset: str):
    net = load_model(preset, seed=11)
    genome = genome_of_model(net, 11)
    from cppnart.render.model import model_from_genome

    other = model_from_genome(genome, f"{preset}.genome.json")
    # the same sums in another order: within 1e-4, a fortieth of one 8-bit level
    np.testing.assert_allclose(other.render(None, 48, 40), net.render(None, 48, 40, seed=11), atol=1e-4)


def test_glsl_has_one_line_per_needed_node_and_bakes_z():
    g = parse_picbreeder(GREY_XML)
    source = genome_fragment_shader(g)
    assert source.startswith("#version 300 es") and "uniform float u_z[1];" in source
    assert source.count("act_signed_gaussian(") == 2 and "1.4 * sqrt(p.x * p.x + p.y * p.y)" in source
    toy = genome_shadertoy_shader(parse_picbreeder(HSV_XML))
    assert "hsv_rgb(" in toy and "void mainImage" in toy and "#version" not in toy


# --- mutation and crossover ----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(genomes(max_mutations=12), genomes(max_mutations=4))
def test_mutation_and_crossover_keep_genomes_valid(a: Genome, b: Genome):
    independent_check(a)
    rng = np.random.default_rng(0)
    child = crossover(a, b, rng)
    independent_check(child)
    assert {n.label for n in child.outputs} == {n.label for n in a.outputs}


def test_mutations_are_seeded_and_keep_what_they_do_not_vary():
    g = random_genome(np.random.default_rng(5), "grey", hidden=3, z_inputs=2)
    same = [mutate(g, np.random.default_rng(9), "structure") for _ in range(2)]
    assert genome_to_dict(same[0]) == genome_to_dict(same[1])
    weights = mutate(g, np.random.default_rng(1), "weights")
    assert [(k.source, k.target) for k in weights.links] == [(k.source, k.target) for k in g.links]
    assert [k.weight for k in weights.links] != [k.weight for k in g.links]
    latent = mutate(g, np.random.default_rng(1), "latent")
    assert latent.links == g.links and latent.z != g.z
    colour = mutate(g, np.random.default_rng(1), "colour")
    assert colour.colour == "hsv" and colour.z == g.z
    assert np.abs(evaluate(colour, PROBE)).max() > 0  # a real picture, not blank
    activations = mutate(g, np.random.default_rng(1), "activations")
    assert activations.links == g.links and [n.activation for n in activations.nodes] != [n.activation for n in g.nodes]


def test_crossover_aligns_genes_by_innovation():
    rng = np.random.default_rng(2)
    parent = random_genome(rng, "grey", hidden=2)
    marks = Innovations.of([parent])
    a = mutate(parent, rng, "weights", 1.0, marks)
    b = mutate(parent, rng, "weights", 1.0, marks)
    child = crossover(a, b, np.random.default_rng(3))
    wa, wb = {k.innovation: k.weight for k in a.links}, {k.innovation: k.weight for k in b.links}
    assert all(k.weight in (wa[k.innovation], wb[k.innovation]) for k in child.links)
    # the same split in two lineages gets the same node id and link innovations
    s1 = mutate(parent, np.random.default_rng(4), "structure", innovations=marks)
    s2 = mutate(parent, np.random.default_rng(4), "structure", innovations=marks)
    assert genome_to_dict(s1) == genome_to_dict(s2)


def test_validate_refuses_duplicate_innovations():
    g = random_genome(np.random.default_rng(1), "grey")
    first = g.links[0]
    with pytest.raises(UserError, match="used by two links"):
        genome_from_dict(genome_to_dict(g.with_links((*g.links, Link(first.innovation, 0, g.outputs[0].id, 1.0)))))


# --- the CLI on genome files --------------------------------------------------------------------------------


def test_render_export_and_from_carry_the_genome(tmp_path: Path):
    genome_path = tmp_path / "g.genome.json"
    write_genome(random_genome(np.random.default_rng(4), "hsv", hidden=4, z_inputs=1), genome_path)
    poster = tmp_path / "p.png"
    result = runner.invoke(app, ["render", str(genome_path), "--res", "40x30", "-o", str(poster)])
    assert result.exit_code == 0, result.output
    for fmt, suffix in [("onnx", ".onnx"), ("glsl", ".glsl"), ("genome", ".json")]:
        out = tmp_path / f"e{suffix}"
        result = runner.invoke(app, ["export", str(genome_path), "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0 and out.stat().st_size > 100, result.output
    exported = tmp_path / "e.onnx"
    again = tmp_path / "again.png"
    assert runner.invoke(app, ["render", str(exported), "--res", "40x30", "-o", str(again)]).exit_code == 0
    genome_path.unlink()  # the recipe carries the genome: --from needs no file
    redo = tmp_path / "redo.png"
    result = runner.invoke(app, ["render", "--from", str(poster), "-o", str(redo)])
    assert result.exit_code == 0, result.output
    first = np.asarray(Image.open(poster))
    assert first.std() > 5  # a picture, not a flat field
    np.testing.assert_array_equal(np.asarray(Image.open(redo)), first)
    np.testing.assert_array_equal(np.asarray(Image.open(again)), first)


def test_export_genome_of_a_preset_renders_the_preset(tmp_path: Path):
    out = tmp_path / "classic-3.genome.json"
    assert runner.invoke(app, ["export", "classic", "--seed", "3", "--format", "genome", "-o", str(out)]).exit_code == 0
    coords = grid(24, 24)
    net = load_model("classic", seed=3)
    want = net.render(None, 24, 24, seed=3).reshape(1, -1, 3)
    np.testing.assert_allclose(evaluate(read_genome(out), coords), want, atol=1e-4)


def test_genome_morph_ends_on_both_genomes_and_passes_between():
    from cppnart.graph.evolve import lerp_genomes

    rng = np.random.default_rng(6)
    parent = random_genome(rng, "hsv", hidden=3, z_inputs=1)
    marks = Innovations.of([parent])
    a = mutate(mutate(parent, rng, "structure", innovations=marks), rng, "weights", innovations=marks)
    b = mutate(mutate(parent, rng, "structure", innovations=marks), rng, "weights", innovations=marks)
    np.testing.assert_allclose(evaluate(lerp_genomes(a, b, 0.0), PROBE), evaluate(a, PROBE), atol=1e-6)
    np.testing.assert_allclose(evaluate(lerp_genomes(a, b, 1.0), PROBE), evaluate(b, PROBE), atol=1e-6)
    mid = evaluate(lerp_genomes(a, b, 0.5), PROBE)
    assert np.abs(mid - evaluate(a, PROBE)).mean() > 0 and np.abs(mid - evaluate(b, PROBE)).mean() > 0
    with pytest.raises(UserError, match="cannot be morphed"):
        lerp_genomes(a, random_genome(rng, "grey"), 0.5)


def test_info_shows_a_genomes_shape(tmp_path: Path):
    path = tmp_path / "g.xml"
    path.write_bytes(GREY_XML)
    result = runner.invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows["kind"] == "genome" and rows["nodes"] == 6 and rows["links"] == 4 and "genome" not in rows


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_damaged_genome_tables_are_valid_or_one_user_error(data):
    """Any damage to a genome's JSON (a key dropped, a value swapped for junk) either still reads as
    a valid genome or is a UserError: never another exception."""
    table = genome_to_dict(parse_picbreeder(HSV_XML))
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=8),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(["top", "nodes", "links"]))
        items = table.get(where) if where != "top" else None
        tables = [t for t in items if isinstance(t, dict) and t] if isinstance(items, list) else []
        target = data.draw(st.sampled_from(tables)) if tables else table
        if not target:
            break
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.booleans()):
            del target[key]
        else:
            target[key] = data.draw(junk)
    try:
        independent_check(genome_from_dict(table))
    except UserError as exc:
        assert "\n" not in str(exc)
