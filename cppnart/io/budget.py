"""Work and space budgets: a request is sized before any work and refused with its numbers.

    check_budget("render 4000x4000", samples=16e6, memory=2e8, output=(4.8e7, Path(".")))

Limits come from the environment so the CLI and the library share one override:
``CPPNART_MAX_SAMPLES`` (network evaluations), ``CPPNART_MAX_MEMORY`` (bytes held at once).
The free space of the output folder is read with ``shutil.disk_usage``; a request that clearly
cannot fit is refused before its first byte.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import UserError

DEFAULT_MAX_SAMPLES = 1 << 33  # ~8.6e9 evaluations: a 30000x30000 poster at 3x3 supersampling
DEFAULT_MAX_MEMORY = 8 << 30  # bytes held at once by one command


def _limit(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise UserError(f"{name}='{text}' is not a number") from None
    return max(1, value)


def human(n: float) -> str:
    """Bytes for people, in decimal units (rich's ``filesize.decimal``).

    >>> human(3.4e9)
    '3.4 GB'
    """
    from rich.filesize import decimal

    return decimal(max(0, int(n)))


def check_budget(
    what: str,
    samples: float = 0,
    memory: float = 0,
    output: tuple[float, str | Path] | None = None,
) -> None:
    """Refuse ``what`` when it would compute more than the sample limit, hold more than the memory
    limit, or write more than the output folder has free. Messages give the numbers and the override."""
    max_samples = _limit("CPPNART_MAX_SAMPLES", DEFAULT_MAX_SAMPLES)
    if samples > max_samples:
        raise UserError(
            f"{what} would evaluate the network {samples:.3g} times (limit {max_samples:.3g}); "
            "ask for fewer pixels, or set CPPNART_MAX_SAMPLES to raise the limit"
        )
    max_memory = _limit("CPPNART_MAX_MEMORY", DEFAULT_MAX_MEMORY)
    if memory > max_memory:
        raise UserError(
            f"{what} would hold about {human(memory)} in memory (limit {human(max_memory)}); "
            "ask for less, or set CPPNART_MAX_MEMORY (bytes) to raise the limit"
        )
    if output is not None:
        size, target = output
        folder = Path(target).parent if not Path(target).is_dir() else Path(target)
        try:
            free = shutil.disk_usage(folder if str(folder) else ".").free
        except OSError:
            return  # the folder check that follows names the problem
        if size > free:
            raise UserError(
                f"{what} needs about {human(size)} but the folder '{folder}' has {human(free)} free; "
                "free some space or write elsewhere"
            )
