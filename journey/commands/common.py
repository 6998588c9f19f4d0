"""Shared pieces of the `journey` commands: errors with exit codes, output, options, clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import click

T = TypeVar("T")

STAGES = ["signed", "kickoff", "onboarding", "adoption", "steady", "renewal", "renewed", "churned"]
SEGMENTS = ["strategic", "large-enterprise", "small-enterprise", "commercial"]
COLORS = ["green", "yellow", "red"]
MODELS = ["enterprise", "scaled", "pooled", "digital"]


class BadInput(click.ClickException):
    """Bad input: exit status 2, like a usage error, and nothing was written."""

    exit_code = 2


class Failure(click.ClickException):
    exit_code = 1


# ----- shared plumbing -----


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


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
    if not rows:
        click.echo("(none)")
        return
    widths = {c: max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(_cell(row.get(c)).ljust(widths[c]) for c in columns))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def connected(func: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Run an async command body with a Temporal client, turning failures into clear errors."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        from journey.client import connect
        from journey.operations import EventRejected, JourneyNotFound

        async def body() -> T:
            try:
                client = await connect()
            except RuntimeError as err:
                from journey.client import connect_config

                target = connect_config().get("target_host")
                raise Failure(
                    f"cannot reach Temporal at {target}: {err}. Start it with `journey up` "
                    f"(or `journey server`), or set TEMPORAL_ADDRESS."
                ) from None
            return await func(client, *args, **kwargs)

        state["temporal"] = True
        try:
            return run(body())
        except EventRejected as err:
            raise BadInput(str(err)) from None
        except JourneyNotFound as err:
            raise BadInput(str(err)) from None

    return wrapper


def open_store() -> Any:
    from journey.store import Store

    return Store.open()


# Set once a command has talked to Temporal (see `cli.entry`).
state: dict[str, bool] = {"temporal": False}
