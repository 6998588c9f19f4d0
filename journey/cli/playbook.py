"""`journey playbook`: validate, show, draw and roll out the playbooks and state machines.

`apply` validates every file first; then each running journey of the playbook's
engagement model (found through Temporal visibility) gets the `apply_playbook` update
(see journey.temporal.playbooks).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from journey.cli.common import MODELS, BadInput, Failure, connected, echo_json, json_option, table

if TYPE_CHECKING:  # the Temporal client is imported when a command runs, not for --help
    from temporalio.client import Client

    from journey.domain.playbook import Playbook


@click.group()
def playbook() -> None:
    """Validate, show and draw the playbooks and state machines."""


@playbook.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check playbook FILES (default: the four in playbooks/)."""
    from journey.config import playbooks_dir
    from journey.domain.playbook_files import PlaybookError, load_playbook

    paths: Iterable[Path] = files or [playbooks_dir() / f"{model}.toml" for model in MODELS]  # not health.toml
    failed = []
    for path in paths:
        try:
            book = load_playbook(path)
        except PlaybookError as err:
            failed.append(str(err))
            continue
        click.echo(f"{path}: ok ({book.model.value}, {len(book.touchpoints)} touchpoints, version {book.version})")
    if failed:
        raise BadInput("\n".join(failed))


@playbook.command()
@click.argument("model", type=click.Choice(MODELS))
@json_option
def show(model: str, as_json: bool) -> None:
    """Show MODEL's playbook: every touchpoint, when it fires and who owns it."""
    from journey.config import playbooks_dir
    from journey.domain.enums import EngagementModel
    from journey.domain.playbook_files import load_playbooks

    book = load_playbooks(playbooks_dir())[EngagementModel(model)]
    if as_json:
        echo_json(book.model_dump(mode="json") | {"version": book.version})
        return
    click.echo(f"{book.title or book.model.value} (version {book.version})")
    rows = []
    for tp in book.touchpoints:
        when = f"{tp.anchor.value}{tp.offset_days:+d}d"
        if tp.recurrence:
            when += f", every {tp.recurrence.interval} {tp.recurrence.every.value}"
            if tp.recurrence.count:
                when += f" x{tp.recurrence.count}"
        if tp.milestones:
            when = "utilization " + "/".join(f"{m:.0%}" for m in tp.milestones)
        rows.append({
            "touchpoint": tp.id, "owner": tp.owner.value, "channel": tp.channel.value, "when": when,
            "stages": ",".join(s.value for s in tp.stages) or "any",
            "tiers": ",".join(map(str, tp.tiers)) or "all",
        })
    table(rows, ["touchpoint", "owner", "channel", "when", "stages", "tiers"])


@playbook.command()
@click.option("--machine", type=click.Choice(["lifecycle", "health", "both"]), default="both", show_default=True)
def diagram(machine: str) -> None:
    """Print the lifecycle and health state machines as Mermaid."""
    from journey.domain.machines import mermaid_health, mermaid_lifecycle

    # One diagram per machine, each a document of its own (paste either into Mermaid).
    diagrams = {"lifecycle": mermaid_lifecycle, "health": mermaid_health}
    for name, draw in diagrams.items():
        if machine in (name, "both"):
            click.echo(draw())


@playbook.command()
def schema() -> None:
    """Print the JSON Schema of playbook files, for editors."""
    from journey.domain.playbook import playbook_json_schema

    echo_json(playbook_json_schema())


def read_playbooks(sources: Iterable[str]) -> list[tuple[str, Playbook]]:
    """Each MODEL (the bundled playbooks/<model>.toml) or FILE, validated; one per model."""
    from journey.config import playbooks_dir
    from journey.domain.playbook_files import PlaybookError, load_playbook

    loaded: list[tuple[str, Playbook]] = []
    problems: list[str] = []
    for source in sources:
        path = playbooks_dir() / f"{source}.toml" if source in MODELS and not Path(source).exists() else Path(source)
        try:
            playbook = load_playbook(path)
        except PlaybookError as err:
            problems.append(str(err))
            continue
        twice = [str(p) for p, book in loaded if book.model is playbook.model]
        if twice:
            problems.append(f"{path}: a second {playbook.model.value} playbook (after {twice[0]}); give one per model")
            continue
        loaded.append((str(path), playbook))
    if problems:
        raise BadInput("\n".join(problems))
    return loaded


@playbook.command(name="apply")
@click.argument("sources", nargs=-1, required=True, metavar="MODEL|FILE...")
@json_option
def apply_command(sources: tuple[str, ...], as_json: bool) -> None:
    """Apply playbooks to the running journeys of their engagement model.

    Each argument is an engagement model (its playbook in playbooks/) or a playbook file.
    All are validated first; nothing is sent if any is invalid. Journeys keep what they
    have done; what falls due from now on follows the new playbook.
    """
    playbooks = read_playbooks(sources)
    summary = _apply(playbooks, progress=not as_json)
    if as_json:
        echo_json(summary)
    else:
        for book in summary["playbooks"]:
            click.echo(f"{book['source']}: {book['model']} version {book['version']}, {book['journeys']} running journeys")
        click.echo(f"applied to {len(summary['applied'])}, failed {len(summary['failed'])}")
        for failure in summary["failed"]:
            click.echo(f"  {failure['account']}: {failure['error']}", err=True)
    if summary["failed"]:
        raise Failure(f"{len(summary['failed'])} journeys did not take the new playbook")


@connected
async def _apply(client: Client, playbooks: list[tuple[str, Playbook]], progress: bool) -> dict[str, Any]:
    from journey.temporal.playbooks import ApplyReport, apply_playbook, running_accounts

    report = ApplyReport()
    books = []
    for source, playbook in playbooks:
        accounts = await running_accounts(client, playbook.model.value)
        books.append({"source": source, "model": playbook.model.value, "version": playbook.version, "journeys": len(accounts)})
        if progress and accounts:
            with click.progressbar(length=len(accounts), label=f"applying {playbook.model.value}", file=sys.stderr) as bar:
                report.merge(await apply_playbook(client, playbook, accounts, progress=bar.update))
        else:
            report.merge(await apply_playbook(client, playbook, accounts))
    return {"playbooks": books, "applied": report.applied, "failed": report.failed}
