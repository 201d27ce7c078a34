"""The `cppnart` command: Typer apps composed with ``add_typer``; the only layer that prints.

Each module holds one group of commands in its own Typer app; the root app adds them in the
order of ``--help``. Heavy imports (onnxruntime, torch) happen inside the commands, so
``cppnart --help`` and shell completion stay fast.
"""

from __future__ import annotations

import typer

from ..__about__ import __version__
from . import grid, info, latent, morph, render, train, view

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
app.add_typer(view.app)
app.add_typer(latent.app, name="z")
app.add_typer(train.train_app, name="train")
app.add_typer(train.eval_app, name="eval")


def main() -> None:
    app()
