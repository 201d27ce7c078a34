"""CPPN genomes: a network as a NEAT-style graph of nodes and weighted links (torch-free).

    g = read_genome("skull.genome.json")        # graph.genome_io: bounded, validated, one-line errors
    rgb = evaluate(g, coords, z)                 # the numpy reference: coords [N, 2], z [B, Z] -> [B, N, C]
    write_genome(g, "copy.genome.json")          # atomic, versioned JSON

A genome has input nodes (labels ``x``, ``y``, ``d``, ``bias`` and latent inputs ``z0``, ``z1``, ...),
hidden nodes and output nodes; each non-input node computes ``activation(sum weight * source)``
over its enabled incoming links. The inputs are Picbreeder's: x and y are the coordinates,
``d = 1.4 * sqrt(x² + y²)``, ``bias = 1``, and ``zK`` the K-th value of the latent. The outputs
are one grey ``ink`` node, three ``r``/``g``/``b`` nodes, or Picbreeder's ``hue``,
``saturation``, ``brightness``, mapped onto [0, 1] by ``colour_map``. Links carry innovation
numbers (NEAT's historical markings) so crossover can align genes (``graph.evolve``).

The activations are the table of ``configs/activations`` plus Picbreeder's own signed forms
(``GENOME_ACTIVATIONS``); every backend (numpy here, ONNX in ``graph.genome_onnx``, GLSL in
``graph.genome_glsl``, torch in ``train.genome_torch``) implements all of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.activations import HIDDEN
from ..errors import UserError
from .numpy_forward import ACTIVATIONS as BASE_NUMPY

FORMAT = "cppnart-genome"
VERSION = 1
SUFFIX = ".genome.json"

# Picbreeder's activations, which differ from the table's: they span [-1, 1].
SIGNED: dict[str, str] = {
    "signed_gaussian": "2 exp(-x²) - 1",
    "signed_sigmoid": "2 / (1 + exp(-x)) - 1",
}
GENOME_ACTIVATIONS: dict[str, str] = {**HIDDEN, **SIGNED}

D_SCALE = 1.4  # Picbreeder's d = 1.4 * sqrt(x² + y²): 1.4 at the middle of each edge, ~2 at the corners
COORD_INPUTS = ("x", "y", "d", "bias")
OUTPUT_LABELS: dict[str, tuple[str, ...]] = {
    "grey": ("ink",),
    "rgb": ("r", "g", "b"),
    "hsv": ("hue", "saturation", "brightness"),
}
# How grey and rgb output values land in [0, 1]; hsv has Picbreeder's own conversion.
SQUASHES: dict[str, str] = {
    "clip": "clip(v, 0, 1)",
    "half": "clip(0.5 + 0.5 v, 0, 1)",
    "abs": "clip(|v|, 0, 1)",
}

# Bounds that keep a hostile file cheap to refuse: checked while reading, before any graph work.
MAX_NODES = 4096
MAX_LINKS = 1 << 18  # the `wide` preset's genome has 118k links (9 MB of JSON)
MAX_Z = 256
MAX_WEIGHT = 1e6
MAX_FILE_BYTES = 16 << 20


@dataclass(frozen=True)
class Node:
    """One node: ``kind`` input, hidden or output; ``label`` names inputs and outputs."""

    id: int
    kind: str
    activation: str = "identity"
    label: str = ""


@dataclass(frozen=True)
class Link:
    """A weighted link ``source -> target``; ``innovation`` aligns it across genomes in crossover."""

    innovation: int
    source: int
    target: int
    weight: float
    enabled: bool = True


@dataclass(frozen=True)
class Genome:
    """A CPPN as a graph. ``colour`` is grey, rgb or hsv; ``squash`` maps grey/rgb outputs onto
    [0, 1]; ``z`` is the genome's own latent (one value per z input; empty: drawn like any model's)."""

    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    colour: str = "grey"
    squash: str = "clip"
    z: tuple[float, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def by_id(self) -> dict[int, Node]:
        """Each node under its id, for looking up a link's ends (built anew on every call)."""
        return {n.id: n for n in self.nodes}

    @property
    def inputs(self) -> tuple[Node, ...]:
        """The input nodes (coordinates, bias and latent inputs) in the order the genome lists them."""
        return tuple(n for n in self.nodes if n.kind == "input")

    @property
    def outputs(self) -> tuple[Node, ...]:
        """Output nodes in channel order (ink; r, g, b; hue, saturation, brightness)."""
        by_label = {n.label: n for n in self.nodes if n.kind == "output"}
        return tuple(by_label[label] for label in OUTPUT_LABELS[self.colour])

    @property
    def z_inputs(self) -> int:
        """Number of latent inputs (z0 .. zK-1)."""
        return sum(1 for n in self.nodes if n.kind == "input" and n.label.startswith("z"))

    @property
    def z_dim(self) -> int:
        """The model's z size: at least 1 (the ONNX interface always takes z; unused when no z inputs)."""
        return max(1, self.z_inputs)

    @property
    def channels(self) -> int:
        """Channels of the picture: 1 for a grey genome, 3 for rgb and hsv."""
        return 1 if self.colour == "grey" else 3

    @property
    def enabled_links(self) -> tuple[Link, ...]:
        """The links that take part in evaluation; disabled ones stay only as genes for crossover."""
        return tuple(link for link in self.links if link.enabled)

    def with_links(self, links: Iterable[Link]) -> Genome:
        """A copy with these links instead, the rest unchanged (genomes are frozen; no validation here)."""
        return replace(self, links=tuple(links))


def input_labels(z_inputs: int) -> tuple[str, ...]:
    """The input labels of a genome with ``z_inputs`` latent inputs, in their canonical order.

    >>> input_labels(2)
    ('x', 'y', 'd', 'bias', 'z0', 'z1')
    """
    return (*COORD_INPUTS, *(f"z{k}" for k in range(z_inputs)))


# --- validation ---------------------------------------------------------------------------------


def _fail(where: str, what: str) -> UserError:
    return UserError(f"{where}: {what}")


def topological_order(genome: Genome, where: str = "genome") -> list[int]:
    """Node ids with every link's source before its target (Kahn's algorithm, O(nodes + links));
    a UserError naming a node on a cycle if there is one."""
    ids = [n.id for n in genome.nodes]
    indegree = dict.fromkeys(ids, 0)
    out: dict[int, list[int]] = {i: [] for i in ids}
    for link in genome.links:
        out[link.source].append(link.target)
        indegree[link.target] += 1
    ready = [i for i in ids if indegree[i] == 0]
    order: list[int] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for target in out[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    if len(order) != len(ids):
        stuck = min(i for i in ids if indegree[i] > 0)
        raise _fail(where, f"the links form a cycle (through node {stuck}); a CPPN must be feed-forward")
    return order


def validate(genome: Genome, where: str = "genome") -> Genome:
    """The genome if it is a valid feed-forward CPPN, else a one-line UserError saying what is wrong."""
    if genome.colour not in OUTPUT_LABELS:
        raise _fail(where, f"unknown colour '{genome.colour}'; choose from {', '.join(OUTPUT_LABELS)}")
    if genome.squash not in SQUASHES:
        raise _fail(where, f"unknown squash '{genome.squash}'; choose from {', '.join(SQUASHES)}")
    if len(genome.nodes) > MAX_NODES or len(genome.links) > MAX_LINKS:
        raise _fail(where, f"more than {MAX_NODES} nodes or {MAX_LINKS} links; a genome this large is refused")
    seen: dict[int, Node] = {}
    labels: set[str] = set()
    for node in genome.nodes:
        if node.id in seen:
            raise _fail(where, f"node id {node.id} appears twice")
        seen[node.id] = node
        if node.kind not in ("input", "hidden", "output"):
            raise _fail(where, f"node {node.id} has unknown type '{node.kind}'; use input, hidden or output")
        if node.activation not in GENOME_ACTIVATIONS:
            raise _fail(
                where,
                f"node {node.id} has unknown activation '{node.activation}'; "
                f"choose from {', '.join(GENOME_ACTIVATIONS)}",
            )
        if node.kind != "hidden":
            if node.label in labels:
                raise _fail(where, f"two {node.kind} nodes are labelled '{node.label}'")
            labels.add(node.label)
    z_inputs = genome.z_inputs
    allowed_inputs = set(input_labels(z_inputs))
    for node in genome.inputs:
        if node.label not in allowed_inputs:
            raise _fail(
                where, f"input node {node.id} is labelled '{node.label}'; inputs are x, y, d, bias and z0, z1, ..."
            )
    want = set(OUTPUT_LABELS[genome.colour])
    have = {n.label for n in genome.nodes if n.kind == "output"}
    if have != want:
        raise _fail(where, f"a {genome.colour} genome has outputs {sorted(want)}, this one has {sorted(have)}")
    if z_inputs > MAX_Z:
        raise _fail(where, f"more than {MAX_Z} latent inputs")
    if genome.z and len(genome.z) != z_inputs:
        raise _fail(where, f"'z' holds {len(genome.z)} values but the genome has {z_inputs} latent inputs")
    if not all(math.isfinite(v) for v in genome.z):
        raise _fail(where, "'z' must hold finite numbers")
    innovations: set[int] = set()
    for link in genome.links:
        for end in (link.source, link.target):
            if end not in seen:
                raise _fail(where, f"link {link.innovation} refers to node {end}, which does not exist")
        if seen[link.target].kind == "input":
            raise _fail(where, f"link {link.innovation} ends at input node {link.target}; inputs take no links")
        if not (math.isfinite(link.weight) and abs(link.weight) <= MAX_WEIGHT):
            raise _fail(where, f"link {link.innovation} has weight {link.weight}; weights must be finite, |w| <= 1e6")
        if link.innovation in innovations:
            raise _fail(where, f"innovation number {link.innovation} is used by two links")
        innovations.add(link.innovation)
    topological_order(genome, where)
    return genome


# --- JSON ---------------------------------------------------------------------------------------


def genome_to_dict(genome: Genome) -> dict[str, Any]:
    """The JSON table of a genome (``genome_from_dict`` reads it back)."""
    out: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "colour": genome.colour,
        "squash": genome.squash,
        "z": [float(v) for v in genome.z],
        "nodes": [
            {"id": n.id, "type": n.kind, "activation": n.activation, **({"label": n.label} if n.label else {})}
            for n in genome.nodes
        ],
        "links": [
            {"innovation": k.innovation, "source": k.source, "target": k.target, "weight": float(k.weight)}
            | ({} if k.enabled else {"enabled": False})
            for k in genome.links
        ],
    }
    if genome.meta:
        out["meta"] = genome.meta
    return out


def _int(value: Any, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**53:
        raise _fail(where, f"{what} must be an integer, got {str(value)[:40]!r}")
    return value


def _float(value: Any, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"{what} must be a number, got {str(value)[:40]!r}")
    return float(value)


def _str(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or len(value) > 64:
        raise _fail(where, f"{what} must be a short string, got {str(value)[:40]!r}")
    return value


def _rows(items: list[Any], where: str, what: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each entry of the untrusted list ``what`` that is a table, with the name its errors use (``nodes[3]``)."""
    for i, row in enumerate(items):
        if not isinstance(row, dict):
            raise _fail(where, f"{what}[{i}] must be a table")
        yield f"{what}[{i}]", row


def _node(row: dict[str, Any], where: str, at: str) -> Node:
    return Node(
        id=_int(row.get("id"), where, f"{at}.id"),
        kind=_str(row.get("type"), where, f"{at}.type"),
        activation=_str(row.get("activation", "identity"), where, f"{at}.activation"),
        label=_str(row.get("label", ""), where, f"{at}.label"),
    )


def _link(row: dict[str, Any], where: str, at: str) -> Link:
    enabled = row.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(where, f"{at}.enabled must be true or false")
    return Link(
        innovation=_int(row.get("innovation"), where, f"{at}.innovation"),
        source=_int(row.get("source"), where, f"{at}.source"),
        target=_int(row.get("target"), where, f"{at}.target"),
        weight=_float(row.get("weight"), where, f"{at}.weight"),
        enabled=enabled,
    )


def genome_from_dict(table: Any, where: str = "genome") -> Genome:
    """A validated genome from its JSON table; any damage is a one-line UserError naming the field."""
    if not isinstance(table, dict):
        raise _fail(where, "a genome must be a JSON table")
    if table.get("format") != FORMAT:
        raise _fail(where, f"not a cppnart genome (its 'format' is not '{FORMAT}')")
    version = table.get("version")
    if version != VERSION:
        raise _fail(where, f"genome version {version!r} is not one this cppnart reads ({VERSION}); upgrade cppnart")
    nodes, links = table.get("nodes"), table.get("links")
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise _fail(where, "'nodes' and 'links' must be lists")
    if len(nodes) > MAX_NODES or len(links) > MAX_LINKS:
        raise _fail(where, f"more than {MAX_NODES} nodes or {MAX_LINKS} links; a genome this large is refused")
    parsed_nodes = [_node(row, where, at) for at, row in _rows(nodes, where, "nodes")]
    parsed_links = [_link(row, where, at) for at, row in _rows(links, where, "links")]
    z = table.get("z", [])
    if not isinstance(z, list) or len(z) > MAX_Z:
        raise _fail(where, f"'z' must be a list of at most {MAX_Z} numbers")
    meta = table.get("meta", {})
    if not isinstance(meta, dict):
        raise _fail(where, "'meta' must be a table")
    genome = Genome(
        nodes=tuple(parsed_nodes),
        links=tuple(parsed_links),
        colour=_str(table.get("colour", "grey"), where, "'colour'"),
        squash=_str(table.get("squash", "clip"), where, "'squash'"),
        z=tuple(_float(v, where, "'z'") for v in z),
        meta=meta,
    )
    return validate(genome, where)


def genome_json(genome: Genome) -> str:
    """The genome as compact JSON text (what model metadata and recipes carry)."""
    return json.dumps(genome_to_dict(genome), separators=(",", ":"))


def genome_from_json(text: str, where: str = "genome") -> Genome:
    """``genome_json`` read back (bounded and validated)."""
    if len(text) > MAX_FILE_BYTES:
        raise _fail(where, f"larger than {MAX_FILE_BYTES >> 20} MiB; a genome this large is refused")
    # Count before parsing: a node bomb is refused in milliseconds, before json builds its tables.
    if text.count('"type"') > MAX_NODES or text.count('"innovation"') > MAX_LINKS:
        raise _fail(where, f"more than {MAX_NODES} nodes or {MAX_LINKS} links; a genome this large is refused")
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(where, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return genome_from_dict(table, where)


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, refused (before reading it all) when larger than ``limit``."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise UserError(f"cannot read genome file '{path}': {exc.strerror}") from None
    if len(data) > limit:
        raise UserError(f"'{path}' is larger than {limit >> 20} MiB; a genome this large is refused")
    return data


def write_genome(genome: Genome, path: str | Path) -> Path:
    """Write a genome as indented JSON, atomically (validated first: a bad genome writes nothing)."""
    from ..io.atomic import atomic_output

    validate(genome)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(genome_to_dict(genome), indent=1) + "\n", encoding="utf-8")
    return Path(path)


# --- the numpy reference ------------------------------------------------------------------------

NUMPY_ACTIVATIONS = {
    **BASE_NUMPY,
    "signed_gaussian": lambda x: 2 * np.exp(-x * x) - 1,
    "signed_sigmoid": lambda x: 2 / (1 + np.exp(-x)) - 1,
}
assert set(NUMPY_ACTIVATIONS) == set(GENOME_ACTIVATIONS)


def input_values(genome: Genome, coords: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
    """The value of every input label, broadcastable to [B, N]: x, y, d, bias from coords [N, 2],
    zK from z [B, Z]."""
    x = coords[None, :, 0]
    y = coords[None, :, 1]
    d = np.float32(D_SCALE) * np.sqrt(x * x + y * y)
    values = {"x": x, "y": y, "d": d, "bias": np.ones((1, 1), np.float32)}
    for k in range(genome.z_inputs):
        values[f"z{k}"] = z[:, k : k + 1]
    return values


def node_values(genome: Genome, coords: np.ndarray, z: np.ndarray) -> dict[int, np.ndarray]:
    """Every node's value [B, N] (float32), node by node in topological order."""
    by_id = genome.by_id
    inputs = input_values(genome, coords, z)
    incoming: dict[int, list[Link]] = {n.id: [] for n in genome.nodes}
    for link in genome.enabled_links:
        incoming[link.target].append(link)
    batch, count = z.shape[0], coords.shape[0]
    values: dict[int, np.ndarray] = {}
    for node_id in topological_order(genome):
        node = by_id[node_id]
        if node.kind == "input":
            values[node_id] = np.broadcast_to(inputs[node.label], (batch, count)).astype(np.float32)
            continue
        total: np.ndarray = np.zeros((batch, count), np.float32)
        for link in incoming[node_id]:
            total = total + np.float32(link.weight) * values[link.source]
        values[node_id] = NUMPY_ACTIVATIONS[node.activation](total).astype(np.float32)
    return values


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """HSV in [0, 1] to RGB [..., 3]: f(n) = v - v s clip(min(k, 4 - k), 0, 1), k = (n + 6h) mod 6.

    >>> hsv_to_rgb(np.float32(0.0), np.float32(1.0), np.float32(1.0)).tolist()
    [1.0, 0.0, 0.0]
    """
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = n + 6 * h
        k = k - 6 * np.floor(k / 6)
        channels.append(v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1))
    return np.stack(channels, axis=-1)


def colour_map(genome: Genome, outputs: np.ndarray) -> np.ndarray:
    """Output node values [..., K] -> colours [..., C] in [0, 1] (``SQUASHES``, or Picbreeder's
    HSV: h = (h + 1) mod 1, s = clip(s, 0, 1), v = clip(|v|, 0, 1))."""
    if genome.colour == "hsv":
        h, s, v = outputs[..., 0], outputs[..., 1], outputs[..., 2]
        h = h + 1
        h = h - np.floor(h)
        return hsv_to_rgb(h, np.clip(s, 0, 1), np.clip(np.abs(v), 0, 1)).astype(np.float32)
    if genome.squash == "half":
        outputs = 0.5 + 0.5 * outputs
    elif genome.squash == "abs":
        outputs = np.abs(outputs)
    return np.clip(outputs, 0, 1).astype(np.float32)


def evaluate(genome: Genome, coords: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """Colours [B, N, C] in [0, 1] for coordinates [N, 2] and latents [B, Z] (the genome's own z,
    else zeros, when None): the reference every compiled form is tested against."""
    coords = np.asarray(coords, np.float32)
    if z is None:
        z = np.asarray(genome.z or [0.0] * genome.z_dim, np.float32)
    z = np.atleast_2d(np.asarray(z, np.float32))
    values = node_values(genome, coords, z)
    outputs = np.stack([values[n.id] for n in genome.outputs], axis=-1)
    return colour_map(genome, outputs)
