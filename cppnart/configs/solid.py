"""3-D CPPNs (kind ``solid``): f(x, y, z, r, latent) -> density and colour, for meshes."""

from __future__ import annotations

from ..errors import UserError
from .activations import check_layers
from .cppn import Z_PRIORS
from .schema import PresetHeader, Range, check_ranges, preset

SOLID_RANGES = {
    "radius": Range(0.0, 10.0, "the sphere the density falls off outside, in units of the [-1, 1] cube"),
    "falloff": Range(0.0, 1e3, "how sharply the density falls outside the radius"),
}


@preset("solid")
class SolidConfig(PresetHeader):
    """A random-weight 3-D CPPN over (x, y, z, r = |p|) and a latent: its first output is a density
    in [0, 1] (the mesh is its ``level`` surface), the next three a colour. ``falloff`` pulls the
    density down outside ``radius`` (logit - falloff * (r - radius)), so most seeds give one object
    inside the cube rather than a cube filled edge to edge (EndlessForms draws its shapes the same
    way, from a CPPN over x, y, z and the distance to the centre).

    >>> SolidConfig().activations
    ('tanh', 'tanh', 'tanh', 'tanh')
    """

    z_dim: int = 8
    width: int = 32
    depth: int = 4
    activations: tuple[str, ...] = ("tanh",)
    output: str = "sigmoid"
    scale: float = 3.0
    init_scale: float = 1.0
    bias_scale: float = 0.0
    radius: float = 0.6
    falloff: float = 16.0
    z_prior: str = "uniform"

    def __post_init__(self) -> None:
        if len(self.activations) == 1 and self.depth > 1:
            object.__setattr__(self, "activations", tuple(self.activations) * self.depth)

    @property
    def channels(self) -> int:
        """Colour channels of the mesh (the density is one more output)."""
        return 3

    def validate(self, where: str) -> None:
        """Ranges, layers and prior, each error naming the key and ``where``."""
        sizes = ("z_dim", "width", "depth", "scale", "init_scale", "bias_scale")
        check_ranges(where, {key: getattr(self, key) for key in sizes})  # the 2-D CPPN's bounds
        check_ranges(where, {"radius": self.radius, "falloff": self.falloff}, SOLID_RANGES)
        check_layers(where, self.activations, self.depth, self.output)
        if self.z_prior not in Z_PRIORS:
            raise UserError(f"{where}: 'z_prior' must be one of {', '.join(Z_PRIORS)}, got '{self.z_prior}'")
