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

# Every top-level command, with the module (and its Typer app) that defines it, in the order of
# ``--help``. A command line that names one of them imports only that module (``app_for``): the
# others' imports (numpy views, presets, the viewer, training) cost a tiny render about 0.1 s of
# its 0.35 s start (bench/startup.py). tests/cli/test_cli_composition.py keeps the table true.
GROUPS: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    # (module, its app, the name it is added under (None: its commands join the root), commands)
    ("render", "app", None, ("render", "export")),
    ("info", "app", None, ("presets", "info")),
    ("morph", "app", None, ("morph",)),
    ("loop", "app", None, ("loop",)),
    ("grid", "app", None, ("grid",)),
    ("draw", "app", None, ("draw",)),
    ("mesh", "app", None, ("mesh",)),
    ("view", "app", None, ("view",)),
    ("latent", "app", "z", ("z",)),
    ("train", "train_app", "train", ("train",)),
    ("train", "eval_app", "eval", ("eval",)),
    ("sweep", "app", None, ("sweep",)),
    ("dream", "app", None, ("layers", "dream")),
    ("breed", "app", None, ("breed",)),
)

# Each command's line in the root's ``--help`` (its docstring's first paragraph), so that help
# lists the commands without importing their modules: ~30 ms of its 0.22 s start
# (bench/startup.py). tests/cli/test_startup.py checks that this help is the whole app's, byte for byte.
SUMMARIES: dict[str, str] = {
    "render": "Render a CPPN to a PNG poster (or a DZI tile pyramid) at any resolution, in bounded memory.",
    "export": "Export a preset's random-weight CPPN to a self-describing ONNX file, or any CPPN to a GLSL shader.",
    "presets": "List the bundled presets, one line each: name, kind, description (TSV when piped).",
    "info": "Print a model's metadata, a preset's settings or an image's recipe.",
    "morph": (
        "Morph between latent vectors, streaming every frame to a GIF, MP4, WebP or PNG folder (--audio: music video)."
    ),
    "loop": "Render a seamless loop: a closed path through latent space at constant speed, to MP4, GIF, WebP or PNGs.",
    "grid": "Render a labelled contact sheet of seeds or latents, to explore a preset or model.",
    "draw": "Draw a CPPN as plotter lines: contours, hatching or streamlines, simplified and ordered.",
    "mesh": "Mesh a CPPN: a 3-D model's level surface by marching cubes in slabs, or a 2-D picture's relief.",
    "view": "Explore a model in the browser: sliders for z, zoom and pan, animate, posters, contact sheets.",
    "z": "Latent vectors as .npy files: sample, mix, interpolate, read back, encode, fit.",
    "train": "Train models (needs the train extra: torch, kornia).",
    "eval": "Evaluate trained models.",
    "sweep": "Train a grid of runs (presets x seeds x overrides); finished runs are skipped, so it resumes.",
    "layers": "The layers a target offers to `dream`, with channel counts and output sizes.",
    "dream": "Optimise a CPPN so that a unit of a trained network fires; export it as model.onnx.",
    "breed": "Breed genomes by novelty search; writes a sheet of the archive with every cell's genome inside.",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cppnart {__version__}")
        raise typer.Exit()


def build_app(commands: set[str] | None = None, summaries: bool = False) -> typer.Typer:
    """The root app with the groups that define ``commands`` (every group when None); with
    ``summaries``, no group at all but each command's ``SUMMARIES`` line, for the root's help."""
    import importlib

    root = typer.Typer(
        name="cppnart",
        help="Neural generative art: random and trained CPPNs, glyph models, ONNX export, posters and morphs.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @root.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """cppnart: compositional pattern-producing networks, rendered at any size."""

    if summaries:  # stand-ins that only show in the help: a command line naming one gets the real app
        for command, line in SUMMARIES.items():
            root.command(command, help=line)(_stand_in)
        return root
    for module, attr, name, names in GROUPS:
        if commands is None or commands & set(names):
            group = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
            if name is None:  # its commands join the root
                root.add_typer(group)
            else:
                root.add_typer(group, name=name)
    return root


def commands_for(argv: list[str]) -> set[str] | None:
    """The command a command line's first word names, as the set ``build_app`` takes; None (every
    group) for anything else (``--help``, a typo, which gets click's suggestion) and for shell
    completion, which lists them all."""
    import os

    first = next((word for word in argv if not word.startswith("-")), None)
    known = {c for *_, names in GROUPS for c in names}
    if first in known and not any(k.endswith("_COMPLETE") for k in os.environ):
        return {first}
    return None


def _stand_in() -> None:
    raise RuntimeError("a help stand-in ran: app_for gives them only to help-only command lines")


def help_only(argv: list[str]) -> bool:
    """Whether a command line asks for nothing but the root's help or version (``cppnart``,
    ``--help``, ``-h``, ``--version``), outside shell completion (which needs the real commands)."""
    import os

    return set(argv) <= {"--help", "-h", "--version"} and not any(k.endswith("_COMPLETE") for k in os.environ)


def app_for(argv: list[str]) -> typer.Typer:
    """The app a command line needs (``commands_for``); once a caller has taken ``app`` (and
    perhaps added commands to it), that app."""
    if "app" in globals():
        whole: typer.Typer = globals()["app"]
        return whole
    if help_only(argv):
        return build_app(summaries=True)
    return build_app(commands_for(argv))


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole command line (built on first use, so importing ``cppnart.cli`` is light)."""
    if name == "app":
        globals()["app"] = whole = build_app()
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The console script: one line for every error (usage errors included), warnings silenced,
    SIGTERM and SIGHUP handled like Ctrl-C (cleanup, then exit 128 + n); every stop signal is
    recorded in ``errors.SIGNALS_RECEIVED``, so an error it caused exits as the signal. Signals are
    held during imports and after the exit code is known (``errors.install_stop_handlers``)."""
    import signal
    import warnings

    from ..errors import SIGNALS_RECEIVED as received
    from ..errors import arm_stop_handlers, disarm_stop_handlers
    from .output import STOPS_REPORTED, stop_note

    # Non-finite values are refused by explicit checks with a message; numpy's and torch's
    # warnings would only add lines to stderr. numpy's floating-point errors are warnings too
    # (its default errstate is "warn"), so this needs no numpy: `--help` never imports it.
    warnings.simplefilter("ignore")

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
        return app_for(sys.argv[1:])(standalone_mode=False)
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
