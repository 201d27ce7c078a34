"""Where training runs: ``choose_device("auto" | "cpu" | "cuda")``.

    device = choose_device(options.device)        # torch.device
    print(describe_device(device))                # "cuda (NVIDIA H100)" / "cpu (2 threads)"

``auto`` takes CUDA when torch sees a GPU, else the CPU; asking for ``cuda`` on a machine
without one is a user error, not a silent fallback. ``training_precision(device, "bf16")``
autocasts a training run to bfloat16; TF32 stays off (``no_tf32``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..configs.devices import TRAIN_PRECISIONS, check_device
from ..errors import ParamError, UserError


def choose_device(name: str = "auto") -> Any:
    """The torch.device for ``name`` (auto: CUDA when torch sees a GPU, else the CPU)."""
    import torch

    name = check_device(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ParamError("device", "cuda: torch sees no CUDA GPU (CPU-only torch or no driver); use cpu or auto")
    if name == "cuda":
        no_tf32()
    return torch.device(name)


def describe_device(device: Any) -> str:
    """The device in words, for the training banner."""
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'' if n == 1 else 's'})"


# What torch's allocators say when a tensor does not fit (CPU: "DefaultCPUAllocator: not enough
# memory" / "can't allocate memory"; CUDA: "CUDA out of memory"): a RuntimeError, not MemoryError.
_ALLOCATION_FAILURES = ("DefaultCPUAllocator", "not enough memory", "can't allocate memory", "out of memory")


@contextmanager
def allocation_errors(what: str) -> Iterator[None]:
    """Turn torch's allocation failure inside the block into a one-line UserError naming ``what``."""
    try:
        yield
    except RuntimeError as exc:
        if not any(text in str(exc) for text in _ALLOCATION_FAILURES):
            raise
        raise UserError(
            f"{what}: out of memory (torch could not allocate its tensors); ask for a smaller batch, "
            "image size or model"
        ) from None


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


# What the training steps of this context compute in: (device type, precision), set by training_precision.
_STEPS: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("cppnart_step_precision", default=None)


@contextlib.contextmanager
def training_precision(device, precision: str = "fp32") -> Iterator[None]:
    """Train inside: with bf16 every step that ``train.loop.run_steps`` runs is autocast to
    bfloat16 on ``device`` (a torch.device or its name; CUDA or the CPU), while samples,
    checkpoints and the ONNX export between steps stay fp32. fp32 changes nothing. TF32 is off."""
    import torch

    precision = check_train_precision(precision)
    kind = torch.device(device).type if not hasattr(device, "type") else device.type
    no_tf32()
    token = _STEPS.set((kind, precision))
    try:
        yield
    finally:
        _STEPS.reset(token)


def step_precision() -> contextlib.AbstractContextManager[object]:
    """The context one training step runs in: bf16 autocast inside ``training_precision(.., "bf16")``,
    else nothing."""
    setting = _STEPS.get()
    if setting is None or setting[1] == "fp32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(setting[0], dtype=torch.bfloat16)
