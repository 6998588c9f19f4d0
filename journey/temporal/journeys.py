"""Client-side operations on journeys: enroll, send events, read status, search.

The CLI calls these; so do the benchmarks, the simulation and the tests. Each takes a
connected client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import RawValue, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from journey.domain import names
from journey.domain.errors import InputError, NotFound
from journey.domain.events import event_name_for_cli
from journey.domain.models import Account, JourneyStatus
from journey.domain.team import DEFAULT_TEAM, Team
from journey.domain.text import code, markdown
from journey.temporal.errors import JourneyUnavailable
from journey.temporal.repair import Diagnosis, JourneyStuck, diagnose, reported_problems_clause
from workflows import search_attributes as sa
from workflows.messages import JourneyInput

# How long an event's update may take to be answered; a healthy journey answers in well
# under a second.
UPDATE_ANSWER_TIMEOUT_S = 30.0


class JourneyNotFound(NotFound):
    """No journey (running or ended) has this account's id."""


class EventRejected(InputError):
    """The journey refused the event (its validator's message says why)."""


@dataclass
class EnrollReport:
    started: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def static_summary(account: Account) -> str:
    """The Web UI's one-line summary (markdown: the name is escaped)."""
    return f"{markdown(account.name)} · {account.segment.value} · tier {account.tier} · {account.engagement_model.value}"


def static_details(account: Account) -> str:
    """The enrollment facts the summary (name, segment, tier, model) does not already show."""
    return (
        f"{code(account.id)} · {account.seats} seats · ARR {account.arr:,.0f} · {account.deployment.value}\n\n"
        f"Signed {account.signed} · renewal {account.renewal} · TA {markdown(account.ta)} · AE {markdown(account.ae)}"
    )


def journey_input(account: Account, today: date | None = None, team: Team | None = None) -> RawValue:
    """The start input, as JSON without the fields that hold their default value (a
    `JourneyInput` all the same when read back): about 100 bytes less in every start
    request and every journey's first history event."""
    routing = None if team == DEFAULT_TEAM else team
    data = JourneyInput(account=account, today=today, team=routing).model_dump_json(exclude_defaults=True).encode()
    return RawValue(Payload(metadata=_JSON_PLAIN, data=data))


_JSON_PLAIN = {"encoding": b"json/plain"}


async def enroll_one(
    client: Client,
    account: Account,
    *,
    today: date | None = None,
    task_queue: str = names.TASK_QUEUE,
    team: Team | None = None,
) -> bool:
    """Start the account's journey; False when it already has one (running or ended)."""
    try:
        await client.start_workflow(
            names.Workflow.ACCOUNT_JOURNEY,
            journey_input(account, today, team),
            id=names.journey_workflow_id(account.id),
            task_queue=task_queue,
            search_attributes=sa.typed_attributes(account),
            static_summary=static_summary(account),
            static_details=static_details(account),
            # Importing the same file twice must change nothing, even for ended journeys.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def enroll_many(
    client: Client,
    accounts: Iterable[Account],
    *,
    today: date | None = None,
    task_queue: str = names.TASK_QUEUE,
    team: Team | None = None,
    concurrency: int = 64,
    progress: Callable[[int], None] | None = None,
) -> EnrollReport:
    """The bulk path: starts run concurrently, bounded so the server is never flooded."""
    report = EnrollReport()
    limit = asyncio.Semaphore(concurrency)

    async def one(account: Account) -> None:
        async with limit:
            started = await enroll_one(client, account, today=today, task_queue=task_queue, team=team)
        (report.started if started else report.existing).append(account.id)
        if progress:
            progress(1)

    await asyncio.gather(*(one(account) for account in accounts))
    return report


async def send_event(
    client: Client, account_id: str, event: str, data: dict[str, Any], *, timeout: float = UPDATE_ANSWER_TIMEOUT_S
) -> JourneyStatus:
    """Send one event's update and return the journey's status once it is written;
    `JourneyUnavailable` when no answer comes within `timeout` seconds."""
    handle = client.get_workflow_handle(names.journey_workflow_id(account_id))
    try:
        # Without a worker the server holds an update for ever: the caller hears why instead.
        return await asyncio.wait_for(handle.execute_update(event, data, result_type=JourneyStatus), timeout)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):  # the SDK's word for the same, once cancelled
        raise JourneyUnavailable(
            f"{handle.id} did not answer {event_name_for_cli(event)} within {timeout:g} s: is a worker "
            "running (`journey worker`)? The event may still be applied when one picks it up"
        ) from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = getattr(cause, "message", None) or str(cause)
        raise EventRejected(f"{account_id}: {event_name_for_cli(event)} rejected: {message}") from None
    except RPCError as err:
        raise await _refusal(client, account_id, err) from None


async def journey_status(client: Client, account_id: str, rpc_timeout: timedelta | None = None) -> JourneyStatus:
    """The journey's `status` query. `JourneyStuck` (with the failure) when its workflow
    task keeps failing, `JourneyUnavailable` when it cannot answer otherwise."""
    workflow_id = names.journey_workflow_id(account_id)
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.query(names.Query.STATUS, result_type=JourneyStatus, rpc_timeout=rpc_timeout)
    except RPCError as err:
        raise await _refusal(client, account_id, err) from None
    except WorkflowQueryFailedError as err:
        raise JourneyUnavailable(f"{workflow_id} could not answer its status: {err}") from None


async def _refusal(client: Client, account_id: str, err: RPCError) -> Exception:
    """What a refused query or update means. The server refuses both, as a failed
    precondition, to a run whose workflow task keeps failing: `JourneyStuck` then."""
    if err.status != RPCStatusCode.NOT_FOUND:
        diagnosis = await _diagnosis_or_none(client, names.journey_workflow_id(account_id))
        if diagnosis is not None and diagnosis.failure is not None:
            return JourneyStuck(diagnosis.failure)
    return _not_found(account_id, err)


async def _diagnosis_or_none(client: Client, workflow_id: str) -> Diagnosis | None:
    try:
        return await diagnose(client, workflow_id)
    except RPCError:
        return None


async def journey_diagnosis(client: Client, account_id: str) -> Diagnosis:
    """The journey's current run and, when its workflow task keeps failing, the failure."""
    try:
        return await diagnose(client, names.journey_workflow_id(account_id))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise JourneyNotFound(f"no journey for account {account_id!r}") from None
        raise


def _not_found(account_id: str, err: RPCError) -> Exception:
    if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
        return JourneyNotFound(f"no running journey for account {account_id!r} ({err.message})")
    return err


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def visibility_query(
    *, stage: str | None = None, segment: str | None = None, health: str | None = None,
    ta: str | None = None, model: str | None = None, running_only: bool = True,
) -> str:
    clauses = [f"WorkflowType = {_quote(names.Workflow.ACCOUNT_JOURNEY)}"]
    if running_only:
        clauses.append("ExecutionStatus = 'Running'")
    for key, value in (
        (sa.STAGE, stage),
        (sa.SEGMENT, segment),
        (sa.HEALTH, health),
        (sa.TA, ta),
        (sa.MODEL, model),
    ):
        if value is not None:
            clauses.append(f"{key.name} = {_quote(value)}")
    return " AND ".join(clauses)


async def list_journeys(client: Client, query: str, limit: int | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async for execution in client.list_workflows(query, limit=limit):
        attrs = execution.typed_search_attributes
        renewal = attrs.get(sa.RENEWAL)
        rows.append(
            {
                "account": names.account_of_workflow_id(execution.id),
                "workflow_id": execution.id,
                "status": WorkflowExecutionStatus(execution.status).name.lower() if execution.status else None,
                "stage": attrs.get(sa.STAGE),
                "health": attrs.get(sa.HEALTH),
                "segment": attrs.get(sa.SEGMENT),
                "tier": attrs.get(sa.TIER),
                "engagement_model": attrs.get(sa.MODEL),
                "ta": attrs.get(sa.TA),
                "renewal_date": renewal.date().isoformat() if renewal else None,
            }
        )
    rows.sort(key=lambda r: r["account"])
    return rows


async def stuck_journeys(
    client: Client, query: str, limit: int | None = None, *, scan: bool = False, concurrency: int = 16
) -> list[dict[str, Any]]:
    """The running journeys of `query` whose workflow task keeps failing: `list_journeys`'
    rows, each with its failure (`TaskFailure.document`). Temporal's reported problems
    find them (`scan` looks at every journey of `query` instead); each one's description
    and history confirm it and say what failed."""
    rows = None
    if not scan:
        try:
            rows = await list_journeys(client, f"{query} AND {reported_problems_clause()}")
        except RPCError as err:
            # A server older than 1.30 has no such attribute: look at every journey.
            if err.status != RPCStatusCode.INVALID_ARGUMENT:
                raise
    if rows is None:
        rows = await list_journeys(client, query)
    gate = asyncio.Semaphore(concurrency)

    async def failure_of(row: dict[str, Any]) -> dict[str, Any] | None:
        async with gate:
            diagnosis = await _diagnosis_or_none(client, row["workflow_id"])
        if diagnosis is None or diagnosis.failure is None:
            return None  # it recovered since visibility saw it, or it is gone
        return {**row, **diagnosis.failure.document()}

    found = [row for row in await asyncio.gather(*(failure_of(row) for row in rows)) if row is not None]
    return found[:limit] if limit else found
