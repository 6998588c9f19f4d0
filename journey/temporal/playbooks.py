"""Rolling changed playbooks out to the journeys already running: each running journey of
the playbook's engagement model (found through Temporal visibility) gets the
`apply_playbook` update. A journey keeps what it has done: occurrences already handled
stay handled (they are keyed by date), open tasks stay open, and what falls due from now
on follows the new playbook."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from journey.domain import names
from journey.domain.models import JourneyStatus
from journey.domain.playbook import Playbook
from journey.temporal.journeys import list_journeys, visibility_query
from workflows.messages import PlaybookUpdate


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
    report = ApplyReport()
    limit = asyncio.Semaphore(concurrency)
    update = PlaybookUpdate(playbook=playbook)

    async def one(account: str) -> None:
        handle = client.get_workflow_handle(names.journey_workflow_id(account))
        try:
            async with limit:
                status = await handle.execute_update(names.Update.APPLY_PLAYBOOK, update, result_type=JourneyStatus)
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
    return [row["account"] for row in await list_journeys(client, visibility_query(model=model))]
