"""Whole journeys on the time-skipping server: two terms for each engagement model.

Each account is enrolled at signature, kicks off, reaches production, has its 60-day
adoption target met (or, with no usage reported, not judged), goes red by hand and
recovers, renews once, and churns at the second renewal. The stage and health sequences and the timeline rows are asserted
from the store, where the journey wrote them.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from journey.domain.models import Account, JourneyStatus
from journey.store import Store
from journey.store.records import TimelineRecord
from journey.temporal.journeys import enroll_one, send_event
from tests.helpers.journeys import advance_to, status_of
from tests.helpers.stores import add_usage
from workflows.messages import JourneyOutcome, RemediationOutcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

HISTORIES = Path(__file__).parent.parent / "histories"
SIGNED = date(2026, 1, 5)  # a Monday

ACCOUNTS = {
    "enterprise": dict(segment="strategic", tier=1, deployment="self-hosted"),
    "scaled": dict(segment="small-enterprise", tier=2, model="scaled"),
    "pooled": dict(segment="small-enterprise", tier=3),
    "digital": dict(segment="commercial", tier=3),
}


def make_account(model: str, account_id: str | None = None) -> Account:
    return Account.model_validate(
        {
            "id": account_id or f"acct-{model}",
            "name": f"{model.title()} Co",
            "seats": 200,
            "arr": 100_000,
            "signed": SIGNED,
            "renewal": SIGNED + timedelta(days=365),
            "ta": "ana",
            "ae": "sam",
            **ACCOUNTS[model],
        }
    )


async def event(env: WorkflowEnvironment, account: str, name: str, **data: object) -> JourneyStatus:
    return await send_event(env.client, account, name, {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()})


def rows(store: Store, account: str, kind: str) -> list[TimelineRecord]:
    return [r for r in store.timeline(account) if r.kind == kind]


async def run_two_terms(
    env: WorkflowEnvironment,
    store: Store,
    task_queue: str,
    model: str,
    usage_mau: int | None,
    account_id: str | None = None,
    histories: Path = HISTORIES,
) -> WorkflowHandle:
    account = make_account(model, account_id)
    assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
    handle = env.client.get_workflow_handle(f"journey-{account.id}")
    first_run = (await handle.describe()).run_id
    status = await status_of(handle)
    assert status.stage.value == "kickoff" and status.today == SIGNED

    await advance_to(env, handle, SIGNED + timedelta(days=8))
    status = await event(env, account.id, "kickoff_held", check_in_cadence_days=14)
    assert status.stage.value == "onboarding"

    production = SIGNED + timedelta(days=21)
    await advance_to(env, handle, production)
    status = await event(env, account.id, "production_ready")
    assert status.stage.value == "adoption"
    assert status.adoption_deadline == production + timedelta(days=60)
    if usage_mau is not None:
        add_usage(store, [(account.id, production + timedelta(days=50), usage_mau // 2, usage_mau)])

    await advance_to(env, handle, production + timedelta(days=40))
    await event(env, account.id, "onboarding_complete")

    await advance_to(env, handle, production + timedelta(days=61))
    status = await status_of(handle)
    assert status.stage.value == "steady"

    red_on = production + timedelta(days=90)
    await advance_to(env, handle, red_on)
    status = await event(env, account.id, "set_health", color="red", reason="champion left")
    assert status.health.value == "red"
    assert status.remediation == f"red-{account.id}-1"

    await advance_to(env, handle, red_on + timedelta(days=20))
    status = await event(env, account.id, "set_health", color="green", reason="new champion onboarded")
    assert status.health.value == "green" and status.remediation is None
    remediation = await env.client.get_workflow_handle(
        f"red-{account.id}-1", result_type=RemediationOutcome
    ).result()
    assert remediation.closed_on == red_on + timedelta(days=20)
    # Weekly follow-ups for people; the digital journey has none (nothing human-owned).
    assert (remediation.follow_ups == 0) if model == "digital" else (remediation.follow_ups == 2)

    renewal = account.renewal
    await advance_to(env, handle, renewal - timedelta(days=89))
    assert (await status_of(handle)).stage.value == "renewal"
    await advance_to(env, handle, renewal - timedelta(days=10))
    status = await event(env, account.id, "renewal_closed", outcome="renewed", seats=250)
    assert status.stage.value == "steady" and status.term == 2 and status.seats == 250
    assert status.renewal_date == renewal + timedelta(days=365)

    second_renewal = status.renewal_date
    await advance_to(env, handle, second_renewal - timedelta(days=89))
    assert (await status_of(handle)).stage.value == "renewal"
    await advance_to(env, handle, second_renewal - timedelta(days=5))
    await event(env, account.id, "renewal_closed", outcome="churned")
    outcome = await env.client.get_workflow_handle(handle.id, result_type=JourneyOutcome).result()
    assert outcome.stage.value == "churned" and outcome.terms == 2
    if os.environ.get("JOURNEY_RECORD_HISTORIES"):
        await record_histories(env, account.id, first_run, histories)
    return handle


async def record_histories(
    env: WorkflowEnvironment, account: str, first_run: str | None, histories: Path = HISTORIES
) -> None:
    """Save the first term's run, the final run and the remediation as replay fixtures."""
    histories.mkdir(exist_ok=True)
    runs = {
        "term1": env.client.get_workflow_handle(f"journey-{account}", run_id=first_run),
        "term2": env.client.get_workflow_handle(f"journey-{account}"),
        "remediation": env.client.get_workflow_handle(f"red-{account}-1"),
    }
    for label, run in runs.items():
        history = await run.fetch_history()
        (histories / f"{account}-{label}.json").write_text(history.to_json())


@pytest.mark.parametrize("model", list(ACCOUNTS))
async def test_two_terms_with_missed_adoption_and_red_episode(env, store, worker, task_queue, model) -> None:
    await run_two_terms(env, store, task_queue, model, usage_mau=None)
    account = f"acct-{model}"

    stages = [(r.name, r.at) for r in rows(store, account, "stage")]
    assert [name for name, _ in stages] == [
        "kickoff", "onboarding", "adoption", "steady", "renewal", "renewed", "steady", "renewal", "churned",
    ]
    production = SIGNED + timedelta(days=21)
    assert stages[2][1] == production
    assert stages[3][1] == production + timedelta(days=60)
    assert stages[4][1] == date(2027, 1, 5) - timedelta(days=90)

    health = [(r.name, r.detail["source"]) for r in rows(store, account, "health")]
    # No usage on or before the deadline: no verdict, and health left to the people.
    assert health == [("red", "manual"), ("green", "manual")]
    adoption = rows(store, account, "adoption")
    assert [r.name for r in adoption] == ["no-data"]

    remediation = [r.name for r in rows(store, account, "remediation")]
    assert remediation[0] == "opened" and remediation[-1] == "closed"
    tracker = store.red_rows(account)
    assert len(tracker) == 1 and tracker[0].closed_on is not None

    events = [r.name for r in rows(store, account, "event")]
    assert events.count("renewal_closed") == 2
    # Every row was written exactly once.
    keys = [r.key for r in store.timeline(account)]
    assert len(keys) == len(set(keys))



async def test_adoption_met_keeps_health(env, store, worker, task_queue) -> None:
    account = make_account("enterprise", "acct-adopted")
    handle = await run_two_terms(env, store, task_queue, "enterprise", usage_mau=180, account_id=account.id)
    assert [r.name for r in rows(store, account.id, "adoption")] == ["met"]
    assert [r.detail["utilization"] for r in rows(store, account.id, "adoption")] == [0.9]
    health = [r.name for r in rows(store, account.id, "health")]
    assert health == ["red", "green"]
    assert handle is not None


async def test_two_terms_on_postgresql(env, pg_store, task_queue) -> None:
    """The same journey with PostgreSQL as the store."""
    from tests.helpers.journeys import quiet_settings
    from workflows.worker import build_worker

    async with build_worker(env.client, pg_store, task_queue=task_queue, settings=quiet_settings()):
        await run_two_terms(env, pg_store, task_queue, "enterprise", usage_mau=None, account_id="acct-on-postgres")
    stages = [r.name for r in rows(pg_store, "acct-on-postgres", "stage")]
    assert stages == ["kickoff", "onboarding", "adoption", "steady", "renewal", "renewed", "steady", "renewal", "churned"]
    assert pg_store.find_account("acct-on-postgres") is not None
    assert [r.name for r in pg_store.list_accounts()] == ["Enterprise Co"]
