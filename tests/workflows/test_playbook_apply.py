"""A changed playbook rolled out under running journeys (`journey playbook apply`).

Enterprise journeys (tier 1 and tier 2) and a digital one run on the time-skipping server;
mid-adoption the check-in cadence goes from 14 to 7 days, a touchpoint is added and one
removed. What was done stays done, what is open stays open, what is new is recorded with
the new playbook version, and the handbook's rules (account plans only after onboarding,
QBRs only for tier 1) still hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from journey.config import playbooks_dir
from journey.delivery.smtp import message_id
from journey.domain.enums import EngagementModel
from journey.domain.models import Account
from journey.domain.playbook import Playbook
from journey.domain.playbook_files import load_playbooks
from journey.store import Store
from journey.store.records import TaskRecord, TimelineRecord
from journey.temporal.journeys import enroll_one
from journey.temporal.playbooks import apply_playbook
from tests.helpers.journeys import status_of
from tests.helpers.local_servers import SmtpRecorder
from tests.workflows.test_delivery import delivering_worker, digital_account, finish, outbox_rows, slack, smtp  # noqa: F401 (fixtures)
from tests.workflows.test_lifecycle import SIGNED, event

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRODUCTION = SIGNED + timedelta(days=21)  # 2026-01-26
APPLIED_ON = SIGNED + timedelta(days=40)  # 2026-02-14
ONBOARDED = SIGNED + timedelta(days=80)  # 2026-03-26
END = SIGNED + timedelta(days=250)


def changed(playbook: Playbook, **changes: Any) -> Playbook:
    """The playbook with its JSON document edited: `touchpoints` is a function over the list."""
    document = playbook.model_dump(mode="json")
    edit = changes.pop("touchpoints", None)
    document.update(changes)
    if edit is not None:
        document["touchpoints"] = edit(document["touchpoints"])
    return Playbook.model_validate(document)


def new_enterprise_playbook(old: Playbook) -> Playbook:
    def edit(touchpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [tp for tp in touchpoints if tp["id"] != "adoption-review"]
        for tp in kept:
            if tp["id"] == "check-in":
                tp["recurrence"]["interval"] = 7
        kept.append(
            {
                "id": "exec-sponsor-call", "title": "Executive sponsor call", "owner": "ae", "customer_facing": True,
                "anchor": "production_ready", "offset_days": 70, "stages": ["adoption", "steady"],
            }
        )
        return kept

    return changed(old, check_in_cadence_days=7, touchpoints=edit)


def enterprise_account(account_id: str, tier: int) -> Account:
    return Account.model_validate(
        {
            "id": account_id, "name": f"Tier {tier} Co", "segment": "strategic", "tier": tier, "seats": 400,
            "arr": 400_000, "signed": SIGNED, "renewal": SIGNED + timedelta(days=365), "ta": "ana", "ae": "sam",
        }
    )


class Calendar:
    """The business calendar of journeys enrolled together: server time plus their offset.

    (A journey's `status.today` is the time of its last workflow task, stale while it sleeps.)
    """

    def __init__(self, env: WorkflowEnvironment, offset: timedelta) -> None:
        self.env, self.offset = env, offset

    @classmethod
    async def of(cls, env: WorkflowEnvironment, today: date) -> Calendar:
        now = await env.get_current_time()
        return cls(env, today - now.date())

    async def advance_to(self, day: date) -> None:
        now = await self.env.get_current_time()
        target = datetime(day.year, day.month, day.day, 1, tzinfo=UTC) - self.offset
        if target > now:
            await self.env.sleep(target - now)


def touchpoint_rows(store: Store, account: str) -> list[TimelineRecord]:
    return [r for r in store.timeline(account) if r.kind == "touchpoint"]


async def test_changed_playbook_keeps_history_and_rules(
    env: WorkflowEnvironment, store: Store, task_queue: str, delivering_worker, smtp: SmtpRecorder  # noqa: F811
) -> None:
    books = load_playbooks(playbooks_dir())
    old, new = books[EngagementModel.enterprise], new_enterprise_playbook(books[EngagementModel.enterprise])
    old_digital = books[EngagementModel.digital]
    new_digital = changed(
        old_digital,
        touchpoints=lambda tps: [tp | ({"recurrence": tp["recurrence"] | {"count": 12}} if tp["id"] == "nurture-email" else {}) for tp in tps],
    )
    assert old.version != new.version and old_digital.version != new_digital.version

    accounts = [enterprise_account("pb-tier1", 1), enterprise_account("pb-tier2", 2), digital_account("pb-digital")]
    for account in accounts:
        assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handles = {a.id: env.client.get_workflow_handle(f"journey-{a.id}") for a in accounts}
    assert (await status_of(handles["pb-tier1"])).today == SIGNED
    calendar = await Calendar.of(env, SIGNED)
    await calendar.advance_to(SIGNED + timedelta(days=8))
    for account in accounts:
        await event(env, account.id, "kickoff_held")
    await calendar.advance_to(PRODUCTION)
    for account in accounts:
        await event(env, account.id, "production_ready")
    await calendar.advance_to(PRODUCTION + timedelta(days=5))
    for account in ("pb-tier1", "pb-tier2"):
        await event(env, account, "touchpoint_done", touchpoint="training-admin")

    await calendar.advance_to(APPLIED_ON)
    before = {a.id: {r.key for r in touchpoint_rows(store, a.id)} for a in accounts}
    open_before = {a.id: {t.key for t in store.tasks(account=a.id)} for a in accounts}
    # The function behind the CLI, given account ids: a wrong model or no journey fails alone.
    report = await apply_playbook(env.client, new, ["pb-tier1", "pb-tier2", "pb-digital", "no-such-account"])
    assert report.applied == ["pb-tier1", "pb-tier2"]
    assert [f["account"] for f in report.failed] == ["no-such-account", "pb-digital"]
    assert "does not match the account's model" in report.failed[1]["error"]
    assert (await apply_playbook(env.client, new_digital, ["pb-digital"])).applied == ["pb-digital"]
    applied = [r for r in store.timeline("pb-tier1") if r.kind == "event" and r.name == "playbook_applied"]
    assert [(r.at, r.detail["from"], r.detail["to"]) for r in applied] == [(APPLIED_ON, old.version, new.version)]
    for account in accounts:
        assert (await status_of(handles[account.id])).playbook_version == (new_digital if account.id == "pb-digital" else new).version
        # What was open is still open (nothing dropped); what opened at the change is new.
        open_after = {t.key: t for t in store.tasks(account=account.id)}
        assert open_before[account.id] <= set(open_after)
        assert {open_after[k].playbook_version for k in set(open_after) - open_before[account.id]} <= {new.version}

    await calendar.advance_to(ONBOARDED)
    for account in ("pb-tier1", "pb-tier2"):
        await event(env, account, "onboarding_complete")
    await calendar.advance_to(END)
    try:
        check_outcome(store, before, open_before, old, new, old_digital, new_digital, smtp)
    finally:
        for handle in handles.values():
            await finish(env, handle)


def check_outcome(
    store: Store, before: dict[str, set[str]], open_before: dict[str, set[str]], old: Playbook, new: Playbook,
    old_digital: Playbook, new_digital: Playbook, mail: SmtpRecorder,
) -> None:
    """What the journeys wrote, read before they are offboarded."""
    for account in ("pb-tier1", "pb-tier2"):
        rows = touchpoint_rows(store, account)
        keys = [r.key for r in rows]
        assert len(keys) == len(set(keys))
        versions = {r.key: r.detail.get("playbook_version") for r in rows}
        new_keys = set(keys) - before[account]
        # Every occurrence recorded before the change says the old version, every later one the new.
        assert {versions[k] for k in before[account]} == {old.version}
        assert new_keys and {versions[k] for k in new_keys} == {new.version}

        tasks = {t.key: t for t in store.tasks(account=account, status=None)}
        by_touchpoint: dict[str, list[TaskRecord]] = {}
        for task in sorted(tasks.values(), key=lambda t: t.due):
            by_touchpoint.setdefault(task.touchpoint, []).append(task)
        # Done before the change: never opened again.
        assert [t.status for t in by_touchpoint["training-admin"]] == ["done"]
        # Open at the change and still in the playbook: still open, once.
        assert [(t.key, t.status) for t in by_touchpoint["training-101"]] == [
            (f"{account}/training-101/2026-02-02", "open")
        ]
        assert f"{account}/training-101/2026-02-02" in open_before[account]
        # Removed: the reviews opened before the change stay open; no later one is opened.
        reviews = by_touchpoint["adoption-review"]
        assert reviews and {t.key for t in reviews} == {k for k in open_before[account] if "/adoption-review/" in k}
        assert len(reviews) < 3 and {t.status for t in reviews} == {"open"}
        # Added: opened with the new version.
        [sponsor] = by_touchpoint["exec-sponsor-call"]
        assert sponsor.playbook_version == new.version and sponsor.owner == "sam"
        # Check-ins: every 14 days under the old playbook, every 7 days after the change.
        check_ins = sorted((k.rsplit("/", 1)[1], versions[k]) for k in keys if "/check-in/" in k)
        days = [date.fromisoformat(day) for day, _ in check_ins]
        gaps = [((b - a).days, version) for a, b, (_, version) in zip(days, days[1:], check_ins[1:], strict=False)]
        assert {gap for gap, version in gaps if version == old.version} == {14}
        assert {gap for gap, version in gaps if version == new.version} == {7}
        assert len([g for g in gaps if g[1] == new.version]) > 20
        # Handbook: the account plan only once onboarding is complete ...
        plans = by_touchpoint.get("account-plan", [])
        assert plans and all(t.due >= ONBOARDED for t in plans)
        assert {t.playbook_version for t in plans} == {new.version}
    # ... and the QBR only for tier 1.
    assert [t for t in store.tasks(account="pb-tier2", status=None) if t.touchpoint == "qbr"] == []
    assert len([t for t in store.tasks(account="pb-tier1", status=None) if t.touchpoint == "qbr"]) >= 2

    # The digital journey: tips emails sent before the change are not sent again; the
    # longer series continues weekly from where it was, with the new version.
    digital = [r for r in outbox_rows(store) if r["account_id"] == "pb-digital"]
    nurture = sorted(str(r["key"]) for r in digital if r["touchpoint"] == "nurture-email")
    assert nurture == [f"pb-digital/nurture-email/{(SIGNED + timedelta(days=1 + 7 * k)).isoformat()}" for k in range(12)]
    assert mail.message_ids() == {message_id(str(r["key"])): 1 for r in digital}
    digital_versions = {r.key: r.detail["playbook_version"] for r in touchpoint_rows(store, "pb-digital")}
    assert {digital_versions[k] for k in nurture if k in before["pb-digital"]} == {old_digital.version}
    assert {digital_versions[k] for k in nurture if k not in before["pb-digital"]} == {new_digital.version}
    assert len([k for k in nurture if k in before["pb-digital"]]) == 6
