"""The worker's assembly: every workflow and activity of `journey`, in one place."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf.message import Message
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import PayloadConverter
from temporalio.worker import (
    ExecuteWorkflowInput,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInstance,
    WorkflowInstanceDetails,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.delivery import DeliveryActivities
from activities.health import HealthActivities
from activities.reminders import ReminderActivities
from activities.store import StoreActivities
from journey.config import DeliverySettings
from journey.constants import TASK_QUEUE
from journey.store import Store
from workflows.account_journey import AccountJourney
from workflows.health_sweep import HealthSweep
from workflows.red_account import RedAccountRemediation
from workflows.reminders import TaskReminderSweep

WORKFLOWS = [AccountJourney, RedAccountRemediation, TaskReminderSweep, HealthSweep]

# Modules imported once, outside the per-run sandbox. Re-importing the workflow modules
# and `transitions` for every cached journey cost ~230 KiB each in a worker (measured
# with bench/enroll.py); passed through, ~100 KiB. The price: the sandbox no longer
# proxies what these modules import, so their determinism rests on the code rules
# (workflow.now(), no I/O) and the replay tests over recorded histories.
PASSTHROUGH = ("journey", "transitions", "pydantic", "pydantic_core", "workflows")


_M = TypeVar("_M", bound=Message)


def _detached(message: _M) -> _M:
    """A copy of a protobuf sub-message in an arena of its own."""
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def _detached_map(payloads: Mapping[str, _M]) -> dict[str, _M]:
    return {key: _detached(value) for key, value in payloads.items()}


class _DetachStartHeaders(WorkflowInboundInterceptor):
    """Gives the workflow's start input a plain copy of the start headers.

    The SDK keeps the input for the life of the run, and its `headers` is a view into the
    decoded start activation, so it would keep that activation alive too."""

    def execute_workflow(self, input: ExecuteWorkflowInput) -> Awaitable[Any]:  # type: ignore[override]
        # Edited in place: this is the object the SDK keeps. Not a coroutine itself, so no
        # frame of ours stays suspended under every journey.
        input.headers = _detached_map(input.headers)
        return self.next.execute_workflow(input)


_SHARED_CONVERTERS: dict[Callable[[], PayloadConverter], Callable[[], PayloadConverter]] = {}


def _shared_converter(factory: Callable[[], PayloadConverter]) -> Callable[[], PayloadConverter]:
    """The SDK makes a payload converter for every run. The project's, pydantic's, keeps
    nothing but a cache of type adapters and takes no serialization context, so one per
    worker does: about 2 KiB less per cached journey, and its adapters are built once.
    Any other converter is left to the SDK."""
    data_converter = getattr(factory, "__self__", None)
    if getattr(data_converter, "payload_converter_class", None) is not PydanticPayloadConverter:
        return factory
    shared = _SHARED_CONVERTERS.get(factory)
    if shared is None:
        converter = factory()
        shared = _SHARED_CONVERTERS.setdefault(factory, lambda: converter)
    return shared


_KEYS: dict[SearchAttributeKey[Any], SearchAttributeKey[Any]] = {}


def _shared_keys(attributes: TypedSearchAttributes) -> TypedSearchAttributes:
    """The start's search attributes with one key object per attribute name for the whole
    worker, instead of one per run (~300 bytes each, seven per journey)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(
                _KEYS.setdefault(pair.key, pair.key),
                sys.intern(pair.value) if isinstance(pair.value, str) else pair.value,
            )
            for pair in attributes
        ]
    )


class JourneyWorkflowRunner(SandboxedWorkflowRunner):
    """The sandboxed runner, minus per-run memory the SDK (temporalio 1.35) spends on
    every cached workflow; about 14 KiB a journey, measured with bench/enroll.py.

    * Protobuf sub-messages share one memory arena with the message they came from. The
      SDK keeps a few of them from a run's first activation for the run's whole life (the
      last completion result, the start headers, memo and last failure), and each keeps
      the whole decoded activation alive: the start input, and for a journey the seven
      search attributes with a protobuf map per value (~10 KiB). Here each of those gets
      a small copy of its own, and the activation is freed once the SDK is done with it.
    * One payload converter per worker instead of one per run (`_shared_converter`).
    * One search attribute key object per name instead of seven per run (`_shared_keys`).

    Replay goes through the same runner (tests/workflows/test_replay.py)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        info = det.info
        det = dataclasses.replace(
            det,
            info=dataclasses.replace(
                info,
                headers=_detached_map(info.headers),
                raw_memo=_detached_map(info.raw_memo),
                typed_search_attributes=_shared_keys(info.typed_search_attributes),
            ),
            payload_converter_factory=_shared_converter(det.payload_converter_factory),
            last_completion_result=_detached(det.last_completion_result),
            last_failure=_detached(det.last_failure) if det.last_failure is not None else None,
            # Outermost, so interceptors further in see the copy too.
            interceptor_classes=[_DetachStartHeaders, *det.interceptor_classes],
        )
        return super().create_instance(det)


def workflow_runner() -> SandboxedWorkflowRunner:
    return JourneyWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def build_worker(
    client: Client,
    store: Store,
    *,
    task_queue: str = TASK_QUEUE,
    settings: DeliverySettings | None = None,
    dry_run: bool = False,
    playbook_dir: str | None = None,
    max_cached_workflows: int = 10_000,
    executor: ThreadPoolExecutor | None = None,
    health_config: str | None = None,
    reports_dir: Path | None = None,
) -> Worker:
    """A worker for journeys on `task_queue`; `dry_run` records automated touches without
    sending; with `reports_dir`, value reviews get the account's report written there."""
    store_activities = StoreActivities(store, playbook_dir, reports_dir)
    delivery = DeliveryActivities(store, settings or DeliverySettings.from_env(), dry_run=dry_run)
    reminders = ReminderActivities(store, delivery, playbook_dir)
    # The sweep tells journeys their health through this worker's own client.
    health = HealthActivities(store, client, health_config)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*store_activities.all(), delivery.send_deliveries, reminders.remind_tasks, *health.all()],
        activity_executor=executor or ThreadPoolExecutor(max_workers=8),
        workflow_runner=workflow_runner(),
        max_cached_workflows=max_cached_workflows,
        # A journey cached on a worker that died moves to another within seconds.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=5),
    )
