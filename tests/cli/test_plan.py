"""`journey plan ACCOUNT`, `journey plan add|close` and `journey review --ta`, in process:
the plan document holds the items under their sections and the contacts by role; a closed
objective shows with its outcome in the next quarter's plan while open ones carry over;
the files go under $JOURNEY_HOME/reports/ACCOUNT/; bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result

from journey.store import Store
from tests.helpers.accounts import make_account

Invoke = Callable[..., Result]


@pytest.fixture
def home_store(journey_home: Path) -> Iterator[Store]:
    """The store the CLI opens, with acme (TA tara) in it."""
    store = Store.open(f"sqlite:///{journey_home / 'journey.db'}")
    store.upsert_accounts([make_account("acme", signed=date(2025, 6, 1), renewal=date(2027, 6, 1))])
    yield store
    store.close()


def plan_json(invoke: Invoke, *args: str) -> dict:
    result = invoke("plan", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_plan_holds_its_items_and_carries_them_into_the_next_quarter(
    invoke: Invoke, home_store: Store, journey_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = {}
    for flag, text in [
        ("--objective", "Train 50 users"),
        ("--objective", "Reach 80% utilization"),
        ("--risk", "Champion may leave"),
        ("--opportunity", "Expand to the EU team"),
        ("--use-case", "Code search"),
    ]:
        result = invoke("plan", "add", "acme", flag, text, "--on", "2026-02-10")
        assert result.exit_code == 0, result.output
        added[text] = int(result.output)
    assert list(added.values()) == [1, 2, 3, 4, 5]
    closed = invoke("plan", "close", "acme", "1", "--outcome", "met", "--notes", "62 trained", "--on", "2026-04-02")
    assert closed.exit_code == 0, closed.output

    monkeypatch.chdir(tmp_path)  # nothing lands in the current directory by surprise
    q1 = plan_json(invoke, "acme", "--quarter", "FY27Q1", "--on", "2026-04-20")
    assert [(o["text"], o["outcome"]) for o in q1["objectives"]] == [("Train 50 users", "met"), ("Reach 80% utilization", None)]
    assert [r["text"] for r in q1["risks"]] == ["Champion may leave"]
    assert [o["text"] for o in q1["opportunities"]] == ["Expand to the EU team"]
    assert [u["text"] for u in q1["use_cases"]] == ["Code search"]
    assert [c["name"] for c in q1["contacts"]["champion"]] == ["Chris Champion"]
    assert [c["name"] for c in q1["contacts"]["economic-buyer"]] == ["Bea Buyer"]

    q2 = plan_json(invoke, "acme", "--on", "2026-05-12")  # the quarter of --on: FY27Q2
    assert (q2["quarter"], q2["from"], q2["to"]) == ("FY27Q2", "2026-05-01", "2026-07-31")
    assert [(o["item"], o["status"], o["carried_over"]) for o in q2["objectives"]] == [(2, "open", True)]
    assert [r["item"] for r in q2["risks"]] == [3]
    assert q2["last_quarter"]["quarter"] == "FY27Q1"
    assert q2["last_quarter"]["objectives"] == [
        {"item": 1, "text": "Train 50 users", "outcome": "met", "notes": "62 trained", "closed_on": "2026-04-02"},
        {"item": 2, "text": "Reach 80% utilization", "outcome": None, "notes": None, "closed_on": None},
    ]
    folder = journey_home / "reports" / "acme"
    assert q2["paths"] == {"markdown": str(folder / "acme-plan-FY27Q2.md"), "html": str(folder / "acme-plan-FY27Q2.html")}
    assert list(tmp_path.glob("*plan*")) == []

    text = invoke("plan", "acme", "--on", "2026-05-12", "--out", str(tmp_path / "out"))
    assert text.exit_code == 0, text.output
    assert text.output.splitlines() == [
        f"wrote {tmp_path / 'out' / 'acme-plan-FY27Q2.md'}",
        f"wrote {tmp_path / 'out' / 'acme-plan-FY27Q2.html'}",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "nope"], "no account 'nope'"),
        (["plan", "acme", "--quarter", "FY27Q5"], "FY27Q5"),
        (["plan", "add", "acme", "--risk", "  "], "field 'text'"),
        (["plan", "add", "acme", "Both", "--risk", "--objective"], "field 'kind'"),
        (["plan", "add", "nope", "--risk", "x"], "no account 'nope'"),
        (["plan", "close", "acme", "9", "--outcome", "met"], "item 9"),
        (["plan", "close", "acme", "1", "--outcome", "met"], "item 1: plan item 1 of 'acme' is already closed"),
        (["review", "--ta", "nobody"], "'nobody'"),
    ],
)
def test_bad_input_exits_2_naming_it_and_writes_nothing(
    invoke: Invoke, home_store: Store, journey_home: Path, args: list[str], message: str
) -> None:
    home_store.add_plan_item("acme", "objective", "Closed already", date(2026, 2, 10))
    home_store.close_plan_item("acme", 1, "missed", date(2026, 3, 1))
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert [i.number for i in home_store.plan_items("acme")] == [1]
    assert home_store.plan_item("acme", 1).outcome == "missed"
    assert not (journey_home / "reports").exists()


def test_review_lists_a_tas_accounts_by_attention(invoke: Invoke, home_store: Store) -> None:
    home_store.upsert_accounts([make_account("beta", ta="tara", renewal=date(2026, 6, 1))])
    home_store.add_plan_item("acme", "risk", "Champion may leave", date(2026, 5, 1))
    result = invoke("review", "--ta", "tara", "--on", "2026-05-12", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["ta"], document["on"]) == ("tara", "2026-05-12")
    # Both green without overdue tasks: the sooner renewal first.
    assert [a["account"] for a in document["accounts"]] == ["beta", "acme"]
    assert document["accounts"][1]["risks"] == [{"item": 1, "text": "Champion may leave"}]
    text = invoke("review", "--ta", "tara", "--on", "2026-05-12")
    assert text.exit_code == 0 and "risk 1: Champion may leave" in text.output


def test_the_plan_group_explains_its_default_action(invoke: Invoke) -> None:
    result = invoke("plan", "--help")
    assert result.exit_code == 0
    assert "plan ACCOUNT [OPTIONS]" in result.output and "--quarter" in result.output
    assert "plan add ACCOUNT TEXT" in result.output and "plan close ACCOUNT ITEM" in result.output
