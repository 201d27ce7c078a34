"""Where models run: the one list of device names every command and module accepts."""

from __future__ import annotations

from ..errors import ParamError

DEVICES = ("auto", "cpu", "cuda")  # auto: CUDA when the runtime sees it, else the CPU
TRAIN_PRECISIONS = ("fp32", "bf16")  # what training steps compute in; bf16: torch autocast


def check_device(name: str) -> str:
    """The device name, or a ParamError listing the choices.

    >>> check_device("cpu")
    'cpu'
    """
    name = getattr(name, "value", name)  # the CLI's enum as well as a string
    if name not in DEVICES:
        raise ParamError("device", f"'{name}' is unknown; choose one of {', '.join(DEVICES)}")
    return name
