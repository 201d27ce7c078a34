"""The exceptions that mean "the user asked for something we cannot do".

The CLI turns them into a single line on stderr and exit code 2; the library lets them
propagate, so notebook users get a normal exception with the same message.
"""

from __future__ import annotations


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
    ``error.message_for("--chunk")`` so its users read the flag they typed instead.

    >>> str(ParamError("chunk", "must be at least 1, got 0"))
    'chunk must be at least 1, got 0'
    >>> ParamError("chunk", "must be at least 1, got 0").message_for("--chunk")
    '--chunk must be at least 1, got 0'

    A problem that names the parameter elsewhere than at its start says where with ``{param}``:

    >>> ParamError("force", "'p.png' holds another picture; pass {param} to replace it").message_for("--force")
    "'p.png' holds another picture; pass --force to replace it"
    """

    def __init__(self, param: str, problem: str) -> None:
        self.param, self.problem = param, problem
        super().__init__(self.message_for(param))

    def message_for(self, name: str) -> str:
        """The message with the parameter called ``name`` (the library's name, or the CLI's flag)."""
        if PARAM in self.problem:
            return self.problem.replace(PARAM, name)
        return f"{name} {self.problem}"


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
