"""Every command, found by walking the app, has --help with an example and starts without torch."""

import typer.main
from typer.testing import CliRunner

from cppnart.cli import app


def _commands(command, path=()):
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path


ALL = list(_commands(typer.main.get_command(app)))


def test_the_walk_finds_the_command_families():
    assert {path[0] for path in ALL} >= {"render", "export", "presets", "info", "z", "morph", "grid", "train", "eval"}


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    missing = [" ".join(path) for path in ALL if "Example" not in runner.invoke(app, [*path, "--help"]).output]
    assert missing == []
