"""Where training runs: ``choose_device("auto" | "cpu" | "cuda")``.

    device = choose_device(options.device)        # torch.device
    print(describe_device(device))                # "cuda (NVIDIA H100)" / "cpu (2 threads)"

``auto`` takes CUDA when torch sees a GPU, else the CPU; asking for ``cuda`` on a machine
without one is a user error, not a silent fallback. ``training_precision(device, "bf16")``
autocasts a training run to bfloat16; TF32 stays off (``no_tf32``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..configs.devices import check_device
from ..errors import UserError


def choose_device(name: str = "auto"):
    import torch

    name = check_device(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no CUDA GPU (CPU-only torch or no driver); use --device cpu or auto")
    if name == "cuda":
        no_tf32()
    return torch.device(name)


def describe_device(device) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'' if n == 1 else 's'})"


TRAIN_PRECISIONS = ("fp32", "bf16")  # bf16: torch autocast; fp32: none


def no_tf32() -> None:
    """Full fp32 matrix products on CUDA: TF32 keeps 10 mantissa bits, and a CPPN's first layer
    multiplies the coordinates (at 16384 px across they step by 1.2e-4; TF32 resolves 1e-3 near 1)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def check_train_precision(precision: str) -> str:
    """The training precision name, or a ParamError listing the choices."""
    from ..errors import ParamError

    precision = getattr(precision, "value", precision)
    if precision not in TRAIN_PRECISIONS:
        raise ParamError("precision", f"'{precision}' is unknown; choose one of {', '.join(TRAIN_PRECISIONS)}")
    return precision


@contextlib.contextmanager
def training_precision(device, precision: str = "fp32") -> Iterator[None]:
    """Run the training inside: bf16 autocasts the forward passes on ``device`` (CUDA or the CPU),
    fp32 changes nothing. TF32 is off either way; ONNX export turns autocast off for itself."""
    import torch

    no_tf32()
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=check_train_precision(precision) == "bf16"):
        yield
