"""The quarterly account plan (journey.reports.plan): its sections, what carries from one
quarter into the next, the health as the sweep stored it, text from data escaped in the
markdown and the HTML, and the plan attached to the account-plan task as it opens."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from temporalio.testing import WorkflowEnvironment

from activities.messages import ReportRequest
from activities.store import StoreActivities
from journey.config import health_config_path
from journey.domain.effects import Effects, TaskOpen
from journey.domain.enums import Stage
from journey.domain.health import load_health_config
from journey.domain.models import Account
from journey.domain.names import Activity, journey_workflow_id
from journey.reports.plan import account_plan, plan_html, plan_markdown, plan_quarter_for, review
from journey.store import Store
from journey.store.book import FeedbackItem
from journey.store.schema import accounts
from journey.temporal.journeys import enroll_one
from tests.helpers.accounts import make_account
from tests.helpers.journeys import advance_to, quiet_settings
from tests.helpers.markdown import render
from tests.helpers.stores import add_usage
from workflows.worker import build_worker

IMG = "<img src=x onerror=alert(1)>"
PIPE = "| pipe | **bold**"
Q1_DAY = date(2026, 3, 2)  # FY27Q1: 2026-02-01 to 2026-04-30
Q2_DAY = date(2026, 5, 12)  # FY27Q2: 2026-05-01 to 2026-07-31


def _items(store: Store) -> None:
    store.add_plan_item("acme", "objective", "Train 50 users", date(2026, 2, 10))  # 1, met in Q1
    store.add_plan_item("acme", "objective", "Reach 80% utilization", date(2026, 2, 10))  # 2, open
    store.add_plan_item("acme", "risk", "Champion may leave", date(2026, 2, 11))  # 3, open
    store.add_plan_item("acme", "opportunity", "Expand to the EU team", date(2026, 2, 12))  # 4
    store.add_plan_item("acme", "use-case", "Code search", date(2026, 2, 12))  # 5
    store.add_plan_item("acme", "risk", "Budget freeze", date(2026, 2, 13))  # 6, dropped in Q1
    store.close_plan_item("acme", 1, "met", date(2026, 4, 2), notes="62 trained")
    store.close_plan_item("acme", 6, "dropped", date(2026, 3, 20))


def test_open_items_carry_over_and_closed_objectives_show_next_quarter(store: Store) -> None:
    store.upsert_accounts([make_account("acme", signed=date(2025, 6, 1), renewal=date(2027, 6, 1))])
    _items(store)
    q1 = account_plan(store, "acme", "FY27Q1", date(2026, 4, 30))
    assert [(i.item, i.status, i.outcome) for i in q1.objectives] == [(1, "closed", "met"), (2, "open", None)]
    assert [(i.item, i.status) for i in q1.risks] == [(3, "open"), (6, "closed")]

    q2 = account_plan(store, "acme", "FY27Q2", Q2_DAY)
    document = q2.document()
    assert (document["quarter"], document["from"], document["to"]) == ("FY27Q2", "2026-05-01", "2026-07-31")
    assert [(i["item"], i["carried_over"]) for i in document["objectives"]] == [(2, True)]
    assert [i["item"] for i in document["risks"]] == [3]
    assert [i["text"] for i in document["opportunities"]] == ["Expand to the EU team"]
    assert [i["text"] for i in document["use_cases"]] == ["Code search"]
    last = document["last_quarter"]
    assert (last["quarter"], last["from"], last["to"]) == ("FY27Q1", "2026-02-01", "2026-04-30")
    assert last["objectives"] == [
        {"item": 1, "text": "Train 50 users", "outcome": "met", "notes": "62 trained", "closed_on": "2026-04-02"},
        {"item": 2, "text": "Reach 80% utilization", "outcome": None, "notes": None, "closed_on": None},
    ]
    # Two quarters on, the met objective is history; the open one is last quarter's, still open.
    q3 = account_plan(store, "acme", "FY27Q3", date(2026, 8, 10))
    assert [o.item for o in q3.last_quarter.objectives] == [2]
    # A past quarter's plan reads as it stood then: no item had been raised yet.
    assert account_plan(store, "acme", "FY26Q4", Q2_DAY).objectives == []


def test_the_plan_reads_contacts_usage_nps_feedback_and_the_stored_health(store: Store) -> None:
    store.upsert_accounts([make_account("acme", seats=300, signed=date(2025, 6, 1), renewal=date(2027, 6, 1))])
    with store.transaction() as conn:
        conn.execute(accounts.update().values(stage=Stage.steady.value))
    add_usage(store, [("acme", date(2026, 2, 1) + timedelta(days=d), 60, 150 if d < 60 else 120) for d in range(100)])
    store.write_feedback([
        FeedbackItem(account="acme", date=date(2026, 5, 3), text="Search is slow on monorepos", theme="Search speed"),
        FeedbackItem(account="acme", date=date(2026, 5, 4), text="Slow again", theme="search speed"),
        FeedbackItem(account="acme", date=date(2026, 4, 4), text="Last quarter's", theme="batch changes"),
    ])
    store.record_scores(store.score_accounts(date(2026, 5, 10), load_health_config(health_config_path())))
    plan = account_plan(store, "acme", "FY27Q2", Q2_DAY)
    assert [c["name"] for c in plan.contacts["champion"]] == ["Chris Champion"]
    assert plan.contacts["economic-buyer"][0]["name"] == "Bea Buyer" and plan.contacts["admin"] == []
    assert plan.usage["mau"] == 120 and plan.usage["utilization"] == 0.4 and plan.usage["adoption_target"] == 0.8
    assert plan.feedback["themes"] == [{"theme": "search speed", "count": 2}]
    assert plan.nps == {"since": "2026-02-12", "until": "2026-05-12", "nps": None, "answers": 0, "latest_answer": None}
    # The health as `journey health-score explain --on` reads it, with the measures that hurt.
    current, previous = store.scores_of("acme", Q2_DAY)
    assert plan.health["explain"] == current.document(previous)
    assert plan.health["color"] == current.color.value and plan.health["score"] == current.score
    reasons = plan.health["top_reasons"]
    assert reasons and reasons[0]["measure"] == "utilization" and reasons[0]["cap"] is not None


def test_data_is_escaped_in_the_markdown_and_the_html(store: Store) -> None:
    store.upsert_accounts([make_account("acme", name=IMG, signed=date(2025, 6, 1), renewal=date(2027, 6, 1))])
    store.add_plan_item("acme", "risk", PIPE, Q1_DAY)
    store.write_feedback([FeedbackItem(account="acme", date=Q1_DAY, text="<script>alert(2)</script>", theme="x|y")])
    plan = account_plan(store, "acme", "FY27Q1", Q1_DAY)

    page = plan_html(plan)
    assert "<img src=x" not in page and "<script>alert" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<td>| pipe | **bold**</td>" in page

    text = plan_markdown(plan)
    rendered = render(text)
    assert "<img" not in rendered and "<script" not in rendered and "<strong>" not in rendered
    # The item is one cell of its table, shown as typed.
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    cells = [t.children[0].content for t in tokens if t.type == "inline" and t.children]
    assert PIPE in cells and IMG in "".join(cells)


def test_a_plan_is_for_the_quarter_that_starts_nearest_its_due_date() -> None:
    # Tier 1: two weeks before the quarter; tiers 2-3: a week into it.
    assert plan_quarter_for(date(2026, 4, 17)) == "FY27Q2"
    assert plan_quarter_for(date(2026, 5, 8)) == "FY27Q2"
    assert plan_quarter_for(date(2027, 1, 18)) == "FY28Q1"


def test_the_review_puts_what_needs_attention_first(store: Store) -> None:
    today = date(2026, 5, 12)
    store.upsert_accounts([
        make_account("calm", ta="ana", renewal=date(2026, 8, 1)),
        make_account("late", ta="ana", renewal=date(2027, 3, 1)),
        make_account("soon", ta="ana", renewal=date(2026, 6, 1)),
        make_account("yellow", ta="ana", renewal=date(2027, 3, 1)),
        make_account("red", ta="ana", renewal=date(2027, 4, 1)),
        make_account("other", ta="bo"),
    ])
    with store.transaction() as conn:
        conn.execute(accounts.update().where(accounts.c.id == "red").values(health="red"))
        conn.execute(accounts.update().where(accounts.c.id == "yellow").values(health="yellow"))
    store.apply_effects(Effects(account="late", open_tasks=[
        TaskOpen(key="late/qbr/1", account="late", touchpoint="qbr", title="QBR", owner_role="ta", owner="ana", due=date(2026, 5, 1)),
        TaskOpen(key="late/qbr/2", account="late", touchpoint="qbr", title="QBR", owner_role="ta", owner="ana", due=date(2026, 6, 1)),
    ]))
    store.add_plan_item("red", "risk", "Champion left", date(2026, 5, 1))
    add_usage(store, [("calm", date(2026, 5, 1), 100, 450)])
    built = review(store, "ana", today)
    assert [a.account for a in built.accounts] == ["red", "yellow", "late", "soon", "calm"]
    by_id = {a.account: a for a in built.accounts}
    assert (by_id["late"].open_tasks, by_id["late"].overdue_tasks) == (2, 1)
    assert by_id["red"].risks == [{"item": 1, "text": "Champion left"}]
    assert (by_id["calm"].utilization, by_id["calm"].below_target) == (0.9, False)
    assert by_id["soon"].utilization is None and by_id["soon"].days_to_renewal == 20


def test_the_account_plan_task_gets_its_plan_attached(store: Store, tmp_path: Path) -> None:
    store.upsert_accounts([make_account("acme", signed=date(2025, 6, 1), renewal=date(2027, 6, 1))])
    store.add_plan_item("acme", "objective", "Reach 80% utilization", date(2026, 2, 10))
    task = TaskOpen(
        key="acme/account-plan/2026-04-17", account="acme", touchpoint="account-plan", title="Quarterly account plan",
        owner_role="ta", owner="tara", due=date(2026, 4, 17),
    )
    activities = StoreActivities(store, reports_dir=tmp_path / "reports")
    activities.apply_effects(Effects(account="acme", open_tasks=[task]))
    html = activities.attach_report(ReportRequest(account="acme", task_key=task.key, touchpoint=task.touchpoint, on=task.due))

    # Due two weeks before FY27Q2 (tier 1): that quarter's plan, with FY27Q1 as last quarter.
    assert html == str(tmp_path / "reports" / "acme" / "acme-plan-FY27Q2.html")
    assert Path(html).is_file() and Path(html).with_suffix(".md").is_file()
    [row] = store.tasks(account="acme")
    assert row.notes is not None and html in row.notes
    [attached] = [r for r in store.timeline("acme") if r.kind == "task"]
    assert attached.detail["status"] == "plan attached" and attached.detail["quarter"] == "FY27Q2"
    assert "Reach 80% utilization" in Path(html).read_text()


def test_the_roadmap_review_task_gets_the_plan_with_the_accounts_feedback(store: Store, tmp_path: Path) -> None:
    store.upsert_accounts([make_account("acme", segment="small-enterprise", signed=date(2025, 6, 1), renewal=date(2027, 6, 1))])
    store.write_feedback([FeedbackItem(account="acme", date=date(2026, 5, 3), text="Search is slow on monorepos", theme="Search speed")])
    task = TaskOpen(
        key="acme/roadmap-review/2026-05-20", account="acme", touchpoint="roadmap-review",
        title="Roadmap review and product feedback session", owner_role="ta", owner="tara", due=date(2026, 5, 20),
    )
    activities = StoreActivities(store, reports_dir=tmp_path / "reports")
    activities.apply_effects(Effects(account="acme", open_tasks=[task]))
    html = activities.attach_report(ReportRequest(account="acme", task_key=task.key, touchpoint=task.touchpoint, on=task.due))
    assert html is not None
    markdown = Path(html).with_suffix(".md").read_text()
    assert "Search is slow on monorepos" in markdown and "search speed" in markdown
    [row] = store.tasks(account="acme")
    assert row.notes is not None and html in row.notes


@pytest.mark.asyncio(loop_scope="session")
async def test_a_journey_opening_its_account_plan_attaches_the_plan(store: Store, task_queue: str, tmp_path: Path) -> None:
    """In a running journey the plan comes from the `attach_report` activity, behind the
    `account-plan-attached` patch, once the account-plan task is written."""
    from tests.helpers.journeys import own_time_skipping_env

    # This journey moves the clock by a month: a server of its own.
    async with own_time_skipping_env() as env:
        await _plan_attached_in(env, store, task_queue, tmp_path)


async def _plan_attached_in(env: WorkflowEnvironment, store: Store, task_queue: str, tmp_path: Path) -> None:
    today = date(2026, 4, 1)
    account = Account(
        id="acme-plan", name="Acme Plan", segment="strategic", tier=2, seats=100, arr=1000.0,
        signed=date(2025, 6, 1), renewal=date(2027, 6, 1), ta="ana", ae="sam",
        production_ready=date(2025, 7, 1), onboarding_complete=date(2025, 8, 1),
    )
    running = build_worker(env.client, store, task_queue=task_queue, settings=quiet_settings(), reports_dir=tmp_path / "reports")
    async with running:
        assert await enroll_one(env.client, account, today=today, task_queue=task_queue)
        handle = env.client.get_workflow_handle(journey_workflow_id(account.id))
        # Tier 2: due a week into FY27Q2 (2026-05-08); the task opens ahead of that.
        status = await advance_to(env, handle, date(2026, 5, 2))
        assert "account-plan" in {t.touchpoint for t in status.open_tasks}
        [task] = [t for t in store.tasks(account=account.id) if t.touchpoint == "account-plan"]
        assert task.notes is not None and task.notes.startswith("plan FY27Q2: ")
        assert (tmp_path / "reports" / account.id / f"{account.id}-plan-FY27Q2.md").is_file()
        history = await handle.fetch_history()
        assert Activity.ATTACH_REPORT in [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        patches = [
            json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
            for e in history.events
            if e.HasField("marker_recorded_event_attributes") and e.marker_recorded_event_attributes.marker_name == "core_patch"
        ]
        assert "account-plan-attached" in patches
        await handle.terminate("test done")
