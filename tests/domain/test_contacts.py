"""The account map in the engine: contacts added, changed, removed; the last champion
leaving; and automated emails addressed by role (a touchpoint's `to`)."""

from __future__ import annotations

from datetime import date

import pytest

from journey.domain.engine import StartRemediation
from journey.domain.engine.contacts import ContactsChange, merge, parse_contacts_change
from journey.domain.enums import ContactRole, Health
from journey.domain.errors import InvalidEvent, PayloadError
from journey.domain.models import Contact
from journey.domain.playbook import Playbook, Touchpoint
from journey.domain.touches import customer_address, no_address_reason
from tests.domain.test_engine import PLAYBOOKS, account, enrolled

SIGNED = date(2026, 3, 2)
TODAY = date(2026, 3, 12)  # a Thursday: the find-champion task is due a week later
CHAMPION = Contact(name="Chris Champion", email="chris@example.com", role=ContactRole.champion)
ADMIN = Contact(name="Ada Admin", email="ada@example.com", role=ContactRole.admin)
ADVOCATE = Contact(name="Tom", email="tom@example.com", role=ContactRole.tech_advocate)
BUYER = Contact(name="Bea Buyer", role=ContactRole.economic_buyer)


def change(**data: object) -> ContactsChange:
    return parse_contacts_change(data)


# ----- who an automated email goes to -----


@pytest.mark.parametrize(
    ("to", "contacts", "address"),
    [
        ((ContactRole.admin, ContactRole.champion), [CHAMPION, ADMIN], "ada@example.com"),
        ((ContactRole.admin, ContactRole.champion), [CHAMPION], "chris@example.com"),
        ((ContactRole.tech_advocate,), [CHAMPION, ADMIN], None),
        ((ContactRole.economic_buyer,), [BUYER, CHAMPION], None),  # the buyer has no address
        ((), [ADVOCATE, ADMIN, CHAMPION], "chris@example.com"),  # today's rule
    ],
)
def test_to_picks_the_first_contact_with_an_address_of_the_listed_roles(
    to: tuple[ContactRole, ...], contacts: list[Contact], address: str | None
) -> None:
    assert customer_address(account(contacts=contacts), to) == address


def digital_with_license_key_to(*roles: str) -> Playbook:
    playbook = PLAYBOOKS[account(segment="commercial").engagement_model]
    touchpoints = tuple(
        tp.model_copy(update={"to": tuple(ContactRole(r) for r in roles)}) if tp.id == "license-key" else tp
        for tp in playbook.touchpoints
    )
    return Playbook.model_validate(playbook.model_copy(update={"touchpoints": touchpoints}).model_dump())


def test_an_automated_email_with_to_goes_to_that_role_or_is_skipped() -> None:
    from journey.domain.engine import Engine

    def license_key(roles: tuple[str, ...], contacts: list[Contact]) -> tuple[str, str | None]:
        acct = account(segment="commercial", tier=3, signed=SIGNED, contacts=contacts)
        engine = Engine.enroll(acct, digital_with_license_key_to(*roles), SIGNED, chain="t")
        engine.place(SIGNED)
        engine.advance(SIGNED)
        (delivery,) = [d for d in engine.take_effects().deliveries if d.touchpoint == "license-key"]
        return delivery.recipient, delivery.skipped

    assert license_key(("admin",), [CHAMPION, ADMIN]) == ("ada@example.com", None)
    assert license_key(("tech-advocate", "admin"), [CHAMPION]) == ("", no_address_reason((ContactRole.tech_advocate, ContactRole.admin)))
    assert "tech-advocate or admin" in no_address_reason((ContactRole.tech_advocate, ContactRole.admin))


def test_to_is_validated_and_a_playbook_without_the_new_keys_keeps_its_version() -> None:
    base = PLAYBOOKS[account(segment="commercial").engagement_model]
    data = base.model_dump(mode="json")
    assert Playbook.model_validate(data).version == base.version
    email = next(tp for tp in data["touchpoints"] if tp["channel"] == "email")
    email["to"] = ["admin", "champion"]
    assert Playbook.model_validate(data).version != base.version
    for bad in (["boss"], ["admin", "admin"]):
        email["to"] = bad
        with pytest.raises(ValueError, match="to"):
            Playbook.model_validate(data)
    with pytest.raises(ValueError, match="only an automated email"):
        Touchpoint(id="qbr", title="QBR", owner="ta", anchor="signed", to=("champion",))  # type: ignore[arg-type]
    email["to"] = []
    assert Playbook.model_validate({**data, "champion_left": "red"}).version != base.version
    with pytest.raises(ValueError, match="champion_left"):
        Playbook.model_validate({**data, "champion_left": "yellow"})


# ----- the merge -----


def test_merge_adds_updates_and_removes_and_the_same_row_again_changes_nothing() -> None:
    contacts = [CHAMPION, BUYER]
    after, changes = merge(contacts, change(add=[{"name": "Chris Champion", "email": "CHRIS@example.com", "role": "champion", "title": "VP"}]))
    assert [c.change for c in changes] == ["changed"] and after[0].title == "VP" and after[0].email == "chris@example.com"
    assert changes[0].detail()["changes"] == {"title": {"from": None, "to": "VP"}}
    assert merge(after, change(add=[after[0].model_dump()])) == (after, [])
    # A name-only contact gets the address it lacked; a new address of another name is a new contact.
    after, changes = merge(after, change(add=[{"name": "bea buyer", "email": "bea@example.com", "role": "economic-buyer"}, ADMIN.model_dump()]))
    assert [c.change for c in changes] == ["changed", "added"] and after[1].email == "bea@example.com"
    after, changes = merge(after, change(remove=[{"name": "BEA BUYER"}], reason="left"))
    assert [(c.change, c.contact.name) for c in changes] == [("removed", "Bea Buyer")]
    assert changes[0].detail("left")["reason"] == "left"
    with pytest.raises(InvalidEvent, match="no contact with email 'nobody@example.com'"):
        merge(after, change(remove=[{"email": "nobody@example.com"}]))


@pytest.mark.parametrize(
    "payload",
    [{}, {"add": [{"name": "", "role": "champion"}]}, {"add": [{"name": "X", "role": "boss"}]}, {"remove": [{"name": "X", "email": "x@example.com"}]}],
)
def test_a_bad_payload_names_its_field(payload: dict[str, object]) -> None:
    with pytest.raises(PayloadError, match="contacts_changed: "):
        parse_contacts_change(payload)


# ----- the last champion leaving -----


def test_the_last_champion_leaving_opens_find_champion_and_a_new_champion_closes_it() -> None:
    engine = enrolled(SIGNED, signed=SIGNED, contacts=[CHAMPION, BUYER])
    engine.take_effects()
    engine.change_contacts(change(remove=[{"email": "chris@example.com"}], reason="left the company"), TODAY)
    effects = engine.take_effects()
    events = [(r.name, r.detail.get("name")) for r in effects.timeline if r.kind == "event"]
    assert events == [("contact-removed", "Chris Champion"), ("champion-left", "Chris Champion")]
    assert effects.enroll is not None and effects.enroll.contacts == [BUYER]
    (task,) = effects.open_tasks
    assert (task.touchpoint, task.owner_role, task.owner, task.due) == ("find-champion", "ta", "ana", date(2026, 3, 19))
    assert "Chris Champion left" in task.title
    assert engine.s.health is Health.green  # the bundled playbooks do not say champion_left

    engine.change_contacts(change(add=[{"name": "Nia New", "email": "nia@example.com", "role": "champion"}]), TODAY)
    effects = engine.take_effects()
    assert [(c.key, c.status) for c in effects.task_changes] == [(task.key, "done")]
    assert not engine.s.tasks or "find-champion" not in {t.touchpoint for t in engine.s.tasks}


def test_champion_left_red_turns_the_account_red_by_hand() -> None:
    engine = enrolled(SIGNED, signed=SIGNED, contacts=[CHAMPION])
    engine.s.playbook = engine.s.playbook.model_copy(update={"champion_left": "red"})
    engine.take_effects()
    engine.take_commands()
    engine.change_contacts(change(remove=[{"name": "chris champion"}]), TODAY)
    effects = engine.take_effects()
    assert engine.s.health is Health.red and engine.s.manual_health_until is not None
    names = [r.name for r in effects.timeline if r.kind in ("event", "health")]
    assert names == ["contact-removed", "champion-left", "set_health", "red"]
    assert [type(c) for c in engine.take_commands()] == [StartRemediation]


def test_an_ended_journey_or_a_future_date_is_refused() -> None:
    engine = enrolled(SIGNED, signed=SIGNED, contacts=[CHAMPION])
    with pytest.raises(InvalidEvent, match="in the future"):
        engine.change_contacts(change(on="2026-04-01", add=[ADMIN.model_dump()]), TODAY)
    engine.apply("offboard", parse_event_offboard(), TODAY)
    with pytest.raises(InvalidEvent, match="has ended"):
        engine.check_contacts(change(add=[ADMIN.model_dump()]), TODAY)


def parse_event_offboard():  # type: ignore[no-untyped-def]
    from journey.domain.events import parse_event

    return parse_event("offboard", {"reason": "moved on"})
