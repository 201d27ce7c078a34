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


def _params(path):
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {param.name: param for param in command.params}


def test_option_groups_give_every_command_the_same_flags():
    """A group of options (cli.options.option_groups) reaches each command that takes it whole, with one
    help text, and a group field without a default stays a required option."""
    trains = [path for path in ALL if path[0] == "train"]
    assert len(trains) >= 4
    for path in trains:
        assert {"preset", "steps", "resume", "seed", "device", "threads", "as_json", "quiet"} <= set(_params(path))
    assert len({_params(path)["steps"].help for path in trains}) == 1
    for path in (("render",), ("grid",), ("morph",)):
        assert {"zoom", "center", "supersample", "chunk", "device", "force", "cluster", "as_json"} <= set(_params(path))
    for path in [path for path in ALL if path[0] == "z"]:
        out = _params(path)["out"]
        assert out.required, path
