"""The bounds of `journey.domain.bounds`, as the models that cross a boundary apply them:
each limit itself is accepted, the next value past it is refused naming the field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from journey.domain.errors import InvalidEvent, PayloadError
from journey.domain.events import parse_event, parse_metrics
from journey.domain.measurements import NpsRow, UsageRow
from journey.domain.models import Account
from tests.domain.test_engine import account, enrolled


def refusal(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises((ValidationError, PayloadError)) as caught:
        call(*args, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize(
    ("field", "limit", "past"),
    [
        ("seats", 10_000_000, 10_000_001),
        ("arr", 1e12, 1e12 * (1 + 1e-15)),
        ("signed", date(2000, 1, 1), date(1999, 12, 31)),
        ("renewal", date(2100, 12, 31), date(2101, 1, 1)),
        ("name", "n" * 200, "n" * 201),
        ("ta", "t" * 200, "t" * 201),
    ],
)
def test_account_limits(field: str, limit: object, past: object) -> None:
    assert getattr(account(**{field: limit}), field) == limit
    assert field in refusal(account, **{field: past})


@pytest.mark.parametrize("arr", [float("inf"), float("-inf"), float("nan"), 1e999])
def test_arr_must_be_finite(arr: float) -> None:
    assert "finite" in refusal(account, arr=arr)


@pytest.mark.parametrize("account_id", ["acme\n", "acme\x00", "ac\u202eme"])
def test_an_account_id_is_a_slug_to_its_last_character(account_id: str) -> None:
    assert "slug" in refusal(account, id=account_id)


@pytest.mark.parametrize(
    ("text", "code"),
    [("\x1b[31m", "U+001B"), ("a\x7fb", "U+007F"), ("a\x9bb", "U+009B"), ("a\u202ab", "U+202A"), ("a\u2069b", "U+2069"), ("two\nlines", "U+000A")],
)
def test_names_and_reasons_refuse_control_characters(text: str, code: str) -> None:
    assert code in refusal(account, name=f"Acme {text}")
    assert code in refusal(parse_event, "offboard", {"reason": text})


def test_notes_may_run_over_lines() -> None:
    notes = "agenda:\r\n\t1. rollout\n\t2. training"
    assert parse_event("touchpoint_done", {"touchpoint": "qbr", "notes": notes}).notes == notes  # type: ignore[attr-defined]
    assert "U+000D" in refusal(parse_event, "touchpoint_done", {"touchpoint": "qbr", "notes": "old mac\rline"})
    assert "notes" in refusal(parse_event, "touchpoint_done", {"touchpoint": "qbr", "notes": "n" * 10_001})


def test_usage_counts_fit_the_database() -> None:
    assert UsageRow(account="acme", date=date(2026, 1, 1), dau=0, mau=100_000_000).mau == 100_000_000
    message = refusal(UsageRow, account="acme", date=date(2026, 1, 1), dau=1, mau=2**63)
    assert "mau" in message and "100000000" in message
    assert "respondent" in refusal(NpsRow, account="acme", date=date(2026, 1, 1), score=9, respondent="\x1b")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"on": "2099-01-01", "utilization": -50, "color": "red"}, "utilization"),
        ({"utilization": float("inf")}, "utilization"),
        ({"consumption": float("nan")}, "consumption"),
        ({"color": "purple"}, "color"),
        ({"reason": "r" * 2001}, "reason"),
        ({"on": "0001-01-01"}, "on"),
        ({"score": 3}, "score"),
    ],
)
def test_metrics_update_bounds(data: dict[str, Any], field: str) -> None:
    assert f"field '{field}'" in refusal(parse_metrics, data)


def test_a_renewal_a_year_past_the_last_date_needs_its_date() -> None:
    """A term ending in 2100 renews only to a date the next term's input can hold."""
    today = date(2100, 12, 1)
    engine = enrolled(today, signed=date(2100, 1, 4), renewal=date(2100, 12, 31))
    payload = parse_event("renewal_closed", {"outcome": "renewed"})
    with pytest.raises(InvalidEvent, match="renewal_date"):
        engine.validate("renewal_closed", payload, today)
    assert Account.model_validate(engine.s.account.model_dump()).renewal == date(2100, 12, 31)
    churned = parse_event("renewal_closed", {"outcome": "churned"})
    assert engine.validate("renewal_closed", churned, today) == today
