"""What `dream` visualises and how: ``DreamSettings``, checked against a target before any work.

Every number is checked against a ``configs.schema.Range`` (the project's one range dialect), so
NaN, infinities and out-of-range values are refused with the parameter's name; the rules that
relate a value to the target (a channel of the layer, a neuron inside its map) follow.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from ...configs.schema import CONFIG_RANGES, RANGES, Range, check_param
from ...errors import ParamError
from ..targets import Layer, Target

if TYPE_CHECKING:
    from ...graph.genome import Genome

PARAMS = ("cppn", "fft", "pixel", "maco")

# The bounds of each number, with what they protect (said in the error).
DREAM_RANGES: dict[str, Range] = {
    "diversity": Range(0.0, 1e6, "weight of the similarity penalty; beyond this it drowns the objective"),
    "steps": Range(1, RANGES["steps"].high, "optimisation steps"),
    "lr": Range(1e-12, 10.0, "Adam's learning rate; beyond this the CPPN's weights diverge to NaN"),
    "tol": Range(0.0, 1e6, "a relative change of the objective"),
    "seed": RANGES["seed"],
    "probe": Range(1, 4096, "random starts, drawn and run together in memory"),
    "polish": Range(0.0, 1.0, "a fraction of the steps"),
    "width": CONFIG_RANGES["width"],
    "depth": CONFIG_RANGES["depth"],
    "size": CONFIG_RANGES["image_size"],
    "examples": Range(0, 64, "real images shown beside each solution"),
}
BATCH_RANGE = Range(1, 1024, "solutions per unit, optimised together in memory")


@dataclass(frozen=True)
class DreamSettings:
    """What to visualise and how. ``units``: the channel (or class) of every solution; ``None``
    with ``all_channels`` does every channel of ``layer`` once."""

    layer: str
    units: tuple[int, ...] = (0,)
    neuron: tuple[int, int] | None = None  # (y, x) of one neuron of units[0]
    minimise: bool = False
    diversity: float = 1.0  # weight of the similarity penalty between solutions of one unit
    param: str = "cppn"
    steps: int = 512
    lr: float = 0.01
    tol: float = 0.0  # stop when the objective's relative change over 64 steps is below this (0: never)
    seed: int = 0
    probe: int = 16  # random starts tried before optimising
    transforms: bool = True
    polish: float = 0.1  # the last fraction of the steps runs without transforms (the image as it will be seen)
    width: int = 24  # CPPN hidden width
    depth: int = 5  # CPPN hidden layers
    activation: str = "sin"  # sin layers reach higher activations than tanh (bench/dream.py)
    size: int | None = None  # optimisation size (default: the target's input size)
    examples: int = 0  # the real images that excite each unit most, shown beside it (needs real data)
    init: str | None = None  # a genome file (or a PNG whose recipe carries one) the CPPNs start from

    @property
    def sign(self) -> float:
        """+1 to climb, -1 with ``minimise``: the objective is ``sign`` times the unit's value."""
        return -1.0 if self.minimise else 1.0

    def start_genome(self, target: Target) -> Genome | None:
        """The genome ``init`` names, checked against the target (None without ``init``)."""
        if self.init is None:
            return None
        from ..genome_torch import load_start_genome

        genome = load_start_genome(self.init)
        if genome.channels != target.channels:
            raise ParamError(
                "init", f"'{self.init}' draws {genome.channels} channel(s) but the target takes {target.channels}"
            )
        return genome

    def check(self, target: Target) -> Layer:
        """Validate against the target before any work; every error names its parameter."""
        layer = target.layer(self.layer)
        if self.param not in PARAMS:
            raise ParamError("param", f"must be one of {', '.join(PARAMS)}, got '{self.param}'")
        if self.init is not None and self.param != "cppn":
            raise ParamError("init", f"starts CPPN solutions from a genome; it cannot start param '{self.param}'")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in DREAM_RANGES and value is not None:
                check_param(f.name, value, DREAM_RANGES[f.name])
        if not self.units:
            raise ParamError("units", "names no channel")
        for unit in self.units:
            if not 0 <= unit < layer.channels:
                raise ParamError(
                    "units", f"{unit} is out of range: layer '{self.layer}' has channels 0..{layer.channels - 1}"
                )
        if self.neuron is not None:
            if not layer.spatial:
                raise ParamError("neuron", f"needs a layer with a spatial map; '{self.layer}' has shape {layer.shape}")
            y, x = self.neuron
            if not (0 <= y < layer.shape[1] and 0 <= x < layer.shape[2]):
                raise ParamError(
                    "neuron", f"({y}, {x}) is outside the {layer.shape[1]}x{layer.shape[2]} map of '{self.layer}'"
                )
        return layer


def check_batch(batch: int) -> int:
    """Solutions per unit: a whole number in ``BATCH_RANGE``."""
    return int(check_param("batch", batch, BATCH_RANGE))
