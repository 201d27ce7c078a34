"""The `cppnart` command: a thin Typer layer over the library; the only place that prints."""

from __future__ import annotations

import importlib

import typer

from ..__about__ import __version__

app = typer.Typer(
    name="cppnart",
    help="Neural generative art: random and trained CPPNs, glyph models, ONNX export, posters and morphs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Each module adds its commands to `app` in register(app); order sets the --help listing.
COMMAND_MODULES = ["render", "latent", "info", "train", "train_glyph", "train_ganvae", "morph", "grid", "latent_tools"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cppnart {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """cppnart: compositional pattern-producing networks, rendered at any size."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:
    app()
