"""Shared pieces of the `journey` commands: option decorators, choices, output, clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, TypeVar

import click

from journey.domain.enums import EngagementModel, Health, Segment, Stage, values
from journey.domain.numbers import figure

T = TypeVar("T")

STAGES = values(Stage)
SEGMENTS = values(Segment)
COLORS = values(Health)
MODELS = values(EngagementModel)


class BadInput(click.ClickException):
    """Bad input: exit status 2, like a usage error, and nothing was written."""

    exit_code = 2


class Failure(click.ClickException):
    """The command could not do its work (a server unreachable, journeys that refused)."""

    exit_code = 1


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)


def today_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--on",
        "on",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="The date it happened (YYYY-MM-DD); default: today.",
    )(func)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Rows as aligned columns. Numbers read as people read them (`journey.domain.numbers`):
    ratios (utilization, adoption, retention, ...) as percentages, money (ARR) with
    thousands separators, NPS in points; `--json` keeps the raw numbers."""
    if not rows:
        click.echo("(none)")
        return
    cells = [{c: _cell(c, r.get(c)) for c in columns} for r in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in cells:
        click.echo("  ".join(row[c].ljust(widths[c]) for c in columns))


def _cell(column: str, value: Any) -> str:
    return figure(column, value)


def connected(func: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Run an async command body with a connected Temporal client as its first argument."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        from journey.temporal.client import connect

        async def body() -> T:
            return await func(await connect(), *args, **kwargs)

        return run(body())

    return wrapper


def open_store() -> Any:
    from journey.store import Store

    return Store.open()


class DefaultCommandGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to its default
    command (`journey plan ACCOUNT` is `journey plan show ACCOUNT`). Subclasses name the
    default (`DEFAULT`), whether no argument at all runs it (`BARE_RUNS_DEFAULT`), the usage
    lines (`USAGE`, with `{path}` for the command path) and the heading of the default's
    options in the help (`DEFAULT_OPTIONS`, likewise)."""

    DEFAULT = ""
    BARE_RUNS_DEFAULT = False
    USAGE: tuple[str, ...] = ()
    DEFAULT_OPTIONS = "Options of {path}"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        bare = not args and self.BARE_RUNS_DEFAULT
        if bare or (args and args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [self.DEFAULT, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        path = ctx.command_path
        lines = [f"{'Usage:' if i == 0 else '      '} {line.format(path=path)}" for i, line in enumerate(self.USAGE)]
        formatter.write("\n".join(lines) + "\n")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The default command's options, then the subcommands.
        default = self.commands[self.DEFAULT]
        options = [p for p in default.get_params(ctx) if isinstance(p, click.Option)]
        records = [r for r in (p.get_help_record(ctx) for p in options) if r is not None]
        with formatter.section(self.DEFAULT_OPTIONS.format(path=ctx.command_path)):
            formatter.write_dl(records)
        self.format_commands(ctx, formatter)
