"""Every command says what it does in --help (the CLI contract of DESIGN §8)."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if hasattr(command, "commands"):  # a group of sub-commands
            found.extend(_commands(command, path))
    return found


ROOT: Any = typer.main.get_command(app)
ALL_COMMANDS = _commands(ROOT)


def test_contract_commands_exist() -> None:
    for path in [
        ("serve",),
        ("worker",),
        ("db", "upgrade"),
        ("db", "downgrade"),
        ("seed", "demo"),
        ("loan-math", "apr"),
        ("loan-math", "schedule"),
    ]:
        assert path in ALL_COMMANDS


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    command = ROOT
    for name in path:
        command = command.commands[name]
    assert command.help or command.short_help, f"`omnifin {' '.join(path)}` has no help text"
    assert (command.help or "").split("\n")[0] in " ".join(result.output.split())


def test_serve_options_match_the_contract() -> None:
    output = " ".join(runner.invoke(app, ["serve", "--help"]).output.split())
    for option in ("--host", "--port", "--no-worker"):
        assert option in output
