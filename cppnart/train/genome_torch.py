"""A genome as a trainable torch module, layerised as its ONNX graph is (``graph.genome_onnx``).

    net = GenomeModule(genome)               # every link one weight; absent links stay zero
    rgb = net(coords, z)                      # coords [N, 2], z [B, Z] -> [B, N, C] in [0, 1]
    genome = net.to_genome()                  # trained weights written back into the genome's links

Each layer holds dense weight matrices over the coordinate features (x, y, d), the latent, the
bias and every earlier layer's outputs, multiplied by a fixed mask of the genome's links, so
gradient steps move only weights the genome has and ``to_genome`` loses nothing. ``dream``,
``train fit`` and ``z fit`` can start from a bred picture through this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import UserError
from ..graph.genome import D_SCALE, GENOME_ACTIVATIONS, Genome
from ..graph.genome_onnx import genome_layers, layer_weights
from .models.cppn import ACTIVATIONS as BASE_TORCH

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    **BASE_TORCH,
    "signed_gaussian": lambda x: 2 * torch.exp(-x * x) - 1,
    "signed_sigmoid": lambda x: 2 * torch.sigmoid(x) - 1,
}
assert set(ACTIVATIONS) == set(GENOME_ACTIVATIONS)

PARTS = ("coords", "z", "hidden", "bias")


class GenomeModule(nn.Module):
    """The genome's network in torch; ``forward`` matches ``graph.genome.evaluate`` to float rounding."""

    def __init__(self, genome: Genome) -> None:
        super().__init__()
        self.genome = genome
        self.layers = genome_layers(genome)
        self.column: dict[int, int] = {}
        self.weights = nn.ParameterList()
        masks = []
        # the mask marks where links are, whatever their weight (a zero weight may still train)
        present = genome.with_links(replace(k, weight=1.0) for k in genome.links)
        for layer in self.layers:
            w = layer_weights(genome, layer, self.column)
            m = layer_weights(present, layer, self.column)
            for part in PARTS:
                self.weights.append(nn.Parameter(torch.from_numpy(w[part].copy())))
                masks.append(torch.from_numpy((m[part] != 0).astype(np.float32)))
            for node in layer:
                self.column[node] = len(self.column)
        for i, mask in enumerate(masks):
            self.register_buffer(f"mask{i}", mask)
        self.outputs = [self.column[n.id] for n in genome.outputs]
        by_id = genome.by_id
        self.activations = [[by_id[n].activation for n in layer] for layer in self.layers]

    def _part(self, layer: int, part: int) -> torch.Tensor:
        i = layer * len(PARTS) + part
        return self.weights[i] * getattr(self, f"mask{i}")

    def forward(self, coords: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Colours [B, N, C] in [0, 1] for coordinates [N, 2] and latents [B, Z]."""
        if z is None:
            z = torch.tensor(
                [list(self.genome.z or [0.0] * self.genome.z_dim)], dtype=coords.dtype, device=coords.device
            )
        r = torch.sqrt((coords * coords).sum(dim=1, keepdim=True))
        features = torch.cat([coords, D_SCALE * r], dim=1)  # [N, 3]
        hidden: torch.Tensor | None = None
        for index, names in enumerate(self.activations):
            pre = (features @ self._part(index, 0))[None] + (z @ self._part(index, 1))[:, None, :]
            if hidden is not None:
                pre = pre + hidden @ self._part(index, 2)[: hidden.shape[-1]]
            pre = pre + self._part(index, 3)
            out = torch.stack([ACTIVATIONS[name](pre[..., j]) for j, name in enumerate(names)], dim=-1)
            hidden = out if hidden is None else torch.cat([hidden, out], dim=-1)
        assert hidden is not None
        return colour_map(self.genome, hidden[..., self.outputs])

    def to_genome(self) -> Genome:
        """The genome with every link's weight read from the (trained) parameters."""
        by_id = self.genome.by_id
        rows = {"x": 0, "y": 1, "d": 2}
        layer_of = {node: (i, j) for i, layer in enumerate(self.layers) for j, node in enumerate(layer)}
        count: dict[tuple[int, int], int] = {}
        for link in self.genome.enabled_links:
            count[(link.source, link.target)] = count.get((link.source, link.target), 0) + 1
        links = []
        for link in self.genome.links:
            if not link.enabled or link.target not in layer_of:
                links.append(link)
                continue
            index, j = layer_of[link.target]
            source = by_id[link.source]
            if source.kind != "input":
                value = self._part(index, 2)[self.column[link.source], j]
            elif source.label == "bias":
                value = self._part(index, 3)[j]
            elif source.label in rows:
                value = self._part(index, 0)[rows[source.label], j]
            else:
                value = self._part(index, 1)[int(source.label[1:]), j]
            # links that share (source, target) were summed into one weight: share it out again
            links.append(replace(link, weight=float(value.detach()) / count[(link.source, link.target)]))
        return self.genome.with_links(links)


def load_start_genome(path: str | Path) -> Genome:
    """The genome a run (``train fit --init``, ``dream --init``) starts from: a genome file, or a
    PNG whose recipe carries one (a bred picture)."""
    from ..render.genome_morph import genome_of_file

    if not Path(path).is_file():
        raise UserError(f"starting genome '{path}' not found")
    genome = genome_of_file(path)
    if genome is None:
        raise UserError(f"'{path}' is neither a genome file nor a PNG whose recipe carries a genome")
    return genome


def colour_map(genome: Genome, out: torch.Tensor) -> torch.Tensor:
    """``graph.genome.colour_map`` in torch (differentiable almost everywhere)."""
    if genome.colour == "hsv":
        h, s, v = out[..., 0], out[..., 1], out[..., 2]
        h = h + 1
        h = h - torch.floor(h)
        s, v = s.clamp(0, 1), v.abs().clamp(0, 1)
        channels = []
        for n in (5.0, 3.0, 1.0):
            k = n + 6 * h
            k = k - 6 * torch.floor(k / 6)
            channels.append(v - v * s * torch.minimum(k, 4 - k).clamp(0, 1))
        return torch.stack(channels, dim=-1)
    if genome.squash == "half":
        out = 0.5 + 0.5 * out
    elif genome.squash == "abs":
        out = out.abs()
    return out.clamp(0, 1)
