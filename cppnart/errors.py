"""The exceptions that mean "the user asked for something we cannot do".

The CLI turns them into a single line on stderr and exit code 2; the library lets them
propagate, so notebook users get a normal exception with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class UserError(Exception):
    """Bad input from the user: the message says what was wrong and what to do instead.

    The message is always one line of at most ``MAX_MESSAGE`` characters: line breaks in quoted
    user input are shown escaped, and an over-long message keeps its start and its end.

    >>> str(UserError("--res 'a\\nb' is not WIDTHxHEIGHT"))
    "--res 'a\\\\nb' is not WIDTHxHEIGHT"
    """

    def __init__(self, message: object = "") -> None:
        text = str(message).translate(_ESCAPE_BREAKS)
        if len(text) > MAX_MESSAGE:  # a quoted 5000-character argument would fill the terminal
            text = f"{text[: MAX_MESSAGE - 120]} [...] {text[-100:]}"
        super().__init__(text)


MAX_MESSAGE = 600


# Every character str.splitlines() breaks on, shown escaped so a message stays on one line.
_ESCAPE_BREAKS = {ord(c): ascii(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


class ParamError(UserError):
    """A bad value for one named parameter of the library.

    ``str(error)`` names the Python parameter (``chunk must be at least 1``); the CLI calls
    ``error.message_for(flag_for)`` so its users read the flag they typed instead.

    >>> str(ParamError("chunk", "must be at least 1, got 0"))
    'chunk must be at least 1, got 0'
    >>> ParamError("chunk", "must be at least 1, got 0").message_for(lambda name: "--" + name)
    '--chunk must be at least 1, got 0'

    A problem that names the parameter elsewhere than at its start says where with ``{param}``:

    >>> ParamError("force", "'p.png' holds another picture; pass {param} to replace it").message_for(lambda n: "--" + n)
    "'p.png' holds another picture; pass --force to replace it"

    A problem that suggests other parameters names them in ``also`` and writes each as ``{name}``:

    >>> error = ParamError("levels", "no lines; try more {param} or a smaller {spacing}", also=("spacing",))
    >>> str(error), error.message_for(lambda name: "--" + name)
    ('no lines; try more levels or a smaller spacing', 'no lines; try more --levels or a smaller --spacing')
    """

    def __init__(self, param: str, problem: str, also: tuple[str, ...] = ()) -> None:
        self.param, self.problem, self.also = param, problem, also
        super().__init__(self.message_for(lambda name: name))

    def message_for(self, name_of: Callable[[str], str]) -> str:
        """The message with each parameter it names called ``name_of(parameter)``: the library's
        own names in ``str(error)``, the flags the CLI's users typed in its one line."""
        problem = self.problem
        for other in self.also:
            problem = problem.replace("{" + other + "}", name_of(other))
        name = name_of(self.param)
        return problem.replace(PARAM, name) if PARAM in problem else f"{name} {problem}"


PARAM = "{param}"  # where a ParamError's problem names its parameter, when not at the start


# The stop signals (SIGINT, SIGTERM, SIGHUP) the CLI has received, in order. A library can catch the
# KeyboardInterrupt or Terminated raised inside it (onnxruntime's import wraps its own imports) and
# raise something else, such as an ImportError that reads as "not installed"; whatever error follows
# a signal still exits as the signal.
SIGNALS_RECEIVED: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be so that every cleanup path runs the same;
    ``signum`` gives the exit status 128 + n."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


# --- stop signals at any instant ---------------------------------------------------------------
# A handler that raises runs at the next bytecode of the main thread, which may be Python code an
# extension's C++ calls during its import (ml_dtypes' nanobind init under `import onnx`): the
# exception then unwinds into C++ and the process aborts (exit -6, "terminate called ...
# nanobind::python_error"; issue 32). So the CLI's handlers only record a signal while an import
# runs on the main thread, or before the command is armed, and raise it when the outermost import
# returns (or on arming): always from Python code, never through an extension.

_state = {"armed": False, "depth": 0, "pending": 0}


def _stop(signum: int) -> KeyboardInterrupt:
    import signal

    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def _on_stop_signal(signum: int, frame: object) -> None:
    SIGNALS_RECEIVED.append(signum)
    if not _state["armed"] or _state["depth"]:
        _state["pending"] = signum
        return
    raise _stop(signum)


def _raise_pending() -> None:
    signum, _state["pending"] = _state["pending"], 0
    if signum:
        raise _stop(signum)


def _guarded(function: Any) -> Any:
    """``function`` (an importer) with stop signals held until the outermost call returns."""
    import functools
    import threading

    main = threading.main_thread().ident

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != main:  # handlers run on the main thread only
            return function(*args, **kwargs)
        _state["depth"] += 1
        try:
            return function(*args, **kwargs)
        finally:
            _state["depth"] -= 1
            if not _state["depth"] and _state["armed"]:
                _raise_pending()  # a signal wins over the import's own result or error

    call.__wrapped_importer__ = True  # type: ignore[attr-defined]
    return call


def install_stop_handlers(signals: tuple[str, ...] = ("SIGTERM", "SIGHUP", "SIGINT")) -> None:
    """Record SIGTERM, SIGHUP and SIGINT from now on (SIGINT only where it is not ignored, as under
    ``&``) and hold them during imports; ``arm_stop_handlers`` makes them raise. The console script
    calls this first thing, so a signal during its own imports cannot kill or abort it."""
    import builtins
    import importlib
    import signal

    for name in signals:
        if not hasattr(signal, name):
            continue
        signum = getattr(signal, name)
        if signum == signal.SIGINT and signal.getsignal(signum) not in (signal.default_int_handler, _on_stop_signal):
            continue
        signal.signal(signum, _on_stop_signal)
    if not getattr(builtins.__import__, "__wrapped_importer__", False):
        builtins.__import__ = _guarded(builtins.__import__)
        importlib.import_module = _guarded(importlib.import_module)


def arm_stop_handlers() -> None:
    """From now on a stop signal raises ``KeyboardInterrupt`` (SIGINT) or ``Terminated`` at once,
    except inside an import, which it waits for; one that came before is raised now (else the
    record of earlier runs in this process is cleared)."""
    if not _state["pending"]:
        SIGNALS_RECEIVED.clear()
    _state["armed"] = True
    if not _state["depth"]:
        _raise_pending()


def disarm_stop_handlers() -> None:
    """The command is over: later stop signals are ignored, so the interpreter's shutdown (which
    puts back the default handlers) cannot turn a finished command into a kill."""
    import signal

    _state["armed"] = False
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is _on_stop_signal:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
