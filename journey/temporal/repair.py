"""Journeys whose workflow task keeps failing: what failed, since when, and the reset that
takes such a journey back to its last good point once the cause is fixed.

An exception other than `ApplicationError` in a workflow task is retried by the SDK for
ever: the journey still runs, but it makes no progress, answers no query and takes no
event. Temporal says so in three places, all read here: the execution's description (the
pending workflow task's attempt), its history (each failure, and the last task that
completed) and, from server 1.30, the `TemporalReportedProblems` search attribute that
`journey list --stuck` searches.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryReverseRequest,
    ResetWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus

from journey.domain import names
from journey.temporal.codec import UnreadablePayload
from journey.temporal.errors import JourneyUnavailable

# The reset points, as `TaskFailure.reset_point` and `--json` name them.
LAST_COMPLETED = "last-completed-task"
EARLIER_RESET = "earlier-reset"
FIRST_TASK = "first-task"

# A workflow task at its second attempt has failed (or timed out) once: the server retries
# it until the code gets past it, which for a deterministic error is never.
STUCK_FROM_ATTEMPT = 2

# How much of a failure message a one-line report shows.
MESSAGE_CHARS = 300

_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
_TIMED_OUT = EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


class JourneyStuck(JourneyUnavailable):
    """The journey's workflow task keeps failing."""

    def __init__(self, failure: TaskFailure) -> None:
        self.failure = failure
        super().__init__(
            f"{failure.workflow_id} is stuck: {failure.summary()}. Fix the cause, then run "
            f"`journey repair {failure.account}`"
        )


@dataclass(frozen=True)
class TaskFailure:
    """The workflow task a journey cannot get past, and the point a reset goes back to."""

    workflow_id: str
    run_id: str
    attempts: int
    message: str
    cause: str | None
    since: datetime | None
    reset_event_id: int
    reset_event_time: datetime | None
    # LAST_COMPLETED, EARLIER_RESET (where an earlier reset went back to, when no task has
    # completed since) or FIRST_TASK (no task of the run ever completed).
    reset_point: str

    @property
    def account(self) -> str:
        return names.account_of_workflow_id(self.workflow_id)

    def summary(self) -> str:
        since = f" since {_when(self.since)}" if self.since else ""
        return f"its workflow task has failed{since}, attempt {self.attempts}: {self.message}"

    def document(self) -> dict[str, Any]:
        """The fields `list --stuck --json` adds to a row and `repair --json` reports."""
        return {
            "run_id": self.run_id,
            "attempts": self.attempts,
            "failure": self.message,
            "cause": self.cause,
            "since": self.since.isoformat() if self.since else None,
            "reset_event_id": self.reset_event_id,
            "reset_point": self.reset_point,
        }


@dataclass(frozen=True)
class Diagnosis:
    """A journey's current run, as Temporal describes it."""

    workflow_id: str
    run_id: str
    status: str
    failure: TaskFailure | None


def reported_problems_clause() -> str:
    """The visibility clause of executions whose workflow task keeps failing or timing out."""
    values = ", ".join(f"'{value}'" for value in names.WORKFLOW_TASK_PROBLEMS)
    return f"{names.REPORTED_PROBLEMS} IN ({values})"


async def diagnose(client: Client, workflow_id: str, run_id: str | None = None) -> Diagnosis:
    """The run's status and, when its workflow task keeps failing, the failure. Without
    `run_id`, the current run (the one a reset started, after a reset). Raises the SDK's
    `RPCError` (NOT_FOUND when there is no such workflow)."""
    description = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
    status = WorkflowExecutionStatus(description.status).name.lower() if description.status else "unknown"
    pending = description.raw_description.pending_workflow_task
    failure = None
    if description.status == WorkflowExecutionStatus.RUNNING and pending.attempt >= STUCK_FROM_ATTEMPT:
        failure = await _failure(client, workflow_id, description.run_id, pending.attempt)
    return Diagnosis(workflow_id=workflow_id, run_id=description.run_id, status=status, failure=failure)


async def _failure(client: Client, workflow_id: str, run_id: str, attempts: int) -> TaskFailure | None:
    failures, good = await _since_last_good_point(client, workflow_id, run_id)
    if not failures:
        # The server writes a streak's failures to history after counting the attempt:
        # none yet (the description was read first) is not stuck yet.
        return None
    latest, first = failures[0], failures[-1]
    reset_to = good if good is not None else first
    if good is None:
        point = FIRST_TASK
    else:
        point = LAST_COMPLETED if good.event_type == _COMPLETED else EARLIER_RESET
    return TaskFailure(
        workflow_id=workflow_id,
        run_id=run_id,
        attempts=attempts,
        message=await _message(client, latest),
        cause=_cause(latest),
        since=_time(first),
        reset_event_id=reset_to.event_id,
        reset_event_time=_time(reset_to),
        reset_point=point,
    )


async def _since_last_good_point(
    client: Client, workflow_id: str, run_id: str
) -> tuple[list[HistoryEvent], HistoryEvent | None]:
    """Reading the history backwards: the task failures since the last good point (newest
    first), and that point: the last completed workflow task's completion, or the mark of
    an earlier reset, which went back to a good point itself (None: neither, the run
    failed from its first task on)."""
    failures: list[HistoryEvent] = []
    token = b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history_reverse(
            GetWorkflowExecutionHistoryReverseRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                maximum_page_size=200,
                next_page_token=token,
            )
        )
        for event in page.history.events:
            if event.event_type == _COMPLETED or _is_reset_mark(event):
                return failures, event
            if _is_task_problem(event):
                failures.append(event)
        token = page.next_page_token
        if not token:
            return failures, None


def _is_reset_mark(event: HistoryEvent) -> bool:
    """A reset writes a task failure of this cause at its reset point in the new run."""
    cause = event.workflow_task_failed_event_attributes.cause
    return event.event_type == _FAILED and cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW


def _is_task_problem(event: HistoryEvent) -> bool:
    if event.event_type == _FAILED:
        return True
    if event.event_type == _TIMED_OUT:
        # A task that waited for a worker (a sticky worker gone) is not a task that failed.
        return event.workflow_task_timed_out_event_attributes.timeout_type != TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    return False


async def _message(client: Client, event: HistoryEvent) -> str:
    if event.event_type == _TIMED_OUT:
        kind = TimeoutType.Name(event.workflow_task_timed_out_event_attributes.timeout_type)
        return f"the workflow task timed out ({kind.removeprefix('TIMEOUT_TYPE_').lower().replace('_', '-')})"
    messages = await _failure_messages(client, event.workflow_task_failed_event_attributes.failure)
    # One line for a terminal: a message may come from data (control characters, bidi overrides).
    line = "".join(ch for ch in " ".join(": ".join(messages).split()) if ch.isprintable()) or "(no message)"
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…"


async def _failure_messages(client: Client, failure: Failure) -> list[str]:
    """The failure's message and its causes' (the SDK's message is often a wrapper, "Failed
    decoding arguments": its causes say what), decrypted when payloads are encrypted."""
    decoded = Failure()
    decoded.CopyFrom(failure)
    try:
        error: BaseException | None = await client.data_converter.decode_failure(decoded)
    except UnreadablePayload as err:
        return [f"(the failure's message is encrypted: {err})"]
    messages: list[str] = []
    while error is not None and len(messages) < 4:
        message = getattr(error, "message", None) or ""
        if not message:
            break
        messages.append(message)
        error = error.__cause__
    return messages


def _cause(event: HistoryEvent) -> str | None:
    if event.event_type != _FAILED:
        return None
    name = WorkflowTaskFailedCause.Name(event.workflow_task_failed_event_attributes.cause)
    return name.removeprefix("WORKFLOW_TASK_FAILED_CAUSE_").lower().replace("_", "-")


def _time(event: HistoryEvent) -> datetime | None:
    return event.event_time.ToDatetime(tzinfo=UTC) if event.HasField("event_time") else None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_reset_point(failure: TaskFailure) -> str:
    at = f", at {_when(failure.reset_event_time)}" if failure.reset_event_time else ""
    if failure.reset_point == LAST_COMPLETED:
        return f"event {failure.reset_event_id}, the last workflow task that completed{at}"
    if failure.reset_point == EARLIER_RESET:
        return f"event {failure.reset_event_id}, where an earlier reset went back to{at}"
    return f"event {failure.reset_event_id}, the run's first workflow task{at} (no task of this run ever completed)"


async def reset_to_last_good_point(client: Client, failure: TaskFailure, reason: str) -> str:
    """Reset the stuck run to its last good point (`TaskFailure.reset_point`); returns the
    new run's id. The new run replays the history up to there and
    runs that task again with the code workers have now; what came after it (the failing
    task, an update waiting on it) is dropped. Asking again for the same run and point is
    the same reset (the request id says so), not a second one."""
    request = ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=failure.workflow_id, run_id=failure.run_id),
        reason=reason,
        workflow_task_finish_event_id=failure.reset_event_id,
        request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"journey-repair:{failure.workflow_id}:{failure.run_id}:{failure.reset_event_id}")),
    )
    response = await client.workflow_service.reset_workflow_execution(request)
    return str(response.run_id)


# What became of a reset run: it completed a workflow task, it fails again, or no worker
# has taken its task yet.
PROGRESSING = "progressing"
FAILING = "failing"
WAITING = "waiting"


async def await_progress(
    client: Client, workflow_id: str, run_id: str, after_event_id: int, timeout: float, interval: float = 0.5
) -> tuple[str, TaskFailure | None]:
    """Watch the reset run until a workflow task completes past the reset point, or fails
    again, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        diagnosis = await diagnose(client, workflow_id, run_id)
        if diagnosis.failure is not None:
            return FAILING, diagnosis.failure
        _, good = await _since_last_good_point(client, workflow_id, run_id)
        completed = good is not None and good.event_type == _COMPLETED and good.event_id > after_event_id
        if diagnosis.status != "running" or completed:
            return PROGRESSING, None
        if time.monotonic() >= deadline:
            return WAITING, None
        await asyncio.sleep(interval)
