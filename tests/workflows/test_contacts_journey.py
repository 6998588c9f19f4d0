"""The account map reaches the running journey, on the time-skipping server.

Contacts imported from a file reach the journey and the store (a second import sends
nothing); a store-only account, with no journey, is refused by name. Removing the last
champion of a journey whose playbook says `champion_left = "red"` records
`champion-left`, opens the TA's `find-champion` task, stores a score whose champion
measure is zero that same day, and turns the account red by hand: remediation starts.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from journey.config import playbooks_dir
from journey.domain import names
from journey.domain.engine.contacts import ContactRef, ContactsChange
from journey.domain.enums import ContactRole, Health
from journey.domain.models import Contact
from journey.domain.playbook_files import load_playbooks
from journey.temporal.contacts import change_contacts, import_contacts
from journey.temporal.journeys import JourneyNotFound, enroll_one, send_event
from journey.temporal.playbooks import apply_playbook
from tests.helpers.accounts import make_account
from tests.helpers.journeys import advance_to, own_time_skipping_env, quiet_settings, status_of
from workflows.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGNED = date(2026, 1, 5)
CHAMPION = Contact(name="Cleo Champion", email="cleo@example.com", role=ContactRole.champion)


async def test_the_last_champion_leaving_is_an_event(store, task_queue, tmp_path: Path) -> None:
    async with own_time_skipping_env() as env, build_worker(env.client, store, task_queue=task_queue, settings=quiet_settings()):
        await _champion_left(env, store, task_queue, tmp_path)


async def _champion_left(env, store, task_queue, tmp_path: Path) -> None:
    account = make_account("mapped", signed=SIGNED, renewal=date(2027, 1, 5), contacts=[CHAMPION])
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    await advance_to(env, handle, SIGNED + timedelta(days=2))
    playbook = load_playbooks(playbooks_dir())[account.engagement_model]
    report = await apply_playbook(env.client, playbook.model_copy(update={"champion_left": "red"}), [account.id])
    assert report.applied == [account.id], report.failed
    try:
        csv = tmp_path / "contacts.csv"
        csv.write_text("account,name,email,role,title\nmapped,Ada Admin,ada@example.com,admin,IT Lead\n")
        first = await import_contacts(env.client, store, csv)
        assert [o.account for o in first.changed] == [account.id] and first.counts()["added"] == 1, first
        again = await import_contacts(env.client, store, csv)
        assert (again.changed, again.unchanged) == ([], [account.id])
        assert [c.name for c in store.contacts_of([account.id])[account.id]] == ["Cleo Champion", "Ada Admin"]

        store.upsert_accounts([make_account("store-only")])
        with pytest.raises(JourneyNotFound, match="store-only"):
            await change_contacts(env.client, store, "store-only", ContactsChange(add=[CHAMPION]))

        remove = ContactsChange(remove=[ContactRef(email="CLEO@example.com")], reason="left the company")
        outcome = await change_contacts(env.client, store, account.id, remove)
        assert outcome.champion_left and outcome.status is not None and outcome.status.health is Health.red
        today = outcome.status.today

        rows = [(r.kind, r.name, r.detail) for r in store.timeline(account.id) if r.at == today]
        events = [name for kind, name, _ in rows if kind == "event"]
        assert events[-3:] == ["contact-removed", "champion-left", "set_health"], rows
        assert ("health", "red") in [(kind, name) for kind, name, _ in rows]
        (task,) = [t for t in store.tasks(account=account.id) if t.touchpoint == "find-champion"]
        assert task.owner == account.ta and task.due.weekday() < 5 and task.due >= today + timedelta(days=7)
        assert [c.name for c in store.contacts_of([account.id])[account.id]] == ["Ada Admin"]

        score, _ = store.scores_of(account.id)
        (champion,) = [m for m in score.measures if m.measure == "champion"]
        assert score.on == today and (champion.value, champion.points) == (False, 0.0), champion

        remediation = env.client.get_workflow_handle(names.remediation_workflow_id(account.id, 1))
        assert (await remediation.describe()).workflow_type == names.Workflow.RED_ACCOUNT_REMEDIATION
        assert (await status_of(handle)).remediation == remediation.id
        # Promoted and its remediation ended before the journey goes: a red journey ended
        # by hand would hold the shared time-skipping server's clock for the tests after it.
        await send_event(env.client, account.id, "set_health", {"color": "green", "reason": "test over"})
        await remediation.result()
    finally:
        for workflow_id in (handle.id, names.remediation_workflow_id(account.id, 1)):
            try:
                await env.client.get_workflow_handle(workflow_id).terminate("test over")
            except Exception:  # noqa: BLE001 (not started, or already ended)
                pass
