"""What every command shares on its way out: one-line errors, JSON or prose, progress, output checks."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer

from ..configs.schema import MAX_SIDE
from ..errors import SIGNALS_RECEIVED, ParamError, UserError

F = TypeVar("F", bound=Callable[..., Any])

# Library parameter -> the flag users type, where the two differ.
FLAGS = {
    "width": "--res",
    "height": "--res",
    # draw and mesh take lengths in millimetres; their flags drop the unit
    "spacing_mm": "--spacing",
    "margin_mm": "--margin",
    "size_mm": "--size",
    "depth_mm": "--depth",
    "base_mm": "--base",
    # dream's
    "target_class": "--class",
    "input_size": "--size",
}


def flag_for(param: str) -> str:
    """The CLI's name for a library parameter.

    >>> flag_for("supersample"), flag_for("data_limit"), flag_for("width")
    ('--supersample', '--data-limit', '--res')
    """
    return FLAGS.get(param, "--" + param.replace("_", "-"))


def fail(message: str) -> None:
    """One line on stderr, exit code 2: the contract for every user error; after a stop signal, the
    error is that signal's doing (see ``errors.SIGNALS_RECEIVED``) and the exit is 128 + n."""
    if SIGNALS_RECEIVED:
        stopped(SIGNALS_RECEIVED[-1])
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def raise_unless_stopped() -> NoReturn:
    """Re-raise the exception being handled, unless a stop signal came first and caused it."""
    if SIGNALS_RECEIVED:
        stopped(SIGNALS_RECEIVED[-1])
    raise


def stop_note(signum: int) -> str:
    """How a stop reads on stderr: 'interrupted' for Ctrl-C, else the signal's number."""
    return "interrupted" if signum == 2 else f"stopped by signal {signum}"


# The stops a command has reported itself; main() reports the others (typer turns a signal while
# parsing into a silent exit 130).
STOPS_REPORTED: list[int] = []


def stopped(signum: int) -> NoReturn:
    """Say how the command was stopped (one line) and exit 128 + the signal's number."""
    STOPS_REPORTED.append(signum)
    typer.echo(f"{stop_note(signum)}; no partial output was left behind", err=True)
    raise typer.Exit(128 + signum) from None


def user_errors(func: F) -> F:
    """UserError -> one line + exit 2 (ParamError names the flag); Ctrl-C -> a short note + exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            check_ranged_options(kwargs)
            return func(*args, **kwargs)
        except ParamError as exc:
            fail(exc.message_for(flag_for))
        except UserError as exc:
            fail(str(exc))
        except KeyboardInterrupt as exc:
            stopped(getattr(exc, "signum", 2))
        except typer.Exit:  # a command that said what its stop kept (breed): not a second, generic note
            raise
        except RecursionError:  # a file nested deeper than any parser should follow (JSON in a PNG, ...)
            fail("an input file nests its data too deeply to be one cppnart wrote")
        except (OSError, MemoryError) as exc:
            message = system_error(exc)
            if message is None:
                raise_unless_stopped()
            fail(message)
        except Exception as exc:
            if type(exc).__name__ != "DecompressionBombError":
                raise_unless_stopped()
            fail(f"{str(exc).splitlines()[0]} (an image that large is refused as a possible decompression bomb)")

    return wrapper  # type: ignore[return-value]


def system_error(exc: BaseException) -> str | None:
    """One line for the faults of the machine, not of cppnart: a full disk, no permission, no memory."""
    import errno

    from ..io.atomic import TMP_MARK

    if isinstance(exc, MemoryError):
        return "out of memory; ask for a smaller size (or fewer frames, cells, steps)"
    if not isinstance(exc, OSError):
        return None
    where = f" writing '{exc.filename}'" if getattr(exc, "filename", None) else ""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"no space left on the device{where}; free some space or write elsewhere (nothing was left behind)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied{where}: {exc.strerror}"
    if exc.errno in (errno.EIO, errno.EFBIG, errno.EMFILE, errno.ENFILE, errno.ENAMETOOLONG):
        return f"{exc.strerror}{where}"
    # A folder that exists but takes no new files (/proc, /sys): only our own temporaries are mapped,
    # so a file cppnart expected to read and did not find stays a bug, not a one-liner.
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR) and TMP_MARK in Path(exc.filename or "").name:
        return f"cannot create files in '{Path(exc.filename).parent}' ({exc.strerror}); choose another output path"
    return None


def check_ranged_options(options: dict[str, Any]) -> None:
    """Every numeric option whose name has a range in ``configs.schema.RANGES`` (seed, count,
    frames, hold, supersample, threads, ...) is checked before the command does anything."""
    from ..configs.schema import RANGES, check_param

    for name, value in options.items():
        if name in RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
            check_param(name, value)


def emit(data: dict[str, Any], text: str, as_json: bool = False, quiet: bool = False) -> None:
    """The result of a command: ``data`` as one JSON line with --json, else ``text`` unless --quiet."""
    if as_json:
        typer.echo(json_line(data))
    elif not quiet:
        typer.echo(text)


def json_line(data: Any) -> str:
    """``data`` as one line of strict JSON: NaN and the infinities become null (Python's json would
    write the bare words ``NaN`` and ``Infinity``, which no other JSON reader accepts), anything
    else JSON cannot hold becomes its string.

    >>> json_line({"loss": float("nan"), "steps": [1, float("inf")], "z": (0.5,)})
    '{"loss": null, "steps": [1, null], "z": [0.5]}'
    """
    return json.dumps(_finite_json(data), default=str, allow_nan=False)


def _finite_json(value: Any) -> Any:
    """A copy of ``value`` with every non-finite float (numpy's too) replaced by None."""
    if isinstance(value, dict):
        return {key: _finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # numpy scalars and arrays
        return _finite_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_RES = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_res(text: str, option: str = "--res") -> tuple[int, int]:
    """'WxH' -> (W, H), both positive.

    >>> parse_res("2880x1800")
    (2880, 1800)
    """
    match = _RES.match(text)
    if not match:
        raise UserError(f"{option} '{text}' is not WIDTHxHEIGHT; write it like {option} 2880x1800")
    width, height = int(match[1]), int(match[2])
    if width < 1 or height < 1:
        raise UserError(f"{option} '{text}': width and height must be at least 1, e.g. {option} 2880x1800")
    if max(width, height) > MAX_SIDE:
        raise UserError(f"{option} '{text}': sides are at most {MAX_SIDE} pixels (most readers refuse more)")
    return width, height


def parse_center(text: str) -> tuple[float, float]:
    """'X,Y' -> (x, y), both finite; a one-line error naming --center otherwise."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(f"--center '{text}' is not X,Y; write it like --center 0.25,-0.5") from None
    if not all(map(_finite, (x, y))):
        raise UserError(f"--center '{text}' must be finite numbers")
    return x, y


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def check_output(path: Path, allowed: tuple[str, ...], option: str = "--out") -> Path:
    """An output file of the right kind in a folder we can write: checked before any work."""
    from ..io.atomic import check_writable

    if path.suffix.lower() not in allowed:
        raise UserError(f"{option} '{path}' must end in {' or '.join(allowed)}")
    return check_writable(path)


@contextmanager
def progress(total: int, description: str, show: bool, unit: str = "") -> Iterator[Callable[[int], None]]:
    """Progress on stderr (``live.counted``): a rich bar on a terminal, paced plain lines elsewhere
    once the work has run a few seconds; a no-op callback when hidden (--quiet)."""
    if not show:  # rich's console and progress cost a tiny render ~20 ms to import (bench/startup.py)
        yield lambda n: None
        return
    from .live import counted

    with counted(total, description, show, unit=unit) as advance:
        yield advance
