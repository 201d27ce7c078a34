"""Where training runs: ``choose_device("auto" | "cpu" | "cuda")``.

    device = choose_device(options.device)        # torch.device
    print(describe_device(device))                # "cuda (NVIDIA H100)" / "cpu (2 threads)"

``auto`` takes CUDA when torch sees a GPU, else the CPU; asking for ``cuda`` on a machine
without one is a user error, not a silent fallback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..configs.devices import check_device
from ..errors import UserError


def choose_device(name: str = "auto") -> Any:
    """The torch.device for ``name`` (auto: CUDA when torch sees a GPU, else the CPU)."""
    import torch

    name = check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no CUDA GPU (CPU-only torch or no driver); use --device cpu or auto")
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
