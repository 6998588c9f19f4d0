"""Who a journey's customer emails go to: the champion, then the admin, then any contact
with an address; never a TA. No address: the email is recorded `skipped` with its reason,
and the TA gets one task to add a contact."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from journey.domain.effects import Effects
from journey.domain.engine import Engine
from journey.domain.enums import ContactRole
from journey.domain.models import Contact
from journey.domain.touches import ADD_CONTACT, NO_CUSTOMER_ADDRESS, customer_address
from tests.domain.test_engine import account, apply, enrolled

SIGNED = date(2026, 3, 2)
CHAMPION = Contact(name="Chris", email="chris@customer.example", role=ContactRole.champion)
ADMIN = Contact(name="Ada", email="ada@customer.example", role=ContactRole.admin)
ADVOCATE = Contact(name="Tom", email="tom@customer.example", role=ContactRole.tech_advocate)
BUYER_NO_EMAIL = Contact(name="Bea", role=ContactRole.economic_buyer)
CHAMPION_NO_EMAIL = Contact(name="Chris", role=ContactRole.champion)


@pytest.mark.parametrize(
    ("contacts", "address"),
    [
        ([ADVOCATE, ADMIN, CHAMPION], "chris@customer.example"),
        ([ADVOCATE, CHAMPION_NO_EMAIL, ADMIN], "ada@customer.example"),
        ([BUYER_NO_EMAIL, ADVOCATE], "tom@customer.example"),
        ([BUYER_NO_EMAIL, CHAMPION_NO_EMAIL], None),
        ([], None),
    ],
)
def test_customer_address_prefers_champion_then_admin_then_anyone(contacts: list[Contact], address: str | None) -> None:
    assert customer_address(account(contacts=contacts)) == address


def digital(**overrides: object) -> tuple[Effects, Engine]:
    engine = enrolled(SIGNED, segment="commercial", tier=3, signed=SIGNED, **overrides)
    return engine.take_effects(), engine


def test_license_key_goes_to_the_admin_when_there_is_no_champion_address() -> None:
    effects, _ = digital(contacts=[CHAMPION_NO_EMAIL, ADMIN])
    (license_key,) = [d for d in effects.deliveries if d.touchpoint == "license-key"]
    assert (license_key.recipient, license_key.skipped) == ("ada@customer.example", None)
    assert not [t for t in effects.open_tasks if t.touchpoint == ADD_CONTACT]


def test_no_customer_address_skips_the_email_and_asks_the_ta_for_a_contact_once() -> None:
    effects, engine = digital(contacts=[BUYER_NO_EMAIL])
    (license_key,) = [d for d in effects.deliveries if d.touchpoint == "license-key"]
    assert (license_key.recipient, license_key.skipped) == ("", NO_CUSTOMER_ADDRESS)
    (row,) = [r for r in effects.timeline if r.kind == "touchpoint" and r.name == "license-key"]
    assert (row.detail["status"], row.detail["reason"]) == ("skipped", NO_CUSTOMER_ADDRESS)
    (task,) = effects.open_tasks
    assert (task.touchpoint, task.owner_role, task.owner, task.due) == (ADD_CONTACT, "ta", "ana", SIGNED)
    assert task.key == f"acme/{ADD_CONTACT}/{SIGNED}" and "license-key" in task.title

    # The nurture emails that follow are skipped too, without a second task while one is open.
    engine.advance(SIGNED + timedelta(days=15))
    later = engine.take_effects()
    nurture = [d for d in later.deliveries if d.touchpoint == "nurture-email"]
    assert len(nurture) >= 2 and {d.skipped for d in nurture} == {NO_CUSTOMER_ADDRESS}
    assert not [t for t in later.open_tasks if t.touchpoint == ADD_CONTACT]
    assert "ana" not in {d.recipient for d in later.deliveries}

    # `done ACCOUNT add-contact` closes it; the next email without an address opens a new one.
    apply(engine, "touchpoint_done", SIGNED + timedelta(days=16), touchpoint=ADD_CONTACT)
    assert engine.take_effects().task_changes[0].key == task.key
    engine.advance(SIGNED + timedelta(days=23))
    again = [t for t in engine.take_effects().open_tasks if t.touchpoint == ADD_CONTACT]
    assert [t.due for t in again] == [SIGNED + timedelta(days=22)]
