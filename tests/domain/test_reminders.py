"""The reminder sweep's decisions (journey.reminders), over plain task rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from journey.domain.effects import TaskOpen
from journey.domain.enums import EngagementModel
from journey.domain.playbook import TaskPolicy
from journey.domain.reminders import OpenTaskRow, escalation_target, reminder_effects
from journey.store import Store
from tests.helpers.accounts import make_account

TODAY = date(2026, 3, 16)
POLICIES = {model: TaskPolicy() for model in EngagementModel}  # remind at 3 days, escalate at 10, to the manager


def task(key: str = "acme/qbr/2026-03-02", due: date = TODAY - timedelta(days=3), **fields: object) -> OpenTaskRow:
    values: dict[str, object] = {
        "key": key,
        "account": key.split("/")[0],
        "account_name": "Acme",
        "model": "enterprise",
        "ta": "ana",
        "ae": "sam",
        "touchpoint": key.split("/")[1],
        "title": "Quarterly business review",
        "owner_role": "ta",
        "owner": "ana",
        "due": due,
    }
    return OpenTaskRow.model_validate(values | fields)


def test_not_overdue_enough_does_nothing() -> None:
    assert reminder_effects([task(due=TODAY), task(due=TODAY - timedelta(days=2))], POLICIES, TODAY) == []


def test_reminder_at_remind_after_days() -> None:
    [effects] = reminder_effects([task()], POLICIES, TODAY)
    assert effects.account == "acme"
    [delivery] = effects.deliveries
    assert delivery.key == "acme/qbr/2026-03-02/reminder"
    assert (delivery.channel, delivery.recipient) == ("email", "ana")
    assert delivery.subject == "Reminder: Quarterly business review for Acme was due 2026-03-13"
    assert "journey done acme qbr" in delivery.body
    [change] = effects.task_changes
    assert (change.key, change.reminded_on, change.escalated_on) == ("acme/qbr/2026-03-02", TODAY, None)
    assert effects.timeline == []


def test_reminded_once_only() -> None:
    assert reminder_effects([task(reminded_on=TODAY - timedelta(days=1))], POLICIES, TODAY) == []


def test_escalation_to_the_manager_with_a_timeline_row() -> None:
    late = task(due=TODAY - timedelta(days=10), reminded_on=TODAY - timedelta(days=7))
    [effects] = reminder_effects([late], POLICIES, TODAY, manager="maria")
    [delivery] = effects.deliveries
    assert (delivery.key, delivery.recipient) == ("acme/qbr/2026-03-02/escalation", "maria")
    assert "10 days overdue" in delivery.subject
    [change] = effects.task_changes
    assert (change.reminded_on, change.escalated_on, change.escalated_to) == (None, TODAY, "maria")
    [row] = effects.timeline
    assert (row.key, row.kind, row.name, row.at) == ("acme/qbr/2026-03-02/escalation", "task", "qbr", TODAY)
    assert row.detail["status"] == "escalated" and row.detail["escalated_to"] == "maria"
    assert row.detail["days_overdue"] == 10


def test_late_sweep_reminds_and_escalates_at_once() -> None:
    [effects] = reminder_effects([task(due=TODAY - timedelta(days=30))], POLICIES, TODAY)
    assert [d.key.rsplit("/", 1)[1] for d in effects.deliveries] == ["reminder", "escalation"]
    [change] = effects.task_changes
    assert change.reminded_on == TODAY and change.escalated_on == TODAY


def test_escalated_tasks_are_left_alone() -> None:
    done = task(due=TODAY - timedelta(days=40), reminded_on=TODAY - timedelta(days=37), escalated_on=TODAY - timedelta(days=30))
    assert reminder_effects([done], POLICIES, TODAY) == []


@pytest.mark.parametrize(
    ("escalate_to", "owner_role", "owner", "expected"),
    [
        ("manager", "ta", "ana", "maria"),
        ("ae", "ta", "ana", "sam"),
        ("ae", "ae", "sam", "maria"),  # the AE's own task goes to the manager
        ("manager", "ae", "sam", "maria"),
        ("manager", "manager", "ta-manager", "sam"),  # the manager's own task goes to the AE
        ("ae", "value-engineering", "value-engineering", "sam"),
    ],
)
def test_escalation_target(escalate_to: str, owner_role: str, owner: str, expected: str) -> None:
    policy = TaskPolicy(escalate_to=escalate_to)  # type: ignore[arg-type]
    assert escalation_target(task(owner_role=owner_role, owner=owner), policy, "maria") == expected


def test_each_model_uses_its_own_policy() -> None:
    policies = POLICIES | {EngagementModel.digital: TaskPolicy(remind_after_days=1, escalate_after_days=2, escalate_to="ae")}
    rows = [
        task("big/check-in/2026-03-12", due=TODAY - timedelta(days=2)),
        task("small/red-action-plan/2026-03-12", due=TODAY - timedelta(days=2), model="digital"),
    ]
    effects = reminder_effects(rows, policies, TODAY, manager="maria")
    assert [e.account for e in effects] == ["small"]
    assert [d.recipient for d in effects[0].deliveries] == ["ana", "sam"]


def test_one_effects_per_account() -> None:
    rows = [task("b/qbr/1"), task("a/qbr/1"), task("a/check-in/1", due=TODAY - timedelta(days=5))]
    effects = reminder_effects(rows, POLICIES, TODAY)
    assert [e.account for e in effects] == ["a", "b"]
    assert [c.key for c in effects[0].task_changes] == ["a/check-in/1", "a/qbr/1"]


def test_store_sweep_round_trip(store: Store) -> None:
    """Store.tasks_to_remind feeds the decisions; applying them twice changes nothing more,
    and a task closed in between is not reminded."""
    account = make_account()
    store.upsert_accounts([account])
    due = TODAY - timedelta(days=12)
    store.apply_effects(
        _opened(account.id, [("qbr", due), ("check-in", due), ("account-plan", TODAY - timedelta(days=1))])
    )
    rows = store.tasks_to_remind(TODAY)
    assert sorted(r.touchpoint for r in rows) == ["account-plan", "check-in", "qbr"]
    assert rows[0].account_name == account.name and rows[0].model is account.engagement_model

    from journey.domain.effects import Effects, TaskChange

    store.apply_effects(Effects(account=account.id, task_changes=[TaskChange(key=f"{account.id}/check-in/x", status="done")]))
    rows = store.tasks_to_remind(TODAY)
    batches = reminder_effects(rows, POLICIES, TODAY)
    store.apply_many(batches)
    store.apply_many(batches)
    reminded = {r.touchpoint: r for r in store.tasks(account=account.id, status=None)}
    assert reminded["qbr"].reminded_on == TODAY and reminded["qbr"].escalated_to == "ta-manager"
    assert reminded["check-in"].reminded_on is None  # done: never reminded
    assert reminded["account-plan"].reminded_on is None  # only one day late
    assert [d.key for d in store.pending_deliveries(key_suffixes=("/reminder", "/escalation"))] == [
        f"{account.id}/qbr/x/reminder",
        f"{account.id}/qbr/x/escalation",
    ]
    escalations = [r for r in store.timeline(account.id) if r.kind == "task"]
    assert [(r.name, r.detail["status"]) for r in escalations] == [("qbr", "escalated")]
    # The next day's sweep finds qbr fully handled and account-plan not yet due for a reminder.
    later = store.tasks_to_remind(TODAY + timedelta(days=1))
    assert [r.touchpoint for r in later] == ["account-plan"]
    assert reminder_effects(later, POLICIES, TODAY + timedelta(days=1)) == []


def _opened(account: str, items: list[tuple[str, date]]):  # type: ignore[no-untyped-def]
    from journey.domain.effects import Effects

    return Effects(
        account=account,
        open_tasks=[
            TaskOpen(key=f"{account}/{tp}/x", account=account, touchpoint=tp, title=tp, owner_role="ta", owner="ana", due=due)
            for tp, due in items
        ],
    )


def test_schedule_command_names_every_sweep() -> None:
    from journey.cli.schedule import DAILY_SWEEP_NAMES, SWEEP_NAMES
    from journey.temporal.schedules import DAILY_SWEEPS, SWEEPS

    assert sorted(SWEEP_NAMES) == sorted(SWEEPS)
    assert sorted(DAILY_SWEEP_NAMES) == sorted(DAILY_SWEEPS)
