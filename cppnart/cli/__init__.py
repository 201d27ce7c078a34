"""The `cppnart` command: Typer apps composed with ``add_typer``; the only layer that prints.

Each module holds one group of commands in its own Typer app; the root app adds them in the
order of ``--help``. Heavy imports (onnxruntime, torch) happen inside the commands, so
``cppnart --help`` and shell completion stay fast.
"""

from __future__ import annotations

import typer

from ..__about__ import __version__
from . import draw, dream, grid, info, latent, mesh, morph, render, sweep, train, view

app = typer.Typer(
    name="cppnart",
    help="Neural generative art: random and trained CPPNs, glyph models, ONNX export, posters and morphs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cppnart {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """cppnart: compositional pattern-producing networks, rendered at any size."""


app.add_typer(render.app)
app.add_typer(info.app)
app.add_typer(morph.app)
app.add_typer(grid.app)
app.add_typer(draw.app)
app.add_typer(mesh.app)
app.add_typer(view.app)
app.add_typer(latent.app, name="z")
app.add_typer(train.train_app, name="train")
app.add_typer(train.eval_app, name="eval")
app.add_typer(sweep.app)
app.add_typer(dream.app)


def main() -> None:
    """The console script: one line for every error (usage errors included), warnings silenced,
    SIGTERM and SIGHUP handled like Ctrl-C (cleanup, then exit 128 + n); every stop signal is
    recorded in ``errors.SIGNALS_RECEIVED``, so an error it caused exits as the signal."""
    import signal
    import sys
    import warnings

    import numpy as np

    from ..errors import SIGNALS_RECEIVED as received
    from ..errors import Terminated
    from .output import stop_note

    # Non-finite values are refused by explicit checks with a message; numpy's and torch's
    # warnings would only add lines to stderr.
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")

    received.clear()  # main() can run more than once in a process (tests)

    def terminate(signum: int, frame: object) -> None:
        received.append(signum)
        raise Terminated(signum)

    def interrupt(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), terminate)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where the shell ignores it (`&`)
        signal.signal(signal.SIGINT, interrupt)
    # Typer vendors click: its exceptions are found by name, so either layout works.
    try:
        code = app(standalone_mode=False)
    except typer.Abort as exc:  # click turns a signal outside the command (while parsing) into Abort
        signum = getattr(exc.__cause__ or exc.__context__, "signum", 2)
        typer.echo(stop_note(signum), err=True)
        code = 128 + signum
    except Terminated as exc:
        typer.echo(stop_note(exc.signum), err=True)
        code = 128 + exc.signum
    except Exception as exc:
        names = {c.__name__ for c in type(exc).__mro__}
        ctx = getattr(exc, "ctx", None)
        if "NoArgsIsHelpError" in names:  # `cppnart` alone, or a group alone: its help, as before
            typer.echo(ctx.get_help() if ctx else "")
            code = 2
        elif "UsageError" in names:
            command = ctx.command_path if ctx else "cppnart"
            typer.echo(f"error: {exc.format_message()} (see `{command} --help`)", err=True)  # type: ignore[attr-defined]
            code = 2
        elif "ClickException" in names:
            typer.echo(f"error: {exc.format_message()}", err=True)  # type: ignore[attr-defined]
            code = getattr(exc, "exit_code", 1)
        else:
            raise
    # Typer turns a SIGTERM or SIGHUP outside the command (while parsing) into 130, Ctrl-C's status.
    if code == 130 and received and received[-1] != signal.SIGINT:
        typer.echo(stop_note(received[-1]), err=True)
        code = 128 + received[-1]
    sys.exit(code if isinstance(code, int) else 0)
