"""Objectives as values, composed with arithmetic the way lucid and lucent compose them.

    goal = channel("conv3", 5) - 0.5 * diversity("conv3")     # one expression
    scores = goal({"conv3": acts})                            # [B]: image i scored as solution i
    loss = -scores.sum()

An objective maps the named layers' outputs (``{layer: [B, ...]}``) to one score per image, where
image ``i`` is solution ``i`` of the batch. A unit objective (``channel``, ``neuron``, and sums and
multiples of them) also has a ``table``: every image's value for every solution's unit, [B, K],
which the probe (every start against every unit) and the ranking among real images read. Its
score is that table's diagonal (image i for unit i), written once here (``own``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

Acts = Mapping[str, torch.Tensor]
Table = Callable[[Acts], torch.Tensor]


def own(table: torch.Tensor) -> torch.Tensor:
    """[B]: each image's value for its own solution's unit, from a [B, K] table (K = B, or K = 1
    when every solution shares the unit).

    >>> own(torch.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [1.0, 4.0]
    """
    if table.shape[1] == 1:
        return table[:, 0]
    if table.shape[0] != table.shape[1]:
        raise ValueError(f"a table of {table.shape[1]} units scores {table.shape[1]} images, got {table.shape[0]}")
    return table.diagonal()


@dataclass(frozen=True)
class Objective:
    """A score per image to climb (``score``), the layers it reads, and its name; ``table`` only
    for unit objectives (linear in the units' values)."""

    score: Callable[[Acts], torch.Tensor]
    layers: frozenset[str]
    name: str
    cross: Table | None = None

    def __call__(self, acts: Acts) -> torch.Tensor:
        """[B]: the score of each image as its solution."""
        return self.score(acts)

    def table(self, acts: Acts) -> torch.Tensor:
        """[B, K]: every image's value for every solution's unit (unit objectives only)."""
        if self.cross is None:
            raise TypeError(f"'{self.name}' scores a batch as a whole; it has no per-unit table")
        return self.cross(acts)

    # --- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Objective) -> Objective:
        cross = None
        if self.cross is not None and other.cross is not None:
            a, b = self.cross, other.cross
            cross = lambda acts: a(acts) + b(acts)
        return Objective(
            lambda acts: self(acts) + other(acts), self.layers | other.layers, f"{self.name} + {other.name}", cross
        )

    def __mul__(self, weight: float) -> Objective:
        if not isinstance(weight, numbers.Real):
            return NotImplemented
        w = float(weight)
        cross = None if self.cross is None else (lambda acts, t=self.cross: w * t(acts))
        return Objective(lambda acts: w * self(acts), self.layers, f"{w:g} * ({self.name})", cross)

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)

    def scaled_by(self, other: Objective) -> Objective:
        """This score times the mean magnitude of ``other``'s (held constant): a weight that reads
        the same whatever the units' scale, as `dream`'s diversity weight does."""
        return Objective(
            lambda acts: self(acts) * other(acts).detach().abs().mean(),
            self.layers | other.layers,
            f"{self.name} x |{other.name}|",
        )


def _unit_table(layer: str, units: int | Sequence[int], neuron: tuple[int, int] | None) -> Table:
    wanted = [int(u) for u in units] if isinstance(units, Sequence) else [int(units)]
    index: dict[torch.device, torch.Tensor] = {}

    def table(acts: Acts) -> torch.Tensor:
        out = acts[layer]
        idx = index.setdefault(out.device, torch.tensor(wanted, device=out.device))
        picked = out[:, idx]  # [B, K, ...]
        if neuron is not None:
            return picked[:, :, neuron[0], neuron[1]]
        return picked.flatten(2).mean(2) if picked.ndim > 2 else picked

    return table


def _unit(layer: str, units: int | Sequence[int], neuron: tuple[int, int] | None, name: str) -> Objective:
    table = _unit_table(layer, units, neuron)
    return Objective(lambda acts: own(table(acts)), frozenset({layer}), name, table)


def channel(layer: str, units: int | Sequence[int]) -> Objective:
    """The mean of channel ``units`` of ``layer`` (a dense layer's unit, a class logit): one unit
    for every image, or one per image (solution i climbs ``units[i]``)."""
    return _unit(layer, units, None, f"channel {layer}:{units}")


def neuron(layer: str, units: int | Sequence[int], y: int, x: int) -> Objective:
    """One neuron (``y``, ``x``) of channel ``units`` of a spatial layer."""
    return _unit(layer, units, (y, x), f"neuron {layer}:{units}@{y},{x}")


def diversity(layer: str, groups: Sequence[Sequence[int]] | None = None) -> Objective:
    """How alike each image's ``layer`` output is to the others of its group (mean cosine
    similarity of the centred outputs; every image one group when ``groups`` is None), to be
    subtracted. Its sum over the batch is the group-mean pairwise similarity times the batch."""

    def score(acts: Acts) -> torch.Tensor:
        flat = acts[layer].flatten(1)
        flat = flat - flat.mean(1, keepdim=True)
        flat = flat / (flat.norm(dim=1, keepdim=True) + 1e-8)
        out = flat.new_zeros(flat.shape[0])
        for group in groups if groups is not None else [range(flat.shape[0])]:
            members = list(group)
            if len(members) > 1:
                sims = flat[members] @ flat[members].T
                out = out.index_add(
                    0, torch.tensor(members, device=flat.device), (sims.sum(1) - sims.diagonal()) / (len(members) - 1)
                )
        return out

    return Objective(score, frozenset({layer}), f"diversity {layer}")


@dataclass(frozen=True)
class Goal:
    """A run's objectives: ``unit`` (the units' own values, reported), ``goal`` (signed: climbed,
    ranked and judged) and ``total`` (``goal`` with the diversity term: what the optimiser climbs)."""

    unit: Objective
    goal: Objective
    total: Objective

    @property
    def layers(self) -> frozenset[str]:
        """Every layer the objectives read."""
        return self.total.layers | self.goal.layers


def goal_for(
    layer: str,
    units: Sequence[int],
    *,
    neuron_at: tuple[int, int] | None = None,
    minimise: bool = False,
    diversity_weight: float = 0.0,
    groups: Sequence[Sequence[int]] | None = None,
) -> Goal:
    """The objectives of one `dream` run: solution i climbs (or with ``minimise`` descends) unit
    ``units[i]``, kept apart from its group by ``diversity_weight`` (scaled to the goal's size)."""
    unit = channel(layer, list(units)) if neuron_at is None else neuron(layer, list(units), *neuron_at)
    goal = -unit if minimise else unit
    several = groups is not None and any(len(g) > 1 for g in groups)
    total = goal - diversity_weight * diversity(layer, groups).scaled_by(goal) if several and diversity_weight else goal
    return Goal(unit, goal, total)
