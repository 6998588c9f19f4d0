"""`journey playbook apply`: roll changed playbooks out to the journeys already running.

Every file is validated first; then each running journey of the playbook's engagement
model (found through Temporal visibility) gets the `apply_playbook` update. A journey
keeps what it has done: occurrences already handled stay handled (they are keyed by
date), open tasks stay open, and what falls due from now on follows the new playbook.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from journey.commands.common import MODELS, BadInput, Failure, connected, echo_json, json_option

if TYPE_CHECKING:  # the Temporal client is imported when a command runs, not for --help
    from temporalio.client import Client

    from journey.playbook import Playbook


@dataclass
class ApplyReport:
    applied: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def merge(self, other: ApplyReport) -> None:
        self.applied += other.applied
        self.failed += other.failed


async def apply_playbook(
    client: Client,
    playbook: Playbook,
    accounts: Iterable[str],
    *,
    concurrency: int = 32,
    progress: Callable[[int], None] | None = None,
) -> ApplyReport:
    """Send `apply_playbook` to the journey of each account; a refusal (another model, an
    ended journey, no journey) is reported per account and does not stop the others."""
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from journey import constants as names
    from journey.models import JourneyStatus
    from workflows.messages import PlaybookUpdate

    report = ApplyReport()
    limit = asyncio.Semaphore(concurrency)
    update = PlaybookUpdate(playbook=playbook)

    async def one(account: str) -> None:
        handle = client.get_workflow_handle(names.journey_workflow_id(account))
        try:
            async with limit:
                status = await handle.execute_update("apply_playbook", update, result_type=JourneyStatus)
            if status.playbook_version != playbook.version:
                raise RuntimeError(f"still on playbook {status.playbook_version}")
            report.applied.append(account)
        except WorkflowUpdateFailedError as err:
            report.failed.append({"account": account, "error": getattr(err.cause, "message", None) or str(err.cause)})
        except (RPCError, RuntimeError) as err:
            report.failed.append({"account": account, "error": getattr(err, "message", None) or str(err)})
        finally:
            if progress:
                progress(1)

    await asyncio.gather(*(one(account) for account in accounts))
    report.applied.sort()
    report.failed.sort(key=lambda f: f["account"])
    return report


async def running_accounts(client: Client, model: str) -> list[str]:
    """The accounts whose journey is running with this engagement model (visibility)."""
    from journey.operations import list_journeys, visibility_query

    return [row["account"] for row in await list_journeys(client, visibility_query(model=model))]


def read_playbooks(sources: Iterable[str]) -> list[tuple[str, Playbook]]:
    """Each MODEL (the bundled playbooks/<model>.toml) or FILE, validated; one per model."""
    from journey.playbook import PlaybookError, load_playbook
    from playbooks import DEFAULT_DIR

    loaded: list[tuple[str, Playbook]] = []
    problems: list[str] = []
    for source in sources:
        path = DEFAULT_DIR / f"{source}.toml" if source in MODELS and not Path(source).exists() else Path(source)
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


@click.command(name="apply")
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
