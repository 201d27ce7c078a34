"""THE activation table: every hidden and output activation a CPPN may use, by name and formula.

The numpy forward (``graph.numpy_forward``), the ONNX builder (``graph.builder``), the torch
CPPN (``train.models.cppn``) and the viewer's shader each implement exactly the names of
``HIDDEN`` and check so at import; an output activation is a chain of hidden ones, optionally
mapped from [-1, 1] onto [0, 1], so no backend writes an output formula of its own. The
parity test runs every activation and every output through every backend.

>>> HIDDEN["gaussian"]
'exp(-x²)'
>>> OUTPUTS["abs"]
Output(chain=('tanh', 'abs'), half=False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from ..errors import UserError

# name -> formula (documentation, and what every backend must compute)
HIDDEN: dict[str, str] = {
    "tanh": "tanh(x)",
    "softplus": "log(1 + exp(x))",
    "sin": "sin(x)",
    "cos": "cos(x)",
    "gaussian": "exp(-x²)",
    "abs": "|x|",
    "relu": "max(x, 0)",
    "sigmoid": "1 / (1 + exp(-x))",
    "identity": "x",
}


class Output(NamedTuple):
    """An output activation: ``chain`` of hidden activations, then ``0.5 + 0.5 y`` when ``half``."""

    chain: tuple[str, ...]
    half: bool


# Every output lands in [0, 1], the colour range.
OUTPUTS: dict[str, Output] = {
    "sigmoid": Output(("sigmoid",), False),  # 1 / (1 + exp(-x))
    "sin": Output(("sin",), True),  # 0.5 + 0.5 sin(x)
    "tanh": Output(("tanh",), True),  # 0.5 + 0.5 tanh(x)
    "gaussian": Output(("gaussian",), False),  # exp(-x²)
    "abs": Output(("tanh", "abs"), False),  # |tanh(x)|
}

HIDDEN_ACTIVATIONS = tuple(HIDDEN)
OUTPUT_ACTIVATIONS = tuple(OUTPUTS)


def output_formula(name: str) -> str:
    """The formula of an output activation, composed from the table.

    >>> output_formula("tanh")
    '0.5 + 0.5 * tanh(x)'
    """
    formula = "x"
    for step in OUTPUTS[name].chain:
        formula = re.sub(r"\bx\b", formula, HIDDEN[step])
    return f"0.5 + 0.5 * {formula}" if OUTPUTS[name].half else formula


def check_activations(where: str, key: str, names: Iterable[str], output: bool = False) -> None:
    """A UserError naming the file, the key and the choices for any unknown name."""
    allowed = OUTPUT_ACTIVATIONS if output else HIDDEN_ACTIVATIONS
    for name in names:
        if name not in allowed:
            raise UserError(f"{where}: '{key}' has unknown activation '{name}'; choose from {', '.join(allowed)}")


def check_layers(where: str, activations: tuple[str, ...], depth: int, output: str, table: str = "") -> None:
    """A CPPN's layers: one known activation per hidden layer (``depth`` of them) and a known
    output activation; ``table`` is the config table they sit in ("generator." or "")."""
    if len(activations) != depth:
        raise UserError(
            f"{where}: '{table}activations' has {len(activations)} entries but '{table}depth' is {depth}; "
            "give one activation per hidden layer or a single name for all"
        )
    check_activations(where, f"{table}activations", activations)
    check_activations(where, f"{table}output", (output,), output=True)


def check_backend(backend: str, names: Iterable[str]) -> None:
    """Fail at import when a backend's implementations drift from the table."""
    have = set(names)
    if have != set(HIDDEN):
        raise RuntimeError(f"{backend} activations {sorted(have)} differ from the table {sorted(HIDDEN)}")
