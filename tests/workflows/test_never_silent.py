"""The journey never sits silent: a stage that waits for a person's event, with no task open
and none of its own ahead, gets a task naming that event, and marking it done reports it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from journey.config import playbooks_dir
from journey.domain import names
from journey.domain.enums import EngagementModel
from journey.domain.playbook_files import load_playbooks
from journey.temporal.journeys import enroll_one, send_event
from journey.temporal.playbooks import apply_playbook
from tests.helpers.accounts import make_account
from tests.helpers.journeys import advance_to, status_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGNED = date(2026, 1, 5)


def kickoff_call_without_its_event():
    """The enterprise playbook as a team could write it: the kickoff call stands for no event."""
    playbook = load_playbooks(playbooks_dir())[EngagementModel.enterprise]
    touchpoints = tuple(tp.model_copy(update={"completes": None}) if tp.id == "kickoff-call" else tp for tp in playbook.touchpoints)
    return playbook.model_copy(update={"touchpoints": touchpoints})


async def test_kickoff_with_nothing_open_gets_a_task_that_reports_the_kickoff(env, store, worker, task_queue) -> None:
    account = make_account("quiet", signed=SIGNED, renewal=date(2027, 1, 5))
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    await advance_to(env, handle, SIGNED + timedelta(days=1))
    report = await apply_playbook(env.client, kickoff_call_without_its_event(), [account.id])
    assert report.applied == [account.id], report.failed

    status = await status_of(handle)
    for task in [t.touchpoint for t in status.open_tasks]:
        status = await send_event(env.client, account.id, "touchpoint_done", {"touchpoint": task})
    assert status.stage.value == "kickoff", status
    opened = [t for t in status.open_tasks]
    assert [t.touchpoint for t in opened] == ["report-kickoff"], opened
    assert opened[0].due > SIGNED and opened[0].owner == account.ta

    status = await send_event(env.client, account.id, "touchpoint_done", {"touchpoint": "report-kickoff"})
    assert status.stage.value == "onboarding" and status.kickoff_held == SIGNED + timedelta(days=1)
    assert "report-kickoff" not in [t.touchpoint for t in status.open_tasks]
    await handle.terminate("test over")
