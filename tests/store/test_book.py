"""The account team's book in the store: feedback and its themes, renewal assessments, the
renewal pipeline and the deployments still short of production."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from journey.domain.effects import AccountSnapshot, Effects, TaskChange, TaskOpen, TimelineEntry
from journey.store import Store
from journey.store.book import Assessment, FeedbackItem
from tests.helpers.portfolio import account

D = date


def seed(store: Store, *accounts: Any) -> None:
    store.upsert_accounts(list(accounts))


def mirror(store: Store, account_id: str, *, stage: str = "steady", health: str = "green") -> None:
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


def renewed_on(store: Store, account_id: str, day: date) -> None:
    """The journey entered `renewed` that day: a new term started."""
    entry = TimelineEntry(key=f"{account_id}/renewed/{day}", account=account_id, at=day, kind="stage", name="renewed",
                          detail={"from": "renewal", "trigger": "renewal_closed"})
    store.apply_effects(Effects(account=account_id, timeline=[entry]))


def note(account_id: str, day: date, text: str, theme: str | None = None, contact: str | None = None) -> FeedbackItem:
    return FeedbackItem(account=account_id, date=day, text=text, theme=theme, contact=contact)


# ----- feedback -----


def test_themes_rank_by_accounts_then_arr_each_account_counted_once(any_store: Store) -> None:
    store = any_store
    seed(
        store,
        account("big", arr=500_000.0),
        account("mid", arr=40_000.0),
        account("small", arr=10_000.0),
        account("tiny", arr=5_000.0),
    )
    store.write_feedback([
        # "search": one account, the most ARR and the most items: first by ARR, last by accounts.
        *(note("big", D(2026, 3, d), f"search is slow #{d}", "Search") for d in (1, 2, 3, 4)),
        # "sso": three small accounts: first by accounts.
        note("mid", D(2026, 3, 5), "needs SAML", "sso"),
        note("small", D(2026, 3, 6), "okta please", "SSO"),
        note("tiny", D(2026, 3, 7), "sso for contractors", " sso "),
        # "api" and "export": two accounts each; api's carry more ARR, export has more items.
        note("big", D(2026, 2, 1), "graphql limits", "api"),
        note("tiny", D(2026, 2, 2), "rest pagination", "api"),
        *(note("mid", D(2026, 1, d), f"csv export {d}", "export") for d in (1, 2, 3)),
        note("small", D(2026, 1, 9), "pdf export", "export"),
        # No theme yet: apart, not ranked.
        note("big", D(2026, 3, 9), "love it"),
        note("small", D(2026, 3, 10), "more dashboards"),
    ])
    report = store.feedback_themes()
    ranked = [(t.theme, t.accounts, t.arr, t.items) for t in report.themes]
    assert ranked == [
        ("sso", 3, 55_000.0, 3),
        ("api", 2, 505_000.0, 2),
        ("export", 2, 50_000.0, 4),
        ("search", 1, 500_000.0, 4),
    ]
    # Ordered by ARR alone, the list would start with api and search: the two orders differ.
    assert sorted(ranked, key=lambda t: -t[2])[0][0] != ranked[0][0]
    sso = report.themes[0]
    assert sso.latest == D(2026, 3, 7) and sso.account_ids == ["mid", "small", "tiny"]
    assert report.unthemed is not None
    assert (report.unthemed.theme, report.unthemed.accounts, report.unthemed.arr, report.unthemed.items) == (None, 2, 510_000.0, 2)

    recent = store.feedback_themes(since=D(2026, 3, 6))
    assert [(t.theme, t.accounts, t.items) for t in recent.themes] == [("sso", 2, 2)]


def test_writing_feedback_again_changes_nothing_and_corrects_theme_and_contact(store: Store) -> None:
    seed(store, account("acme"))
    items = [note("acme", D(2026, 3, 1), "  search is slow\non big repos ", "Search  Speed", "Cleo"),
             note("acme", D(2026, 3, 1), "dark mode")]
    first = store.write_feedback(items)
    assert (first.rows, first.inserted, first.updated, first.unchanged) == (2, 2, 0, 0)
    again = store.write_feedback(items)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    stored = store.feedback_items(account="acme")
    assert [(f.text, f.theme, f.contact) for f in stored] == [
        ("search is slow\non big repos", "search speed", "Cleo"),
        ("dark mode", None, None),
    ]
    # The same text that day is the same item: a new theme corrects it.
    corrected = store.write_feedback([note("acme", D(2026, 3, 1), "dark mode", "ui")])
    assert (corrected.inserted, corrected.updated) == (0, 1)
    assert [f.text for f in store.feedback_items(theme="UI")] == ["dark mode"]
    assert store.feedback_items(since=D(2026, 3, 2)) == []


# ----- renewal assessments -----


def test_an_assessment_per_month_the_second_replaces_the_first_on_the_timeline_too(any_store: Store) -> None:
    store = any_store
    seed(store, account("acme"))
    first = Assessment(account="acme", on=D(2026, 10, 3), ae_risk="budget cut", ta_risk="upgrade stuck")
    assert store.record_assessment(first) is False
    second = Assessment(account="acme", on=D(2026, 10, 20), ae_risk="champion left", ta_risk="SSO broken", red=True)
    assert store.record_assessment(second) is True
    assert store.record_assessment(Assessment(account="acme", on=D(2026, 11, 2), ae_risk="ok", ta_risk="ok")) is False
    assert [(a.key, a.on, a.ae_risk, a.ta_risk, a.red) for a in store.assessments("acme")] == [
        ("acme/2026-10", D(2026, 10, 20), "champion left", "SSO broken", True),
        ("acme/2026-11", D(2026, 11, 2), "ok", "ok", False),
    ]
    rows = [(r.at, r.kind, r.name, r.detail) for r in store.timeline("acme")]
    assert rows == [
        (D(2026, 10, 20), "event", "renewal_assessment",
         {"month": "2026-10", "ae_risk": "champion left", "ta_risk": "SSO broken", "red": True}),
        (D(2026, 11, 2), "event", "renewal_assessment", {"month": "2026-11", "ae_risk": "ok", "ta_risk": "ok", "red": False}),
    ]
    assert second.red_reason == "renewal assessment 2026-10: AE: champion left; TA: SSO broken"


def test_the_task_an_assessment_closes(store: Store) -> None:
    """The soonest-due open renewal-assessment task due by the month's end: the month's own,
    or an earlier month's still open (the journey closes the soonest due)."""
    seed(store, account("acme"))
    task(store, "acme", "renewal-assessment", D(2026, 9, 17), status="done")
    october = task(store, "acme", "renewal-assessment", D(2026, 10, 17))
    task(store, "acme", "renewal-assessment", D(2026, 11, 17))  # opened ahead of its month
    task(store, "acme", "check-in", D(2026, 9, 5))
    end_of = {m: Assessment(account="acme", on=D(2026, m, 1), ae_risk="x", ta_risk="x").month_end for m in (9, 10, 12)}
    assert end_of == {9: D(2026, 9, 30), 10: D(2026, 10, 31), 12: D(2026, 12, 31)}
    assert store.open_task_due_by("acme", "renewal-assessment", end_of[9]) is None  # September's is done
    assert store.open_task_due_by("acme", "renewal-assessment", end_of[10]) == october
    assert store.open_task_due_by("acme", "renewal-assessment", end_of[12]) == october  # still open: closed first


# ----- the renewal pipeline -----


def test_renewal_pipeline_lists_the_window_in_date_order_with_the_arr_at_risk(any_store: Store) -> None:
    store = any_store
    first, last = D(2026, 11, 1), D(2027, 1, 31)
    seed(
        store,
        account("before", renewal=first - timedelta(days=1), arr=1.0),
        account("opens", renewal=first, arr=100_000.0),
        account("mid", renewal=D(2026, 12, 15), arr=50_000.0, ta="tom"),
        account("closes", renewal=last, arr=30_000.0),
        account("same-day", renewal=D(2026, 12, 15), arr=20_000.0),
        account("after", renewal=last + timedelta(days=1), arr=2.0),
        account("gone", renewal=D(2026, 12, 1), arr=70_000.0),
    )
    mirror(store, "opens", stage="renewal", health="yellow")
    mirror(store, "mid", stage="renewal", health="red")
    mirror(store, "closes", stage="renewal", health="green")
    mirror(store, "gone", stage="churned", health="red")
    # opens: this term's value review is done. mid: only the last term's was (it renewed since).
    task(store, "opens", "value-review", first - timedelta(days=90), status="done")
    renewed_on(store, "mid", D(2025, 12, 10))
    task(store, "mid", "value-review", D(2025, 9, 16), status="done")
    task(store, "mid", "value-review", D(2026, 9, 16))
    # Assessments: the newest of the term counts; one from before mid's renewal does not.
    store.record_assessment(Assessment(account="opens", on=D(2026, 9, 5), ae_risk="old", ta_risk="old"))
    store.record_assessment(Assessment(account="opens", on=D(2026, 10, 5), ae_risk="budget review", ta_risk="slow search"))
    store.record_assessment(Assessment(account="mid", on=D(2025, 11, 5), ae_risk="last term", ta_risk="last term"))

    pipeline = store.renewal_pipeline(first, last)
    assert [(r.account, r.renewal) for r in pipeline.renewals] == [
        ("opens", first), ("mid", D(2026, 12, 15)), ("same-day", D(2026, 12, 15)), ("closes", last),
    ]
    by_id = {r.account: r for r in pipeline.renewals}
    assert [by_id[a].value_review_done for a in ("opens", "mid", "same-day", "closes")] == [True, False, False, False]
    assert by_id["opens"].assessment == {"on": "2026-10-05", "ae_risk": "budget review", "ta_risk": "slow search", "red": False}
    assert by_id["mid"].assessment is None
    assert (by_id["mid"].health, by_id["mid"].stage) == ("red", "renewal")
    totals = pipeline.totals
    assert totals.arr_renewing == 200_000.0
    assert totals.arr_at_risk == 150_000.0  # opens (yellow) and mid (red)
    assert (totals.accounts, totals.green, totals.yellow, totals.red, totals.at_risk) == (4, 2, 1, 1, 2)
    assert (totals.value_reviews_done, totals.assessed) == (1, 1)

    toms = store.renewal_pipeline(first, last, ta="tom")
    assert [r.account for r in toms.renewals] == ["mid"]
    assert toms.totals.arr_at_risk == 50_000.0


# ----- deployments -----


def test_deployments_are_self_hosted_accounts_not_in_production_oldest_first(any_store: Store) -> None:
    store = any_store
    today = D(2026, 6, 1)
    later = {"renewal": D(2027, 1, 2)}
    seed(
        store,
        account("newer", deployment="self-hosted", signed=D(2026, 4, 1), ta="tom", **later),
        account("older", deployment="self-hosted", signed=D(2026, 1, 2), **later),
        account("live", deployment="self-hosted", signed=D(2025, 12, 1), production_ready=D(2026, 2, 1), **later),
        account("cloud", signed=D(2025, 11, 1), **later),
        account("gone", deployment="self-hosted", signed=D(2025, 10, 1), **later),
    )
    mirror(store, "newer", stage="onboarding")
    mirror(store, "older", stage="onboarding")
    mirror(store, "gone", stage="churned")
    task(store, "older", "deployment-follow-up", D(2026, 5, 20), status="done")
    soonest = task(store, "older", "deployment-follow-up", D(2026, 5, 27))
    task(store, "older", "deployment-follow-up", D(2026, 6, 3))
    rows = [(d.account, d.days_since_signed, d.stage, d.ta, d.follow_up_due, d.follow_up_key) for d in store.deployments(today)]
    assert rows == [
        ("older", 150, "onboarding", "tara", D(2026, 5, 27), soonest),
        ("newer", 61, "onboarding", "tom", None, None),
    ]


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("text", {"text": "   "}),
        ("theme", {"theme": " "}),
        ("date", {"date": D(1999, 12, 31)}),
        ("contact", {"contact": "x" * 201}),
    ],
)
def test_a_feedback_item_names_its_bad_field(field: str, values: dict[str, Any]) -> None:
    from pydantic import ValidationError

    data: dict[str, Any] = {"account": "acme", "date": D(2026, 3, 1), "text": "fine", **values}
    with pytest.raises(ValidationError) as caught:
        FeedbackItem.model_validate(data)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]
