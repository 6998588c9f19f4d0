"""The outbox's weekly cap per contact, and held rows, on SQLite and PostgreSQL: an email
over its recipient's cap is put off to next week's send window, never dropped, and two
senders cannot both take the last place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from journey.domain.effects import Delivery, DeliveryChange, Effects
from journey.domain.sendwindow import SendRule
from journey.store import Store
from tests.helpers.accounts import make_account

# Tuesday 2026-12-08, 11:00 in Tokyo.
TUESDAY = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
TOKYO = SendRule(timezone="Asia/Tokyo", window="09:00-17:00", country="JP")


def email(key: str, *, cap: int | None = 2, recipient: str = "chris@acme.example", held: bool = False) -> Delivery:
    return Delivery(
        key=key, account="acme", touchpoint=key.split("/")[1], channel="email", recipient=recipient, subject="s",
        body="b", due=date(2026, 12, 8), timezone="Asia/Tokyo", send_rule=TOKYO, contact_cap=cap, held=held,
    )


def queue(store: Store, *deliveries: Delivery) -> None:
    store.upsert_accounts([make_account("acme")])
    store.apply_effects(Effects(account="acme", deliveries=list(deliveries)))


def send(store: Store, key: str, at: datetime = TUESDAY) -> bool:
    row = store.claim_delivery(key, at)
    if row is None:
        return False
    assert store.hand_over(key, str(row.claim))
    assert store.mark_delivery(key, "sent", claim=str(row.claim))
    return True


def test_an_email_over_the_weekly_cap_waits_for_next_weeks_window(any_store: Store) -> None:
    queue(any_store, email("acme/a/1"), email("acme/b/1"), email("acme/c/1"), email("acme/d/1", cap=None),
          email("acme/e/1", recipient="bea@acme.example"))
    assert send(any_store, "acme/a/1") and send(any_store, "acme/b/1")
    assert not send(any_store, "acme/c/1")
    (row,) = any_store.deliveries(keys=["acme/c/1"])
    # Next Monday 09:00 in Tokyo: the first moment of next week's window.
    assert (row.status, row.send_after) == ("pending", datetime(2026, 12, 14, 0, 0, tzinfo=UTC))
    assert "chris@acme.example has had 2 emails this week" in str(row.last_error)
    # Not before its new moment; then it goes (the week's count starts again).
    assert not send(any_store, "acme/c/1", datetime(2026, 12, 13, 23, 0, tzinfo=UTC))
    assert send(any_store, "acme/c/1", datetime(2026, 12, 14, 0, 5, tzinfo=UTC))
    # Uncapped rows, and other recipients, are not held back by it.
    assert send(any_store, "acme/d/1") and send(any_store, "acme/e/1")


def test_the_week_is_the_recipients_local_week(any_store: Store) -> None:
    queue(any_store, email("acme/a/1", cap=1), email("acme/b/1", cap=1))
    sunday_night_tokyo = datetime(2026, 12, 13, 14, 0, tzinfo=UTC)  # Sunday 23:00 in Tokyo
    assert send(any_store, "acme/a/1", sunday_night_tokyo)
    monday_tokyo = datetime(2026, 12, 13, 15, 30, tzinfo=UTC)  # Monday 00:30 in Tokyo: a new week
    assert send(any_store, "acme/b/1", monday_tokyo)


def test_two_senders_cannot_both_take_the_last_place(any_store: Store) -> None:
    queue(any_store, *(email(f"acme/t{n}/1", cap=1) for n in range(6)))
    with ThreadPoolExecutor(max_workers=6) as pool:
        claimed = list(pool.map(lambda n: any_store.claim_delivery(f"acme/t{n}/1", TUESDAY), range(6)))
    assert sum(row is not None for row in claimed) == 1
    assert sorted(r.status for r in any_store.deliveries()) == ["pending"] * 5 + ["sending"]


def test_held_rows_wait_and_only_a_held_row_is_reviewed(any_store: Store) -> None:
    queue(any_store, email("acme/a/1", held=True), email("acme/b/1"))
    assert any_store.claim_delivery("acme/a/1", TUESDAY) is None
    assert any_store.edit_held("acme/a/1", "rita", subject="New subject")
    assert not any_store.edit_held("acme/b/1", "rita", subject="Not held")
    later = TUESDAY + timedelta(hours=1)
    approve = DeliveryChange(key="acme/a/1", touchpoint="a", status="pending", reviewed_by="rita", send_after=later)
    skip = DeliveryChange(key="acme/b/1", touchpoint="b", status="skipped", reviewed_by="rita", reason="r")
    any_store.apply_effects(Effects(account="acme", delivery_changes=[approve, skip]))
    rows = {r.key: r for r in any_store.deliveries()}
    assert (rows["acme/a/1"].status, rows["acme/a/1"].subject, rows["acme/a/1"].reviewed_by) == ("pending", "New subject", "rita")
    assert rows["acme/a/1"].send_after == later
    assert rows["acme/b/1"].status == "pending"  # never held: the skip leaves it alone
    assert [r.key for r in any_store.due_deliveries(later)] == ["acme/a/1"]
    assert any_store.due_deliveries(later - timedelta(minutes=1)) == []
