"""`journey renewals`, `journey deployments` and `journey assess`.

The reading commands run in process against JOURNEY_HOME's store, seeded as the journeys
would have left it. `assess` is run in process too: store-only when there is no task to
close and no red to set, and once against a journey on the time-skipping server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from freezegun import freeze_time

# Imported before any test freezes time: a pydantic model defined while freezegun has
# replaced `datetime.date` would be built on its fake class.
import journey.cli.renewals  # noqa: F401
import journey.store.book  # noqa: F401
from journey.domain.effects import AccountSnapshot, Effects, TaskChange, TaskOpen
from journey.domain.models import Account
from journey.store import Store
from tests.helpers.portfolio import account

D = date


@pytest.fixture
def home_store(journey_home: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        yield store


def mirror(store: Store, account_id: str, *, stage: str = "renewal", health: str = "green") -> None:
    """What a journey mirrors into its account row: stage and health."""
    row = store.find_account(account_id)
    assert row is not None
    snapshot = AccountSnapshot(
        id=row.id, stage=stage, health=health, segment=row.segment, tier=row.tier, model=row.model,  # type: ignore[arg-type]
        seats=row.seats, arr=row.arr, renewal=row.renewal, term=row.term,
    )
    store.apply_effects(Effects(account=account_id, snapshot=snapshot))


def task(store: Store, account_id: str, touchpoint: str, due: date, status: str = "open") -> str:
    key = f"{account_id}/{touchpoint}/{due.isoformat()}"
    opened = TaskOpen(key=key, account=account_id, touchpoint=touchpoint, title=touchpoint, owner_role="ta", owner="tara", due=due)
    changes = [] if status == "open" else [TaskChange(key=key, status=status, done_on=due)]  # type: ignore[arg-type]
    store.apply_effects(Effects(account=account_id, open_tasks=[opened], task_changes=changes))
    return key


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_exit_2(result: Result, *pieces: str) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{result.output}"
    for piece in pieces:
        assert piece in result.output, result.output
    assert "Traceback" not in result.output


# FY27Q4 runs from 2026-11-01 to 2027-01-31.
PORTFOLIO = [
    ("early", D(2026, 10, 31), 1_000.0, "green"),
    ("first-day", D(2026, 11, 1), 120_000.0, "yellow"),
    ("december", D(2026, 12, 10), 80_000.0, "green"),
    ("red-one", D(2026, 12, 10), 45_000.0, "red"),
    ("last-day", D(2027, 1, 31), 30_000.0, "green"),
    ("late", D(2027, 2, 1), 2_000.0, "red"),
    ("churned", D(2026, 12, 1), 70_000.0, "red"),
]


@pytest.fixture
def portfolio(home_store: Store) -> Store:
    home_store.upsert_accounts([
        account(a, renewal=renewal, arr=arr, signed=D(2025, 1, 1), ta="tom" if a == "red-one" else "tara")
        for a, renewal, arr, _ in PORTFOLIO
    ])
    for a, _, _, health in PORTFOLIO:
        mirror(home_store, a, health=health, stage="churned" if a == "churned" else "renewal")
    task(home_store, "december", "value-review", D(2026, 9, 11), status="done")
    task(home_store, "red-one", "value-review", D(2026, 9, 11))
    return home_store


def test_renewals_lists_exactly_the_window_in_date_order_with_the_arr_at_risk(
    invoke: Callable[..., Result], portfolio: Store
) -> None:
    from journey.store.book import Assessment

    portfolio.record_assessment(Assessment(account="red-one", on=D(2026, 10, 2), ae_risk="champion left", ta_risk="SSO broken", red=True))
    document = as_json(invoke("renewals", "--from", "2026-11-01", "--to", "2027-01-31", "--json"))
    assert (document["from"], document["to"], document["quarter"]) == ("2026-11-01", "2027-01-31", None)
    assert [(r["account"], r["renewal"]) for r in document["renewals"]] == [
        ("first-day", "2026-11-01"), ("december", "2026-12-10"), ("red-one", "2026-12-10"), ("last-day", "2027-01-31"),
    ]
    rows = {r["account"]: r for r in document["renewals"]}
    assert [rows[a]["value_review_done"] for a in ("first-day", "december", "red-one", "last-day")] == [False, True, False, False]
    assert rows["red-one"]["assessment"] == {"on": "2026-10-02", "ae_risk": "champion left", "ta_risk": "SSO broken", "red": True}
    assert (rows["red-one"]["health"], rows["red-one"]["stage"], rows["red-one"]["arr"]) == ("red", "renewal", 45_000.0)
    totals = document["totals"]
    assert totals["arr_renewing"] == 275_000.0
    assert totals["arr_at_risk"] == 165_000.0 == sum(r["arr"] for r in document["renewals"] if r["health"] in ("yellow", "red"))
    assert (totals["accounts"], totals["at_risk"], totals["yellow"], totals["red"], totals["value_reviews_done"]) == (4, 2, 1, 1, 1)

    # The fiscal quarter FY27Q4 is the same window.
    by_quarter = as_json(invoke("renewals", "--quarter", "FY27Q4", "--json"))
    assert by_quarter["renewals"] == document["renewals"] and by_quarter["quarter"] == "FY27Q4"
    assert (by_quarter["from"], by_quarter["to"]) == ("2026-11-01", "2027-01-31")
    toms = as_json(invoke("renewals", "--quarter", "FY27Q4", "--ta", "tom", "--json"))
    assert [r["account"] for r in toms["renewals"]] == ["red-one"] and toms["totals"]["arr_at_risk"] == 45_000.0

    table = invoke("renewals", "--quarter", "FY27Q4")
    assert table.exit_code == 0, table.output
    assert "4 renewing 2026-11-01..2027-01-31 (FY27Q4): ARR 275,000; at risk (yellow, red) 2: ARR 165,000" in table.output
    assert "champion left" in table.output


def test_the_default_window_is_the_next_90_days(invoke: Callable[..., Result], home_store: Store) -> None:
    today = D(2026, 6, 1)
    home_store.upsert_accounts([
        account("yesterday", renewal=today - timedelta(days=1)),
        account("today", renewal=today),
        account("day-90", renewal=today + timedelta(days=90)),
        account("day-91", renewal=today + timedelta(days=91)),
    ])
    with freeze_time("2026-06-01"):
        document = as_json(invoke("renewals", "--json"))
        from_only = as_json(invoke("renewals", "--from", "2026-05-31", "--json"))
    assert (document["from"], document["to"]) == ("2026-06-01", "2026-08-30")
    assert [r["account"] for r in document["renewals"]] == ["today", "day-90"]
    assert [r["account"] for r in from_only["renewals"]] == ["yesterday", "today"]


@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        (("--quarter", "FY27Q5"), ("'--quarter'", "'FY27Q5' is not a fiscal quarter")),
        (("--quarter", "27Q1"), ("'--quarter'", "'27Q1' is not a fiscal quarter")),
        (("--quarter", "FY27Q1", "--from", "2026-01-01"), ("--quarter: cannot be combined with --from",)),
        (("--quarter", "FY27Q1", "--to", "2026-01-01"), ("--quarter: cannot be combined with --to",)),
        (("--from", "2026-05-01", "--to", "2026-04-01"), ("--to: 2026-04-01 is before --from 2026-05-01",)),
        (("--from", "2026-02-30",), ("'--from'",)),
    ],
)
def test_renewals_refuses_a_bad_window(invoke: Callable[..., Result], journey_home: Path, args: tuple[str, ...], pieces: tuple[str, ...]) -> None:
    assert_exit_2(invoke("renewals", *args), *pieces)


def test_deployments_oldest_first_with_the_open_follow_up(invoke: Callable[..., Result], home_store: Store) -> None:
    later = D(2027, 6, 1)
    home_store.upsert_accounts([
        account("recent", deployment="self-hosted", signed=D(2026, 5, 1), renewal=later),
        account("stalled", deployment="self-hosted", signed=D(2026, 1, 1), renewal=later, ta="tom"),
        account("live", deployment="self-hosted", signed=D(2025, 12, 1), production_ready=D(2026, 1, 15), renewal=later),
        account("cloudy", signed=D(2025, 11, 1), renewal=later),
    ])
    mirror(home_store, "stalled", stage="onboarding")
    key = task(home_store, "stalled", "deployment-follow-up", D(2026, 6, 3))
    with freeze_time("2026-06-01"):
        rows = as_json(invoke("deployments", "--json"))
    assert rows == [
        {"account": "stalled", "name": "Stalled", "signed": "2026-01-01", "days_since_signed": 151, "stage": "onboarding",
         "ta": "tom", "follow_up_due": "2026-06-03", "follow_up_key": key},
        {"account": "recent", "name": "Recent", "signed": "2026-05-01", "days_since_signed": 31, "stage": "signed",
         "ta": "tara", "follow_up_due": None, "follow_up_key": None},
    ]


# ----- assess -----


def test_assess_without_an_open_task_is_recorded_and_says_so(invoke: Callable[..., Result], home_store: Store) -> None:
    home_store.upsert_accounts([account("acme", renewal=D(2026, 12, 1))])
    first = invoke("assess", "acme", "--ae-risk", "budget review", "--ta-risk", "slow search", "--on", "2026-10-02")
    assert first.exit_code == 0, first.output
    assert "no renewal-assessment task was open for 2026-10: recorded without closing one" in first.output
    second = as_json(invoke("assess", "acme", "--ae-risk", "budget cut", "--ta-risk", "upgrade stuck", "--on", "2026-10-20", "--json"))
    assert second == {"account": "acme", "month": "2026-10", "on": "2026-10-20", "ae_risk": "budget cut",
                      "ta_risk": "upgrade stuck", "red": False, "replaced": True, "task_closed": None, "health": None}
    assert [(a.on, a.ae_risk) for a in home_store.assessments("acme")] == [(D(2026, 10, 20), "budget cut")]
    timeline = invoke("timeline", "acme")
    assert timeline.output.count("renewal-assessment") == 1, timeline.output
    assert "2026-10-20  event       renewal-assessment     month=2026-10, ae_risk=budget cut, ta_risk=upgrade stuck, red=False" in timeline.output


@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        (("acme", "--ae-risk", "  ", "--ta-risk", "fine"), ("--ae-risk", "must not be empty")),
        (("acme", "--ae-risk", "fine", "--ta-risk", ""), ("--ta-risk", "must not be empty")),
        (("acme", "--ae-risk", "x" * 901, "--ta-risk", "fine"), ("--ae-risk", "at most 900 characters")),
        (("nobody", "--ae-risk", "fine", "--ta-risk", "fine"), ("no account 'nobody'",)),
        (("acme", "--ta-risk", "fine"), ("--ae-risk",)),
    ],
)
def test_assess_refuses_bad_input_and_writes_nothing(
    invoke: Callable[..., Result], home_store: Store, args: tuple[str, ...], pieces: tuple[str, ...]
) -> None:
    home_store.upsert_accounts([account("acme", renewal=D(2026, 12, 1))])
    assert_exit_2(invoke("assess", *args, "--red"), *pieces)
    assert home_store.assessments("acme") == [] and home_store.timeline("acme") == []


def test_assess_records_nothing_when_the_journey_cannot_be_told(invoke: Callable[..., Result], home_store: Store) -> None:
    home_store.upsert_accounts([account("acme", renewal=D(2026, 12, 1))])
    result = invoke("assess", "acme", "--ae-risk", "champion left", "--ta-risk", "fine", "--red", "--on", "2026-10-02")
    assert result.exit_code == 1 and "cannot reach Temporal" in result.output, result.output
    assert home_store.assessments("acme") == []


# ----- assess against a journey -----

ENROLLED = D(2026, 3, 10)


@pytest.mark.asyncio(loop_scope="session")
async def test_assess_closes_the_months_task_and_starts_the_red_accounts_program(
    store: Store, task_queue: str, invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers.journeys import own_time_skipping_env, quiet_settings
    from workflows.worker import build_worker

    # The command line's own client talks to the server from another thread, and the
    # account goes red: a server of its own.
    async with own_time_skipping_env() as env, build_worker(env.client, store, task_queue=task_queue, settings=quiet_settings()):
        await _assess_against(env, store, task_queue, invoke, monkeypatch)


async def _assess_against(
    env: Any, store: Store, task_queue: str, invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from journey.domain import names
    from journey.temporal.journeys import enroll_one, send_event

    # Mid-life: the renewal stage opened two days ago, so its first assessment task is open.
    acme = Account.model_validate({
        "id": "acme", "name": "Acme", "segment": "strategic", "tier": 1, "seats": 100, "arr": 90_000,
        "signed": D(2025, 6, 8), "renewal": ENROLLED + timedelta(days=88), "ta": "ana", "ae": "sam",
        "production_ready": D(2025, 7, 1), "onboarding_complete": D(2025, 8, 1),
        "contacts": [{"name": "Cleo", "email": "cleo@example.com", "role": "champion"}],
    })
    assert await enroll_one(env.client, acme, today=ENROLLED, task_queue=task_queue)
    open_task = await eventually(lambda: _open_assessment_task(store))
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("JOURNEY_DATABASE_URL", store.url.render_as_string(hide_password=False))

    result = await asyncio.to_thread(
        invoke, "assess", "acme", "--ae-risk", "champion left", "--ta-risk", "SSO broken", "--red",
        "--on", ENROLLED.isoformat(), "--json",
    )
    document = as_json(result)
    assert (document["task_closed"], document["health"], document["replaced"]) == (open_task, "red", False)

    done = {t.key: t.status for t in store.tasks(account="acme", status=None)}
    assert done[open_task] == "done"
    row = store.find_account("acme")
    assert row is not None and row.health == "red"
    assert row.health_reason == "renewal assessment 2026-03: AE: champion left; TA: SSO broken"
    timeline = [(r.kind, r.name, r.detail) for r in store.timeline("acme")]
    assert ("event", "renewal_assessment", {"month": "2026-03", "ae_risk": "champion left", "ta_risk": "SSO broken", "red": True}) in timeline
    assert ("health", "red") in [(kind, name) for kind, name, _ in timeline]
    # The Red Accounts Program has its tracker row, the risks as its reason.
    red_rows = await eventually(lambda: _one_red_row(store))
    assert red_rows.reason == row.health_reason
    # Promoted and its remediation ended before the journey goes: a red journey ended
    # by hand would hold the shared time-skipping server's clock for the tests after it.
    await send_event(env.client, "acme", "set_health", {"color": "green", "reason": "test over"})
    await env.client.get_workflow_handle(names.remediation_workflow_id("acme", 1)).result()
    await env.client.get_workflow_handle(names.journey_workflow_id("acme")).terminate("test over")


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """`check()` once it stops failing; the worker runs on this event loop, so wait without blocking it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if loop.time() > deadline:
                raise
        await asyncio.sleep(0.1)


def _open_assessment_task(store: Store) -> str:
    keys = [t.key for t in store.tasks(account="acme") if t.touchpoint == "renewal-assessment" and t.due.month == ENROLLED.month]
    assert keys, store.tasks(account="acme")
    return keys[0]


def _one_red_row(store: Store) -> Any:
    rows = store.red_rows("acme")
    assert len(rows) == 1, rows
    return rows[0]
