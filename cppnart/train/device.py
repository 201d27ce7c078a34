"""Where training runs: ``choose_device("auto" | "cpu" | "cuda")``.

    device = choose_device(options.device)        # torch.device
    print(describe_device(device))                # "cuda (NVIDIA H100)" / "cpu (2 threads)"

``auto`` takes CUDA when torch sees a GPU, else the CPU; asking for ``cuda`` on a machine
without one is a user error, not a silent fallback.
"""

from __future__ import annotations

from ..configs.devices import check_device
from ..errors import UserError


def choose_device(name: str = "auto"):
    import torch

    name = check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no CUDA GPU (CPU-only torch or no driver); use --device cpu or auto")
    return torch.device(name)


def describe_device(device) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'' if n == 1 else 's'})"
