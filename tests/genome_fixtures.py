"""Small genomes for tests: Picbreeder XML written the way Picbreeder writes it, and random genomes
from Hypothesis (no test reads ../shared: a clone of the project does not have it)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cppnart.graph.evolve import WHAT, Innovations, crossover, mutate, random_genome
from cppnart.graph.genome import GENOME_ACTIVATIONS, OUTPUT_LABELS, Genome, Node, validate


def picbreeder_xml(nodes: list[tuple], links: list[tuple]) -> bytes:
    """Picbreeder's format. nodes: (id, type 'in'|'hidden'|'out', label or '', activation);
    links: (source id, target id, weight). Markings use branch 7, as a branch of Picbreeder would."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>', '<data version="1.0">', '<genome age="3">']
    out.append(f'<nodes count="{len(nodes)}">')
    for node_id, kind, label, activation in nodes:
        attr = f' label="{label}"' if label else ""
        out.append(f'<node{attr} type="{kind}"><marking branch="7" id="{node_id}"/>')
        out.append(f"<activation>{activation}</activation></node>")
    out.append(f'</nodes><links count="{len(links)}">')
    for i, (source, target, weight) in enumerate(links):
        out.append(
            f'<link><marking branch="7" id="{100 + i}"/><source branch="7" id="{source}"/>'
            f'<target branch="7" id="{target}"/><weight>{weight!r}</weight></link>'
        )
    out.append("</links></genome></data>")
    return "\n".join(out).encode()


INPUTS = [(0, "in", "bias", "identity(x)"), (1, "in", "d", "identity(x)"), (2, "in", "x", "identity(x)"),
          (3, "in", "y", "identity(x)")]  # fmt: skip

# ink = gaussian(2 x + sin(3 d - 1))  (Picbreeder's gaussian: 2 exp(-v²) - 1)
GREY_XML = picbreeder_xml(
    [*INPUTS, (4, "out", "ink", "gaussian(x)"), (5, "hidden", "", "sin(x)")],
    [(1, 5, 3.0), (0, 5, -1.0), (5, 4, 1.0), (2, 4, 2.0)],
)
# hue = sigmoid(y), saturation = 1 (identity of bias), brightness = gaussian(x - 0.25), plus an unused ink
HSV_XML = picbreeder_xml(
    [*INPUTS, (4, "out", "ink", "gaussian(x)"), (5, "out", "hue", "sigmoid(x)"),
     (6, "out", "saturation", "identity(x)"), (7, "out", "brightness", "gaussian(x)"), (8, "hidden", "", "cos(x)")],
    [(3, 5, 1.5), (0, 6, 1.0), (2, 8, 2.0), (8, 7, 1.0), (0, 7, -0.25), (2, 4, 1.0)],
)  # fmt: skip


def every_activation(genome: Genome, offset: int) -> Genome:
    """The genome with its non-input nodes' activations cycling through the whole genome table."""
    names = list(GENOME_ACTIVATIONS)
    nodes = tuple(
        Node(n.id, n.kind, names[(i + offset) % len(names)], n.label) if n.kind != "input" else n
        for i, n in enumerate(genome.nodes)
    )
    return validate(Genome(nodes, genome.links, genome.colour, genome.squash, genome.z))


@st.composite
def genomes(draw, max_mutations: int = 8) -> Genome:
    """A random genome (any colour, squash, z inputs, activations), then a chain of mutations and
    crossovers: the structures breeding makes."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    colour = draw(st.sampled_from(list(OUTPUT_LABELS)))
    g = random_genome(
        rng, colour, hidden=draw(st.integers(0, 6)), z_inputs=draw(st.integers(0, 3)), links=draw(st.integers(0, 20))
    )
    g = every_activation(g, draw(st.integers(0, len(GENOME_ACTIVATIONS))))
    marks = Innovations.of([g])
    pool = [g]
    for _ in range(draw(st.integers(0, max_mutations))):
        what = draw(st.sampled_from([w for w in WHAT if w != "latent" or g.z_inputs]))
        child = mutate(pool[-1], rng, what, draw(st.floats(0.05, 3.0)), marks)
        if draw(st.booleans()):
            child = crossover(child, pool[int(rng.integers(len(pool)))], rng)
        pool.append(child)
    return pool[-1]
