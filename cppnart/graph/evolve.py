"""Mutation and crossover of genomes (CPPN-NEAT, as Picbreeder breeds), seeded and always valid.

    rng = np.random.default_rng(seed)
    marks = Innovations.of([parent])                  # NEAT's historical markings for one run
    child = mutate(parent, rng, what="structure", innovations=marks)
    baby = crossover(child, parent, rng)              # genes aligned by innovation number
    g = random_genome(rng, colour="hsv")              # a small random start
    mid = lerp_genomes(child, parent, 0.5)           # a morph between two bred pictures

``what`` picks what varies, and each choice keeps the rest: ``weights`` (every link nudged by
N(0, strength)), ``activations`` (one node's activation redrawn), ``structure`` (add a node on a
link, add a link, or remove one), ``colour`` (only the links into the colour outputs; a grey
genome first gains hue and saturation outputs), ``latent`` (only the genome's own z), or ``all``
(one or more of the first three, as Picbreeder's mutation does). Every result is validated: no
cycles, inputs never targets, every link between existing nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import ParamError, UserError
from .genome import GENOME_ACTIVATIONS, OUTPUT_LABELS, Genome, Link, Node, input_labels, validate

WHAT = ("all", "weights", "activations", "structure", "colour", "latent")
# The activations new nodes and activation mutations draw from: Picbreeder's own set and the
# table's periodic and bump shapes (relu/softplus/abs make few patterns on their own).
MUTATION_ACTIVATIONS = ("signed_gaussian", "signed_sigmoid", "sin", "cos", "tanh", "identity", "gaussian", "abs")
assert set(MUTATION_ACTIVATIONS) <= set(GENOME_ACTIVATIONS)


@dataclass
class Innovations:
    """The innovation numbers of one breeding run: the same new link (source, target) or the same
    split link gets the same numbers in every genome, so crossover can align their genes."""

    next_node: int = 0
    next_link: int = 1
    links: dict[tuple[int, int], int] = field(default_factory=dict)
    splits: dict[int, int] = field(default_factory=dict)  # innovation of the split link -> new node id

    @classmethod
    def of(cls, genomes: list[Genome]) -> Innovations:
        """Markings that continue after every id and innovation the genomes use."""
        marks = cls()
        for genome in genomes:
            marks.note(genome)
        return marks

    def note(self, genome: Genome) -> None:
        """Make sure new numbers never collide with this genome's."""
        self.next_node = max([self.next_node, *(n.id + 1 for n in genome.nodes)])
        self.next_link = max([self.next_link, *(k.innovation + 1 for k in genome.links)])
        for link in genome.links:
            self.links.setdefault((link.source, link.target), link.innovation)

    def link(self, source: int, target: int, taken: set[int]) -> int:
        """The innovation number of a new link ``source -> target``: the one this run already gave that
        link, unless the genome uses it (``taken``), else a fresh one."""
        number = self.links.get((source, target))
        if number is None or number in taken:
            number, self.next_link = self.next_link, self.next_link + 1
            self.links[(source, target)] = number
        return number

    def split(self, innovation: int, taken: set[int]) -> int:
        """The id of the node that splits link ``innovation``: shared with every genome that split the
        same link, unless this genome already has that id (``taken``), else a fresh one."""
        node = self.splits.get(innovation)
        if node is None or node in taken:
            node, self.next_node = self.next_node, self.next_node + 1
            self.splits[innovation] = node
        return node

    def to_dict(self) -> dict[str, Any]:
        """The markings as JSON-ready lists, so a breeding session saved to disk keeps numbering on."""
        return {
            "next_node": self.next_node,
            "next_link": self.next_link,
            "links": [[s, t, n] for (s, t), n in self.links.items()],
            "splits": [[k, v] for k, v in self.splits.items()],
        }

    @classmethod
    def from_dict(cls, table: dict[str, Any]) -> Innovations:
        """The markings that ``to_dict`` wrote, read back."""
        return cls(
            int(table["next_node"]),
            int(table["next_link"]),
            {(int(s), int(t)): int(n) for s, t, n in table["links"]},
            {int(k): int(v) for k, v in table["splits"]},
        )


def _reaches(genome: Genome, start: int, goal: int) -> bool:
    """Whether a path of links leads from ``start`` to ``goal`` (so goal -> start would close a cycle)."""
    out: dict[int, list[int]] = {}
    for link in genome.links:
        out.setdefault(link.source, []).append(link.target)
    todo, seen = [start], {start}
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for nxt in out.get(node, []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _weights(genome: Genome, rng: np.random.Generator, strength: float, targets: set[int] | None = None) -> Genome:
    links = list(genome.links)
    chosen = [i for i, k in enumerate(links) if targets is None or k.target in targets]
    if not chosen:
        return genome
    # NEAT nudges 80% of the links; a preset's genome has thousands, so at most ~24 on average
    # change, or every child of a preset would be a stranger to it.
    hit = rng.random(len(chosen)) < min(0.8, 24 / len(chosen))
    hit[rng.integers(len(chosen))] = True  # at least one link changes
    noise = rng.standard_normal(len(chosen)) * strength
    for i, flag, delta in zip(chosen, hit, noise):
        if flag:
            links[i] = replace(links[i], weight=float(np.clip(links[i].weight + delta, -1e3, 1e3)))
    return genome.with_links(links)


def _activation(genome: Genome, rng: np.random.Generator) -> Genome:
    nodes = list(genome.nodes)
    candidates = [i for i, n in enumerate(nodes) if n.kind != "input"]
    i = candidates[rng.integers(len(candidates))]
    others = [a for a in MUTATION_ACTIVATIONS if a != nodes[i].activation]
    nodes[i] = replace(nodes[i], activation=others[rng.integers(len(others))])
    return replace(genome, nodes=tuple(nodes))


def _add_node(genome: Genome, rng: np.random.Generator, marks: Innovations) -> Genome:
    """Split an enabled link s -> t into s -> new (weight 1) and new -> t (the old weight)."""
    enabled = [k for k in genome.links if k.enabled]
    if not enabled:
        return _add_link(genome, rng, marks)
    old = enabled[rng.integers(len(enabled))]
    node = marks.split(old.innovation, {n.id for n in genome.nodes})
    taken = {k.innovation for k in genome.links}
    first = Link(marks.link(old.source, node, taken), old.source, node, 1.0)
    second = Link(marks.link(node, old.target, taken | {first.innovation}), node, old.target, old.weight)
    activation = MUTATION_ACTIVATIONS[rng.integers(len(MUTATION_ACTIVATIONS))]
    links = [k for k in genome.links if k.innovation != old.innovation] + [first, second]
    return replace(genome, nodes=(*genome.nodes, Node(node, "hidden", activation)), links=tuple(links))


def _add_link(genome: Genome, rng: np.random.Generator, marks: Innovations) -> Genome:
    """A new link between two unlinked nodes that closes no cycle (a few tries, else unchanged)."""
    nodes = genome.nodes
    existing = {(k.source, k.target) for k in genome.links}
    targets = [n.id for n in nodes if n.kind != "input"]
    for _ in range(32):
        source = nodes[rng.integers(len(nodes))].id
        target = targets[rng.integers(len(targets))]
        if source == target or (source, target) in existing or _reaches(genome, target, source):
            continue
        number = marks.link(source, target, {k.innovation for k in genome.links})
        weight = float(rng.standard_normal() * 1.5)
        return genome.with_links((*genome.links, Link(number, source, target, weight)))
    return genome


def _remove_link(genome: Genome, rng: np.random.Generator) -> Genome:
    if len(genome.links) <= 1:
        return genome
    drop = rng.integers(len(genome.links))
    return genome.with_links(k for i, k in enumerate(genome.links) if i != drop)


def _structure(genome: Genome, rng: np.random.Generator, marks: Innovations) -> Genome:
    choice = rng.choice(3, p=[0.4, 0.45, 0.15])
    if choice == 0:
        return _add_node(genome, rng, marks)
    if choice == 1:
        return _add_link(genome, rng, marks)
    return _remove_link(genome, rng)


def _colour(genome: Genome, rng: np.random.Generator, strength: float, marks: Innovations) -> Genome:
    """Vary only the colour: the links into hue and saturation (rgb: all outputs); a grey genome
    first becomes an HSV one whose brightness is its ink and whose hue and saturation are new."""
    if genome.colour == "grey":
        ink = genome.outputs[0]
        feeding = [k.source for k in genome.links if k.target == ink.id] or [genome.inputs[0].id]
        nodes = [replace(n, label="brightness") if n.id == ink.id else n for n in genome.nodes]
        links = list(genome.links)
        for label in ("hue", "saturation"):
            node = Node(marks.next_node, "output", "signed_gaussian" if label == "hue" else "identity", label)
            marks.next_node += 1
            nodes.append(node)
            for source in feeding:
                number = marks.link(source, node.id, {k.innovation for k in links})
                links.append(Link(number, source, node.id, float(rng.standard_normal() * 1.5)))
        bias = next((n.id for n in genome.inputs if n.label == "bias"), feeding[0])
        saturation = nodes[-1].id
        links.append(Link(marks.link(bias, saturation, {k.innovation for k in links}), bias, saturation, 0.8))
        return replace(genome, nodes=tuple(nodes), links=tuple(links), colour="hsv", squash="clip")
    labels = ("hue", "saturation") if genome.colour == "hsv" else OUTPUT_LABELS["rgb"]
    targets = {n.id for n in genome.outputs if n.label in labels}
    return _weights(genome, rng, strength, targets)


def mutate(
    genome: Genome,
    rng: np.random.Generator,
    what: str = "all",
    strength: float = 0.5,
    innovations: Innovations | None = None,
) -> Genome:
    """A mutated copy of ``genome`` (validated). ``what``: one of ``WHAT``; ``strength``: the
    standard deviation of weight and latent nudges; ``innovations``: the run's markings (fresh
    ones continuing after this genome's ids when None)."""
    if what not in WHAT:
        raise ParamError("what", f"must be one of {', '.join(WHAT)}, got {what!r}")
    if not (0 < strength <= 10):
        raise ParamError("strength", f"must be in (0, 10], got {strength}")
    marks = innovations if innovations is not None else Innovations.of([genome])
    marks.note(genome)
    if what == "weights":
        child = _weights(genome, rng, strength)
    elif what == "activations":
        child = _activation(genome, rng)
    elif what == "structure":
        child = _structure(genome, rng, marks)
    elif what == "colour":
        child = _colour(genome, rng, strength, marks)
    elif what == "latent":
        if not genome.z_inputs:
            raise ParamError("what", "'latent' varies the genome's own z, and this genome has no latent inputs")
        z = np.asarray(genome.z or [0.0] * genome.z_inputs, np.float64)
        z = np.clip(z + rng.standard_normal(z.size) * strength, -1, 1)
        child = replace(genome, z=tuple(float(v) for v in z))
    else:
        child = _weights(genome, rng, strength)
        if rng.random() < 0.3:
            child = _activation(child, rng)
        if rng.random() < 0.5:
            child = _structure(child, rng, marks)
    return validate(child, "the mutated genome")


def crossover(a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
    """A child of ``a`` (the chosen parent, whose structure it keeps) and ``b``: links with the same
    innovation number take either parent's weight; half of ``b``'s own links (and the nodes they
    need) join when they close no cycle. Colour mode, squash and latent come from ``a``."""
    theirs = {k.innovation: k for k in b.links}
    links = []
    for k in a.links:
        other = theirs.get(k.innovation)
        same = other is not None and (other.source, other.target) == (k.source, k.target)
        links.append(replace(k, weight=other.weight) if same and other and rng.random() < 0.5 else k)
    nodes = {n.id: n for n in a.nodes}
    b_nodes = b.by_id
    for node_id, node in nodes.items():  # matching hidden nodes take either parent's activation
        twin = b_nodes.get(node_id)
        if twin is not None and twin.kind == node.kind == "hidden" and rng.random() < 0.5:
            nodes[node_id] = twin
    child = replace(a, nodes=tuple(nodes.values()), links=tuple(links))
    mine = {k.innovation for k in a.links}
    pairs = {(k.source, k.target) for k in a.links}
    for link in b.links:
        if link.innovation in mine or (link.source, link.target) in pairs or rng.random() < 0.5:
            continue
        ends = [b_nodes[link.source], b_nodes[link.target]]
        if any(e.kind != "hidden" and e.id not in nodes for e in ends):
            continue  # an input or output b has and a lacks (a z input, a colour output): skip
        new_nodes = [e for e in ends if e.id not in nodes]
        if any(e.id in nodes and nodes[e.id].kind != e.kind for e in ends):
            continue
        trial = replace(child, nodes=(*child.nodes, *new_nodes), links=(*child.links, link))
        if nodes.get(link.target, ends[1]).kind == "input" or _reaches(child, link.target, link.source):
            continue
        child = trial
        nodes.update({e.id: e for e in new_nodes})
        pairs.add((link.source, link.target))
    return validate(child, "the crossed genome")


def random_genome(
    rng: np.random.Generator, colour: str = "grey", hidden: int = 4, z_inputs: int = 0, links: int = 12
) -> Genome:
    """A small random genome: inputs x, y, d, bias (and z), ``hidden`` nodes of random activations
    in a random feed-forward order, ``links`` random links plus one into every output."""
    if colour not in OUTPUT_LABELS:
        raise ParamError("colour", f"must be one of {', '.join(OUTPUT_LABELS)}, got {colour!r}")
    nodes = [Node(i, "input", "identity", label) for i, label in enumerate(input_labels(z_inputs))]
    n_in = len(nodes)
    for j in range(hidden):
        nodes.append(Node(n_in + j, "hidden", MUTATION_ACTIVATIONS[rng.integers(len(MUTATION_ACTIVATIONS))]))
    for label in OUTPUT_LABELS[colour]:
        activation = "signed_gaussian" if colour == "grey" else MUTATION_ACTIVATIONS[rng.integers(4)]
        nodes.append(Node(len(nodes), "output", activation, label))
    order = [n.id for n in nodes]  # inputs, hidden, outputs: a link only goes forward in this order
    made: dict[tuple[int, int], Link] = {}

    def add(source: int, target: int) -> None:
        if (source, target) not in made:
            made[(source, target)] = Link(len(made) + 1, source, target, float(rng.standard_normal() * 1.5))

    for out in nodes[n_in + hidden :]:
        add(int(rng.integers(n_in + hidden)), out.id)
    for h in nodes[n_in : n_in + hidden]:
        add(int(rng.integers(n_in)), h.id)
    for _ in range(links):
        i = int(rng.integers(len(order) - 1))
        j = int(rng.integers(max(i + 1, n_in), len(order)))
        add(order[i], order[j])
    z = tuple(float(v) for v in rng.uniform(-1, 1, z_inputs))
    squash = "abs" if colour == "grey" else "half"
    return validate(Genome(tuple(nodes), tuple(made.values()), colour=colour, squash=squash, z=z), "random genome")


def lerp_genomes(a: Genome, b: Genome, t: float) -> Genome:
    """A genome between ``a`` (t = 0) and ``b`` (t = 1), for morphs between bred pictures: the union
    of their graphs aligned by innovation number, where shared links mix their weights, a's own
    fade out as (1 - t) and b's own fade in as t. A hidden node whose activation differs switches
    at t = 0.5. At t = 0 and 1 it draws exactly a and b (the other's own links weigh 0)."""
    if (a.colour, a.squash) != (b.colour, b.squash):
        raise UserError(f"genomes of {a.colour}/{a.squash} and {b.colour}/{b.squash} outputs cannot be morphed")
    nodes = {n.id: n for n in a.nodes}
    for node in b.nodes:
        mine = nodes.get(node.id)
        if mine is None:
            nodes[node.id] = node
        elif (mine.kind, mine.label) != (node.kind, node.label):
            raise UserError(
                f"node {node.id} is a {mine.kind} in one genome and a {node.kind} in the other; not aligned"
            )
        elif t >= 0.5:
            nodes[node.id] = node
    theirs = {k.innovation: k for k in b.links}
    links = []
    for k in a.links:
        other = theirs.pop(k.innovation, None)
        if other is not None and (other.source, other.target) != (k.source, k.target):
            raise UserError(f"innovation {k.innovation} links different nodes in the two genomes; not aligned")
        w = (1 - t) * k.weight + t * (other.weight if other is not None else 0.0)
        links.append(replace(k, weight=float(w), enabled=k.enabled or bool(other and other.enabled)))
    links += [replace(k, weight=float(t * k.weight)) for k in theirs.values()]
    z: tuple[float, ...] = a.z
    if a.z and len(a.z) == len(b.z):
        z = tuple(float((1 - t) * x + t * y) for x, y in zip(a.z, b.z))
    genome = Genome(tuple(nodes.values()), tuple(links), a.colour, a.squash, z)
    return validate(genome, "the morph of two genomes")
