"""The health sweep's sending activity with a stand-in client: who is told, who is skipped,
what is remembered, and what a retried attempt leaves out."""

from __future__ import annotations

import asyncio
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

    async def execute_update(
        self, name: str, update: MetricsUpdate, id: str | None = None, result_type: Any = None
    ) -> None:
        assert name == "metrics"
        self.client.sent.append((self.workflow_id, update))
        self.client.ids.append(id)
        self.client.in_flight += 1
        self.client.most_in_flight = max(self.client.most_in_flight, self.client.in_flight)
        try:
            await asyncio.sleep(self.client.answer_after)
        finally:
            self.client.in_flight -= 1
        failure = self.client.failures.get(self.workflow_id)
        if failure is not None:
            raise failure


class FakeClient:
    def __init__(self, failures: dict[str, BaseException] | None = None) -> None:
        self.sent: list[tuple[str, MetricsUpdate]] = []
        self.ids: list[str | None] = []
        self.failures = failures or {}
        self.answer_after = 0.0
        self.in_flight = 0
        self.most_in_flight = 0

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


@pytest.mark.asyncio(loop_scope="session")
async def test_each_update_is_named_by_the_sweep_and_the_account(store: Store) -> None:
    # The server answers a repeated update id with the first answer: a batch retried after
    # its worker died tells no journey twice, even one told after the last heartbeat.
    enroll(store, "a", "b")
    client = FakeClient()
    activities = HealthActivities(store, client)  # type: ignore[arg-type]
    batch = HealthUpdateBatch(changes=[change("a"), change("b")], sweep="health-sweep-1/run-7")
    await ActivityEnvironment().run(activities.send_health_updates, batch)
    assert sorted(client.ids) == ["health-sweep-1/run-7/a", "health-sweep-1/run-7/b"]

    # Batches of sweeps begun before update ids carry none: the server makes one per call.
    client.ids.clear()
    await ActivityEnvironment().run(activities.send_health_updates, HealthUpdateBatch(changes=[change("a")]))
    assert client.ids == [None]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_worker_bounds_its_updates_in_flight_across_batches(store: Store) -> None:
    accounts = [f"acct-{n}" for n in range(12)]
    enroll(store, *accounts)
    client = FakeClient()
    client.answer_after = 0.02
    activities = HealthActivities(store, client, concurrency=3)  # type: ignore[arg-type]
    first = HealthUpdateBatch(changes=[change(a) for a in accounts[:6]], sweep="s")
    second = HealthUpdateBatch(changes=[change(a) for a in accounts[6:]], sweep="s")
    reports = await asyncio.gather(
        ActivityEnvironment().run(activities.send_health_updates, first),
        ActivityEnvironment().run(activities.send_health_updates, second),
    )
    assert [r.sent for r in reports] == [6, 6]
    assert client.most_in_flight == 3
