"""The `cppnart` command: Typer apps composed with ``add_typer``; the only layer that prints.

Each module holds one group of commands in its own Typer app; the root app adds them in the
order of ``--help``. Heavy imports (onnxruntime, torch) happen inside the commands, so
``cppnart --help`` and shell completion stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import install_stop_handlers

if Path(sys.argv[0]).name == "cppnart" or Path(sys.argv[0]).parts[-2:] == ("cppnart", "__main__.py"):
    # The console script or `python -m cppnart`: from here on a stop signal is recorded and held
    # while imports run (errors.install_stop_handlers), so one that lands during the imports below
    # exits 128 + n instead of killing the process or aborting it from inside an extension.
    install_stop_handlers()

import typer

from ..__about__ import __version__
from . import breed, draw, dream, grid, info, latent, loop, mesh, morph, render, sweep, train, view

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
app.add_typer(loop.app)
app.add_typer(grid.app)
app.add_typer(draw.app)
app.add_typer(mesh.app)
app.add_typer(view.app)
app.add_typer(latent.app, name="z")
app.add_typer(train.train_app, name="train")
app.add_typer(train.eval_app, name="eval")
app.add_typer(sweep.app)
app.add_typer(dream.app)
app.add_typer(breed.app)


def main() -> None:
    """The console script: one line for every error (usage errors included), warnings silenced,
    SIGTERM and SIGHUP handled like Ctrl-C (cleanup, then exit 128 + n); every stop signal is
    recorded in ``errors.SIGNALS_RECEIVED``, so an error it caused exits as the signal. Signals are
    held during imports and after the exit code is known (``errors.install_stop_handlers``)."""
    import signal
    import warnings

    import numpy as np

    from ..errors import SIGNALS_RECEIVED as received
    from ..errors import arm_stop_handlers, disarm_stop_handlers
    from .output import STOPS_REPORTED, stop_note

    # Non-finite values are refused by explicit checks with a message; numpy's and torch's
    # warnings would only add lines to stderr.
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")

    install_stop_handlers()  # again for callers that imported the app first (no-op otherwise)
    STOPS_REPORTED.clear()
    try:
        try:
            arm_stop_handlers()  # raises at once for a signal that came during start-up
            code = _run()
        finally:
            disarm_stop_handlers()  # the outcome is known: what follows cannot be stopped half-way
    except KeyboardInterrupt as exc:  # Terminated too: a signal before the command ran
        code = 128 + getattr(exc, "signum", signal.SIGINT)
        STOPS_REPORTED.append(code - 128)
        typer.echo(stop_note(code - 128), err=True)
    # Typer turns a stop signal outside the command (while parsing) into a silent 130, Ctrl-C's status.
    if code == 130 and received and not STOPS_REPORTED:
        typer.echo(stop_note(received[-1]), err=True)
        code = 128 + received[-1]
    sys.exit(code if isinstance(code, int) else 0)


def _run() -> object:
    """The app, with click's ways of stopping mapped to exit codes."""
    from .output import STOPS_REPORTED, stop_note

    # Typer vendors click: its exceptions are found by name, so either layout works.
    try:
        return app(standalone_mode=False)
    except typer.Abort as exc:  # click turns a signal outside the command (while parsing) into Abort
        signum = getattr(exc.__cause__ or exc.__context__, "signum", 2)
        STOPS_REPORTED.append(signum)
        typer.echo(stop_note(signum), err=True)
        return 128 + signum
    except Exception as exc:
        names = {c.__name__ for c in type(exc).__mro__}
        ctx = getattr(exc, "ctx", None)
        if "NoArgsIsHelpError" in names:  # `cppnart` alone, or a group alone: its help, as before
            typer.echo(ctx.get_help() if ctx else "")
            return 2
        if "UsageError" in names:
            command = ctx.command_path if ctx else "cppnart"
            typer.echo(f"error: {exc.format_message()} (see `{command} --help`)", err=True)  # type: ignore[attr-defined]
            return 2
        if "ClickException" in names:
            typer.echo(f"error: {exc.format_message()}", err=True)  # type: ignore[attr-defined]
            return getattr(exc, "exit_code", 1)
        raise
