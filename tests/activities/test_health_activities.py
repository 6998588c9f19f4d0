"""The health sweep's sending activity with a stand-in client: who is told, who is skipped,
what is remembered, and what a retried attempt leaves out."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.health import HealthActivities
from activities.messages import HealthChange, HealthUpdateBatch, MetricsUpdate
from journey.domain.enums import Health
from journey.domain.models import Account
from journey.store import Store

DAY = date(2026, 6, 30)


class FakeHandle:
    def __init__(self, client: FakeClient, workflow_id: str) -> None:
        self.client = client
        self.workflow_id = workflow_id

    async def execute_update(self, name: str, update: MetricsUpdate, result_type: Any = None) -> None:
        assert name == "metrics"
        self.client.sent.append((self.workflow_id, update))
        failure = self.client.failures.get(self.workflow_id)
        if failure is not None:
            raise failure


class FakeClient:
    def __init__(self, failures: dict[str, BaseException] | None = None) -> None:
        self.sent: list[tuple[str, MetricsUpdate]] = []
        self.failures = failures or {}

    def get_workflow_handle(self, workflow_id: str) -> FakeHandle:
        return FakeHandle(self, workflow_id)


def change(account: str, color: Health | None = Health.red, band: float | None = 0.5) -> HealthChange:
    return HealthChange(
        account=account,
        update=MetricsUpdate(on=DAY, utilization=0.6, consumption=0.4, color=color, reason="health score 40"),
        band=band,
    )


def enroll(store: Store, *ids: str) -> None:
    store.upsert_accounts(
        [
            Account.model_validate(
                {"id": i, "name": i, "segment": "strategic", "tier": 1, "seats": 10, "arr": 1,
                 "signed": date(2026, 1, 5), "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam"}
            )
            for i in ids
        ]
    )


def told(store: Store) -> dict[str, tuple[str | None, float | None]]:
    return {row.id: (row.score_color, row.adoption_band) for row in store.list_accounts()}


@pytest.mark.asyncio(loop_scope="session")
async def test_tells_each_journey_and_remembers_it(store: Store) -> None:
    enroll(store, "a", "b", "gone", "ended")
    refused = WorkflowUpdateFailedError(ApplicationError("the journey of ended has ended"))
    client = FakeClient(
        {
            "journey-gone": RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b""),
            "journey-ended": refused,
        }
    )
    activities = HealthActivities(store, client)  # type: ignore[arg-type]
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    batch = HealthUpdateBatch(changes=[change("a"), change("b", color=None, band=0.8), change("gone"), change("ended")])
    report = await env.run(activities.send_health_updates, batch)

    assert report.sent == 2 and sorted(report.skipped) == ["ended", "gone"]
    assert sorted(wid for wid, _ in client.sent) == ["journey-a", "journey-b", "journey-ended", "journey-gone"]
    assert told(store) == {"a": ("red", 0.5), "b": (None, 0.8), "gone": (None, None), "ended": (None, None)}
    assert beats[-1] == (["a", "b"],)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_retry_tells_only_the_rest(store: Store) -> None:
    enroll(store, "a", "b")
    client = FakeClient({"journey-b": RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")})
    activities = HealthActivities(store, client)  # type: ignore[arg-type]
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    batch = HealthUpdateBatch(changes=[change("a"), change("b")])
    with pytest.raises(ApplicationError, match="1 health update"):
        await env.run(activities.send_health_updates, batch)
    assert beats[-1] == (["a"],)

    # The next attempt starts from the last heartbeat: only b is sent again.
    client.failures.clear()
    client.sent.clear()
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_details=[["a"]])
    report = await env.run(activities.send_health_updates, batch)
    assert [wid for wid, _ in client.sent] == ["journey-b"]
    assert report.sent == 2 and told(store) == {"a": ("red", 0.5), "b": ("red", 0.5)}
