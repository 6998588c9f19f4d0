"""Every command and subcommand of `journey` documents itself."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from cli import main


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(click.Context(command))):
            sub = command.get_command(click.Context(command), name)
            assert sub is not None, f"{' '.join(path + (name,))}: listed but not found"
            yield from walk(sub, path + (name,))


COMMANDS = list(walk(main))


def test_the_group_has_the_contract_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in (
        "server",
        "worker",
        "up",
        "enroll",
        "import",
        "event",
        "health",
        "status",
        "list",
        "tasks",
        "done",
        "playbook",
        "playbook validate",
        "playbook show",
        "playbook diagram",
    ):
        assert expected in names, f"`journey {expected}` is missing"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "journey" for p, _ in COMMANDS])
def test_help(path: tuple[str, ...], command: click.Command) -> None:
    text = (command.help or "").strip()
    assert text, f"`journey {' '.join(path)}` has no help text"
    if path:
        assert (command.get_short_help_str() or "").strip(), f"`journey {' '.join(path)}` has no short help"
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="journey", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Usage: {' '.join(('journey', *path))}" in result.output
    # The first line of the docstring is shown.
    assert text.splitlines()[0].split()[0] in result.output
