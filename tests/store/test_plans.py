"""Account plan items in the store (journey.store.plans): numbered per account, raised in a
fiscal quarter, closed once with an outcome; bad items are refused and nothing is written."""

from __future__ import annotations

from datetime import date

import pytest

from journey.domain.errors import InputError, NotFound
from journey.store import Store
from tests.helpers.accounts import make_account


@pytest.fixture
def store(any_store: Store) -> Store:
    any_store.upsert_accounts([make_account("acme"), make_account("globex")])
    return any_store


def test_items_are_numbered_per_account_and_remember_their_quarter(store: Store) -> None:
    first = store.add_plan_item("acme", "objective", "  Reach 80% utilization  ", date(2026, 2, 10))
    second = store.add_plan_item("acme", "risk", "Champion may leave", date(2026, 5, 1))
    other = store.add_plan_item("globex", "use-case", "Code search", date(2026, 1, 31))
    assert (first.number, second.number, other.number) == (1, 2, 1)
    # The fiscal year starts in February and is named by the year it ends in.
    assert (first.quarter, second.quarter, other.quarter) == ("FY27Q1", "FY27Q2", "FY26Q4")
    assert first.text == "Reach 80% utilization" and first.closed_on is None and first.outcome is None
    assert [i.number for i in store.plan_items("acme")] == [1, 2]


def test_an_item_is_closed_once_with_its_outcome(store: Store) -> None:
    store.add_plan_item("acme", "objective", "Train 50 users", date(2026, 2, 10))
    closed = store.close_plan_item("acme", 1, "met", date(2026, 4, 2), notes="62 trained")
    assert (closed.outcome, closed.closed_on, closed.notes) == ("met", date(2026, 4, 2), "62 trained")
    assert not closed.open_on(date(2026, 4, 2)) and closed.open_on(date(2026, 4, 1))
    with pytest.raises(InputError, match=r"item 1: .*already closed \(met on 2026-04-02\)"):
        store.close_plan_item("acme", 1, "missed", date(2026, 4, 3))
    with pytest.raises(NotFound, match="item 7"):
        store.close_plan_item("acme", 7, "met", date(2026, 4, 3))
    with pytest.raises(NotFound, match="item 1"):
        store.close_plan_item("globex", 1, "met", date(2026, 4, 3))
    assert store.plan_item("acme", 1).outcome == "met"


BAD = [
    (lambda s: s.add_plan_item("acme", "objective", "   ", date(2026, 2, 1)), InputError, "field 'text'"),
    (lambda s: s.add_plan_item("acme", "goal", "x", date(2026, 2, 1)), InputError, "field 'kind'"),
    (lambda s: s.add_plan_item("acme", "risk", "a\x1b[2Jb", date(2026, 2, 1)), InputError, "field 'text'"),
    (lambda s: s.add_plan_item("acme", "risk", "x" * 2001, date(2026, 2, 1)), InputError, "field 'text'"),
    (lambda s: s.add_plan_item("nope", "risk", "x", date(2026, 2, 1)), NotFound, "no account 'nope'"),
    (lambda s: s.close_plan_item("acme", 1, "won", date(2026, 2, 1)), InputError, "field 'outcome'"),
    (lambda s: s.close_plan_item("acme", 1, "met", date(2026, 1, 1)), InputError, "field 'on'"),
]


def test_bad_items_are_refused_and_nothing_changes(store: Store) -> None:
    store.add_plan_item("acme", "objective", "Kept", date(2026, 1, 20))
    for call, error, message in BAD:
        with pytest.raises(error, match=message):
            call(store)
    [kept] = store.plan_items("acme")
    assert (kept.text, kept.closed_on) == ("Kept", None)
