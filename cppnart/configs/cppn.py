"""Random-weight CPPN art (kind ``cppn``): the architecture a preset describes."""

from __future__ import annotations

from .activations import check_layers
from .schema import PresetHeader, bounded, chosen, preset

Z_PRIORS = ("uniform", "normal")


@preset("cppn")
class CPPNConfig(PresetHeader):
    """A random-weight CPPN: f(scale*x, scale*y, scale*r, scale*z) -> colour in [0, 1].

    >>> CPPNConfig(depth=3).activations
    ('tanh', 'tanh', 'tanh')
    """

    z_dim: int = bounded(8, "z_dim")
    channels: int = chosen(3, (1, 3))
    width: int = bounded(32, "width")
    depth: int = bounded(4, "depth")
    # One per hidden layer; a single string means "this activation on every layer".
    activations: tuple[str, ...] = ("tanh",)
    output: str = "sigmoid"
    # Multiplies coordinates and z before the first layer ([Patterns] uses 10).
    scale: float = bounded(10.0, "scale")
    # Standard deviation of the gaussian weights ([Patterns] uses unit gaussians).
    init_scale: float = bounded(1.0, "init_scale")
    bias_scale: float = bounded(0.0, "bias_scale")
    # Residual hidden layers: h <- h + act(W h + b).
    residual: bool = False
    # Distribution of random latents: [Patterns] draws z uniformly from [-1, 1].
    z_prior: str = chosen("uniform", Z_PRIORS)

    def __post_init__(self) -> None:
        acts = self.activations
        if len(acts) == 1 and self.depth > 1:
            object.__setattr__(self, "activations", tuple(acts) * self.depth)

    def validate(self, where: str) -> None:
        """The rules that relate fields: one activation per layer, and an output activation."""
        check_layers(where, self.activations, self.depth, self.output)
