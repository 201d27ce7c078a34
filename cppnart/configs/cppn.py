"""Random-weight CPPN art (kind ``cppn``): the architecture a preset describes."""

from __future__ import annotations

from dataclasses import dataclass

from .activations import check_layers
from .schema import check_channels, check_choice, check_ranges, fields_of

Z_PRIORS = ("uniform", "normal")


@dataclass(frozen=True)
class CPPNConfig:
    """A random-weight CPPN: f(scale*x, scale*y, scale*r, scale*z) -> colour in [0, 1].

    >>> CPPNConfig(depth=3).activations
    ('tanh', 'tanh', 'tanh')
    """

    name: str = "cppn"
    description: str = ""
    kind: str = "cppn"
    z_dim: int = 8
    channels: int = 3
    width: int = 32
    depth: int = 4
    # One per hidden layer; a single string means "this activation on every layer".
    activations: tuple[str, ...] = ("tanh",)
    output: str = "sigmoid"
    # Multiplies coordinates and z before the first layer ([Patterns] uses 10).
    scale: float = 10.0
    # Standard deviation of the gaussian weights ([Patterns] uses unit gaussians).
    init_scale: float = 1.0
    bias_scale: float = 0.0
    # Residual hidden layers: h <- h + act(W h + b).
    residual: bool = False
    # Distribution of random latents: [Patterns] draws z uniformly from [-1, 1].
    z_prior: str = "uniform"

    def __post_init__(self) -> None:
        acts = self.activations
        if len(acts) == 1 and self.depth > 1:
            object.__setattr__(self, "activations", tuple(acts) * self.depth)

    def validate(self, where: str) -> None:
        # Ranges before anything else: `depth = 1e6` must not build a million activation names first.
        check_ranges(
            where,
            fields_of(
                self,
                "z_dim width depth scale init_scale bias_scale",
            ),
        )
        check_channels(where, self.channels)
        check_layers(where, self.activations, self.depth, self.output)
        check_choice(where, "z_prior", self.z_prior, Z_PRIORS)
