"""A preset's layered CPPN (``CPPNWeights``) as a genome, so breeding can start from any preset.

    g = genome_from_weights(random_weights(config, seed), z=model.sample_z(seed)[0])

Every unit becomes a hidden node and every weight a link: the first layer's units take x, y,
d (the radius r as Picbreeder's ``d = 1.4 r``, so its weights are divided by 1.4), bias and the
z inputs, with the input scale folded in; a residual layer adds an identity node per unit that
sums the unit and its input; the output layer's squash becomes output nodes and the genome's
``squash`` (``sigmoid`` -> sigmoid + clip, ``sin``/``tanh`` -> + half, ``abs`` = |tanh| -> tanh + abs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..configs.activations import OUTPUTS
from .genome import D_SCALE, OUTPUT_LABELS, Genome, Link, Node, input_labels, validate
from .weights import CPPNWeights


def output_squash(output: str) -> tuple[str, str]:
    """(output node activation, genome squash) that compute a table output activation.

    >>> output_squash("abs"), output_squash("sin")
    (('tanh', 'abs'), ('sin', 'half'))
    """
    spec = OUTPUTS[output]
    if spec.chain[1:] == ("abs",) and not spec.half:
        return spec.chain[0], "abs"
    if len(spec.chain) != 1:
        raise ValueError(f"output '{output}' has no genome form")  # the table's outputs all have one
    return spec.chain[0], "half" if spec.half else "clip"


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.links: list[Link] = []

    def node(self, kind: str, activation: str = "identity", label: str = "") -> int:
        self.nodes.append(Node(len(self.nodes), kind, activation, label))
        return len(self.nodes) - 1

    def link(self, source: int, target: int, weight: float) -> None:
        self.links.append(Link(len(self.links) + 1, source, target, float(weight)))


def genome_from_weights(weights: CPPNWeights, z: Sequence[float] | np.ndarray | None = None) -> Genome:
    """The genome that computes ``graph.numpy_forward.forward(weights, ...)``; ``z`` is stored as the
    genome's own latent (the picture it shows by default)."""
    b = _Builder()
    inputs = {label: b.node("input", label=label) for label in input_labels(weights.z_dim)}
    scale = float(weights.scale)
    layer = []
    for j in range(weights.width):
        unit = b.node("hidden", weights.activations[0])
        layer.append(unit)
        for row, label in enumerate(("x", "y", "d")):
            factor = scale / D_SCALE if label == "d" else scale
            b.link(inputs[label], unit, weights.w_coords[row, j] * factor)
        for k in range(weights.z_dim):
            b.link(inputs[f"z{k}"], unit, weights.w_z[k, j] * scale)
        b.link(inputs["bias"], unit, weights.b0[j])
    for act, (w, bias) in zip(weights.activations[1:], weights.hidden):
        units = []
        for j in range(w.shape[1]):
            unit = b.node("hidden", act)
            for i, source in enumerate(layer):
                b.link(source, unit, w[i, j])
            b.link(inputs["bias"], unit, bias[j])
            if weights.residual:
                total = b.node("hidden", "identity")
                b.link(layer[j], total, 1.0)
                b.link(unit, total, 1.0)
                unit = total
            units.append(unit)
        layer = units
    activation, squash = output_squash(weights.output)
    colour = "grey" if weights.channels == 1 else "rgb"
    for c, label in enumerate(OUTPUT_LABELS[colour]):
        out = b.node("output", activation, label)
        for i, source in enumerate(layer):
            b.link(source, out, weights.w_out[i, c])
        b.link(inputs["bias"], out, weights.b_out[c])
    stored = tuple(float(v) for v in np.asarray(z, np.float32).reshape(-1)) if z is not None else ()
    genome = Genome(tuple(b.nodes), tuple(b.links), colour=colour, squash=squash, z=stored)
    return validate(genome, "the preset's genome")
