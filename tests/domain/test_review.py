"""Review before send, in the engine alone: held touches, the TA's review task, approvals
and skips, and the playbook keys that ask for them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from journey.domain.engine import Engine
from journey.domain.engine.review import REVIEW_TASK, parse_deliveries_reviewed
from journey.domain.errors import InvalidEvent, PayloadError
from journey.domain.events import parse_event
from journey.domain.models import Contact
from journey.domain.playbook import Playbook
from journey.domain.playbook_files import PlaybookError, load_playbook
from tests.domain.test_engine import PLAYBOOKS, account

MONDAY = date(2026, 1, 5)


def digital(**changes: object) -> Playbook:
    from journey.domain.enums import EngagementModel

    return PLAYBOOKS[EngagementModel.digital].model_copy(update=changes)


def enrolled(playbook: Playbook, today: date = MONDAY) -> Engine:
    acct = account(segment="commercial", signed=today,
                   contacts=[Contact(name="Chris", email="chris@acme.example", role="champion")])
    engine = Engine.enroll(acct, playbook, today, chain="t")
    engine.place(today)
    engine.advance(today)
    return engine


def reviewed(action: str, *keys: str, **extra: object) -> object:
    return parse_deliveries_reviewed({"action": action, "keys": list(keys), "by": "rita", **extra})


def test_a_reviewed_playbook_holds_its_touches_and_the_rest_go_as_before() -> None:
    engine = enrolled(digital(review=True))
    effects = engine.take_effects()
    license_key = next(d for d in effects.deliveries if d.touchpoint == "license-key")
    assert license_key.held and license_key.key == "acme/license-key/2026-01-05"
    row = next(e for e in effects.timeline if e.name == "license-key")
    assert row.detail["status"] == "held"
    assert [(h.key, h.due) for h in engine.status(MONDAY).held_deliveries] == [(license_key.key, MONDAY)]

    plain = enrolled(digital())
    assert not any(d.held for d in plain.take_effects().deliveries)
    assert plain.status(MONDAY).held_deliveries == []


def test_a_touchpoint_may_ask_for_review_alone() -> None:
    book = digital()
    touchpoints = tuple(tp.model_copy(update={"review": True}) if tp.id == "license-key" else tp for tp in book.touchpoints)
    engine = enrolled(book.model_copy(update={"touchpoints": touchpoints}))
    engine.advance(MONDAY + timedelta(days=1))
    held = {d.touchpoint: d.held for d in engine.take_effects().deliveries}
    assert held == {"license-key": True, "nurture-email": False}


def test_an_unreviewed_touch_becomes_the_tas_task_after_review_days_and_stays_held() -> None:
    engine = enrolled(digital(review=True, review_days=2))
    engine.take_effects()
    key = "acme/license-key/2026-01-05"
    assert engine.next_wake_summary(MONDAY)[0] == MONDAY + timedelta(days=1)  # nurture-email; then the review task
    engine.advance(MONDAY + timedelta(days=1))
    engine.take_effects()
    assert engine.next_wake_summary(MONDAY + timedelta(days=1)) == (
        MONDAY + timedelta(days=2), f"license-key held for review; review task {MONDAY + timedelta(days=2)}"
    )
    engine.advance(MONDAY + timedelta(days=2))
    effects = engine.take_effects()
    task = next(t for t in effects.open_tasks if t.touchpoint == REVIEW_TASK)
    assert (task.key, task.owner, task.due) == (f"{key}/review", "ana", MONDAY + timedelta(days=2))
    assert f"journey deliveries show {key}" in task.title
    assert key in [h.key for h in engine.status(MONDAY).held_deliveries]
    engine.advance(MONDAY + timedelta(days=9))
    again = [t.key for t in engine.take_effects().open_tasks if t.touchpoint == REVIEW_TASK]
    assert key + "/review" not in again  # one task per held touch, once

    engine.review_deliveries(reviewed("approve", key, late=True), MONDAY + timedelta(days=9), datetime(2026, 1, 14, 10, tzinfo=UTC))
    effects = engine.take_effects()
    assert [(c.key, c.status) for c in effects.task_changes] == [(f"{key}/review", "done")]
    assert f"{key}/review" not in [t.key for t in engine.s.tasks]  # the others' tasks stay open


def test_approve_sends_in_the_window_and_skip_drops_with_who_and_why() -> None:
    engine = enrolled(digital(review=True, send_window="09:00-17:00"))
    engine.advance(MONDAY + timedelta(days=1))
    engine.take_effects()
    first, second = "acme/license-key/2026-01-05", "acme/nurture-email/2026-01-06"
    assert {h.key for h in engine.s.held} == {first, second}
    # Approved on Saturday night: it goes on Monday at 09:00 UTC, the account's window.
    saturday_night = datetime(2026, 1, 10, 22, tzinfo=UTC)
    engine.review_deliveries(reviewed("approve", first), date(2026, 1, 10), saturday_night)
    engine.review_deliveries(reviewed("skip", second, reason="not for this customer"), date(2026, 1, 10), saturday_night)
    effects = engine.take_effects()
    approved, skipped = effects.delivery_changes
    assert (approved.key, approved.status, approved.send_after, approved.reviewed_by) == (
        first, "pending", datetime(2026, 1, 12, 9, tzinfo=UTC), "rita"
    )
    assert (skipped.key, skipped.status, skipped.reason) == (second, "skipped", "skipped in review by rita: not for this customer")
    rows = {e.key: e.detail for e in effects.timeline}
    assert rows[f"{first}/reviewed"] == {"status": "approved", "by": "rita", "delivery": first}
    assert rows[f"{second}/reviewed"] == {"status": "skipped", "by": "rita", "delivery": second, "reason": "not for this customer"}
    assert engine.s.held == []


def test_refusals_name_the_field_and_the_key() -> None:
    engine = enrolled(digital(review=True))
    engine.take_effects()
    key = "acme/license-key/2026-01-05"
    with pytest.raises(InvalidEvent, match="field 'keys': acme/other/2026-01-05 is not held"):
        engine.check_review(reviewed("approve", "acme/other/2026-01-05"), MONDAY)
    late = MONDAY + timedelta(days=8)
    with pytest.raises(InvalidEvent, match=f"field 'late': {key} fell due on 2026-01-05, more than 7 days ago"):
        engine.check_review(reviewed("approve", key), late)
    assert engine.check_review(reviewed("approve", key, late=True), late)
    assert engine.check_review(reviewed("skip", key, reason="too late"), late)  # dropping is never too late
    with pytest.raises(PayloadError, match="reason"):
        parse_deliveries_reviewed({"action": "skip", "keys": [key], "by": "rita"})
    with pytest.raises(PayloadError, match="keys"):
        parse_deliveries_reviewed({"action": "approve", "keys": [], "by": "rita"})
    with pytest.raises(PayloadError, match="action"):
        parse_deliveries_reviewed({"action": "send", "keys": [key], "by": "rita"})


def test_a_journey_that_ends_drops_what_it_still_holds() -> None:
    engine = enrolled(digital(review=True))
    engine.take_effects()
    engine.apply("offboard", parse_event("offboard", {"reason": "contract ended"}), MONDAY)
    changes = engine.take_effects().delivery_changes
    assert [(c.key, c.status) for c in changes] == [("acme/license-key/2026-01-05", "skipped")]
    assert changes[0].reason == "held for review when the journey ended: contract ended"


def test_caps_and_review_keys_are_checked(tmp_path: Path) -> None:
    def load(text: str) -> Playbook:
        path = tmp_path / "digital.toml"
        path.write_text(text)
        return load_playbook(path)

    text = "\n".join([
        'model = "digital"', "review = true", "review_days = 5", "max_emails_per_contact_per_week = 2",
        "[[touchpoints]]", 'id = "tips"', 'title = "Tips"', 'owner = "automated"', 'channel = "email"',
        'anchor = "signed"', "review = false",
    ])
    book = load(text)
    assert (book.review, book.review_days, book.max_emails_per_contact_per_week) == (True, 5, 2)
    assert not book.holds_for_review(book.touchpoints[0])
    with pytest.raises(PlaybookError, match="review_days"):
        load(text.replace("review_days = 5", "review_days = 0"))
    with pytest.raises(PlaybookError, match="max_emails_per_contact_per_week"):
        load(text.replace("max_emails_per_contact_per_week = 2", "max_emails_per_contact_per_week = 0"))
    task = text.replace('owner = "automated"', 'owner = "ta"').replace('channel = "email"', 'channel = "task"')
    with pytest.raises(PlaybookError, match="review: only an automated touch"):
        load(task.replace("review = false", "review = true"))
    with pytest.raises(PlaybookError, match="unknown|extra|not permitted"):
        load(text + "\nreviewers = 2\n")
