"""A journey takes `tasks_moved`: a snooze moves its task in the store and on its timeline
and sets its next wake-up; a reassignment hands the task over and the cover reaches the
tasks it opens later."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar

import pytest

from journey.domain import names
from journey.domain.models import Account
from journey.store.records import TaskRecord
from journey.temporal.journeys import EventRejected, enroll_one, send_event
from journey.temporal.tasks import reassign, snooze
from tests.helpers.journeys import advance_to, status_of

pytestmark = pytest.mark.asyncio(loop_scope="session")
T = TypeVar("T")

SIGNED = date(2026, 1, 5)


async def test_snooze_and_reassign_reach_store_timeline_and_wake_up(env, store, worker, task_queue) -> None:
    account = Account.model_validate({
        "id": "moved", "name": "Moved Co", "segment": "strategic", "tier": 1, "seats": 100, "arr": 90_000,
        "signed": SIGNED, "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam",
    })
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    await advance_to(env, handle, SIGNED + timedelta(days=1))
    today = (await status_of(handle)).today
    [kickoff] = [t for t in store.tasks(account="moved") if t.touchpoint == "kickoff-call"]
    until = kickoff.due + timedelta(days=4)

    status = await snooze(env.client, store, "moved", "kickoff-call", until, today, reason="customer away")
    assert [t.due for t in status.open_tasks if t.key == kickoff.key] == [until]
    [moved] = [t for t in store.tasks(account="moved") if t.key == kickoff.key]
    assert moved.due == until
    rows = [r for r in store.timeline("moved") if r.kind == "task" and r.detail.get("status") == "snoozed"]
    assert [(r.name, r.detail["from"], r.detail["to"], r.detail["reason"]) for r in rows] == [
        ("kickoff-call", kickoff.due.isoformat(), until.isoformat(), "customer away")]
    # The journey's wake-up follows: its timer now waits for the snoozed date at the latest.
    history = await handle.fetch_history()
    timers = [e.timer_started_event_attributes for e in history.events if e.HasField("timer_started_event_attributes")]
    assert timers and timers[-1].start_to_fire_timeout.ToTimedelta() <= timedelta(days=(until - today).days + 1)

    # The journey refuses what it cannot do, and nothing changes.
    with pytest.raises(EventRejected, match="before today"):
        await send_event(env.client, "moved", names.Update.TASKS_MOVED, {"kind": "reschedule", "days": -400})

    told = await reassign(env.client, store, "ana", "bo", today, until=today + timedelta(days=30))
    assert set(told) == {"moved"}
    assert {t.owner for t in store.tasks(account="moved") if t.owner_role == "ta"} == {"bo"}
    assert [c.cover for c in store.task_covers(today)] == ["bo"]
    # A TA task the journey opens while the cover holds is the cover's.
    await advance_to(env, handle, today + timedelta(days=20))
    assert {t.owner for t in store.tasks(account="moved") if t.owner_role == "ta"} == {"bo"}
    assert any(r.detail.get("status") == "reassigned" for r in store.timeline("moved") if r.kind == "task")
    await handle.terminate("test over")


async def soon(check: Callable[[], T], timeout: float = 30) -> T:
    """`check()` once it is truthy (the remediation writes the store on its own time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := check()):
        assert asyncio.get_running_loop().time() < deadline, "not written within the timeout"
        await asyncio.sleep(0.1)
    return found


async def test_the_red_account_remediation_moves_its_tasks_with_the_journey(store, task_queue) -> None:
    """A red account's action plan is the TA's too: a reassignment hands it to the cover,
    a snooze moves it, and the follow-ups opened while the cover holds are the cover's."""
    from journey.temporal.journeys import enroll_one as enroll
    from tests.helpers.journeys import own_time_skipping_env, quiet_settings
    from workflows.worker import build_worker

    account = Account.model_validate({
        "id": "redmoved", "name": "Red Moved Co", "segment": "strategic", "tier": 1, "seats": 100, "arr": 90_000,
        "signed": SIGNED, "renewal": date(2027, 1, 5), "ta": "ana", "ae": "sam",
    })
    async with own_time_skipping_env() as env, build_worker(env.client, store, task_queue=task_queue, settings=quiet_settings()):
        assert await enroll(env.client, account, today=SIGNED, task_queue=task_queue)
        handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
        await advance_to(env, handle, SIGNED + timedelta(days=1))
        await send_event(env.client, "redmoved", names.Update.SET_HEALTH, {"color": "red", "reason": "champion left"})
        today = (await advance_to(env, handle, SIGNED + timedelta(days=2))).today

        def tasks() -> dict[str, TaskRecord]:
            return {t.touchpoint: t for t in store.tasks(account="redmoved")}

        # The remediation writes its tasks on its own, after the journey's step.
        plan = (await soon(lambda: tasks().get("red-action-plan")))
        assert plan.owner == "ana"
        await reassign(env.client, store, "ana", "bo", today, until=today + timedelta(days=60))
        await soon(lambda: tasks()["red-action-plan"].owner == "bo")
        until = plan.due + timedelta(days=5)
        await snooze(env.client, store, "redmoved", "red-action-plan", until, today)
        await soon(lambda: tasks()["red-action-plan"].due == until)
        await advance_to(env, handle, today + timedelta(days=9))
        # Opened after the reassignment, while the cover holds.
        await soon(lambda: "red-follow-up" in tasks() and tasks()["red-follow-up"].owner == "bo")
        moved = [r.detail["status"] for r in store.timeline("redmoved") if r.kind == "task" and r.name == "red-action-plan"]
        assert moved == ["reassigned", "snoozed"]
        await handle.terminate("test over")
