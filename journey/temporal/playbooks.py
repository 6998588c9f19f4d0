"""Rolling changed playbooks out to the journeys already running: each running journey of
the playbook's engagement model (found through Temporal visibility) gets the
`apply_playbook` update. A journey keeps what it has done: occurrences already handled
stay handled (they are keyed by date), open tasks stay open, and what falls due from now
on follows the new playbook.

Each journey answers in well under a second (an update never waits for a receiver); one
that does not answer within UPDATE_TIMEOUT_S is asked its status, and counts as applied
only if it is on the new playbook. The report says, per journey, what really happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from journey.domain import names
from journey.domain.models import JourneyStatus
from journey.domain.playbook import Playbook
from journey.temporal.journeys import list_journeys, visibility_query
from workflows.messages import PlaybookUpdate

# How long one journey may take to answer the update, and then its status query.
UPDATE_TIMEOUT_S = 20.0
QUERY_TIMEOUT_S = 10.0


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
                status = await _apply_one(handle, update)
            if status.playbook_version != playbook.version:
                raise RuntimeError(f"still on playbook {status.playbook_version}")
            report.applied.append(account)
        except WorkflowUpdateFailedError as err:
            report.failed.append({"account": account, "error": getattr(err.cause, "message", None) or str(err.cause)})
        except (RPCError, RPCTimeoutOrCancelledError, RuntimeError) as err:
            report.failed.append({"account": account, "error": getattr(err, "message", None) or str(err) or type(err).__name__})
        finally:
            if progress:
                progress(1)

    await asyncio.gather(*(one(account) for account in accounts))
    report.applied.sort()
    report.failed.sort(key=lambda f: f["account"])
    return report


async def _apply_one(handle: WorkflowHandle[Any, Any], update: PlaybookUpdate) -> JourneyStatus:
    """The journey's status after the update; when its answer does not come in time, the
    status it reports now (it may have taken the playbook without the answer arriving)."""
    try:
        return await asyncio.wait_for(
            handle.execute_update(names.Update.APPLY_PLAYBOOK, update, result_type=JourneyStatus), UPDATE_TIMEOUT_S
        )
    except (TimeoutError, RPCTimeoutOrCancelledError) as err:
        silent = f"no answer to the update within {UPDATE_TIMEOUT_S:g} s ({type(err).__name__})"
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise
        silent = f"the update got no answer: {err.message}"
    try:
        status = await asyncio.wait_for(handle.query(names.Query.STATUS, result_type=JourneyStatus), QUERY_TIMEOUT_S)
    except (TimeoutError, RPCError, RPCTimeoutOrCancelledError) as err:
        raise RuntimeError(f"{silent}, and no answer to the status query ({type(err).__name__}); it may still take it later") from err
    if status.playbook_version != update.playbook.version:
        raise RuntimeError(f"{silent}; still on playbook {status.playbook_version}")
    return status


async def running_accounts(client: Client, model: str) -> list[str]:
    """The accounts whose journey is running with this engagement model (visibility)."""
    return [row["account"] for row in await list_journeys(client, visibility_query(model=model))]
