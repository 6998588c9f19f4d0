"""Broadcasts, pure: merge fields, contact choice, account selection, keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from journey.config import playbooks_dir
from journey.domain import broadcast as bc
from journey.domain.effects import Delivery
from journey.domain.enums import ContactRole, EngagementModel
from journey.domain.errors import InputError, NotFound
from journey.domain.models import Contact
from journey.domain.playbook_files import load_playbooks

TODAY = date(2026, 3, 2)


@dataclass(frozen=True)
class Row:
    id: str
    name: str = "Acme Inc"
    ta: str = "tara"
    segment: str = "strategic"
    model: str = "enterprise"
    stage: str = "steady"


CHAMPION = Contact(name="Chris Champion", email="Chris@Example.com", role=ContactRole.champion)
ADMIN = Contact(name="Ada Admin", email="ada@example.com", role=ContactRole.admin)
BUYER = Contact(name="Bea Buyer", role=ContactRole.economic_buyer)
ADVOCATE = Contact(name="Tom Tech", email="tom@example.com", role=ContactRole.tech_advocate)


def test_merge_fields_are_filled_once_and_data_is_not_read_again() -> None:
    template = bc.parse_template("Hi {contact.name} at {account.name} ({ta}) {{literal}}", "body.txt")
    sneaky = Contact(name="{ta} {account.name}", email="x@example.com", role=ContactRole.champion)
    text = template.render(bc.merge_values(Row("acme"), sneaky))
    assert text == "Hi {ta} {account.name} at Acme Inc (tara) {literal}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Dear {customer}", "body.txt: unknown merge field '{customer}'"),
        ("Dear {account.id}", "body.txt: unknown merge field '{account.id}'"),
        ("Dear {}", "body.txt: unknown merge field '{}'"),
        ("Dear {ta!r}", "takes no conversion or format spec"),
        ("Dear {ta", "body.txt: "),
    ],
)
def test_bad_merge_fields_name_the_field_and_the_file(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        bc.body_template(text, "body.txt")
    assert message in str(err.value)


def test_empty_body_and_subject_are_refused() -> None:
    with pytest.raises(InputError, match="body.txt: the body is empty"):
        bc.body_template(" \n", "body.txt")
    with pytest.raises(InputError, match="field 'subject'"):
        bc.subject_template("  ")


def test_default_contact_is_the_champion_else_admin_else_any_with_an_address() -> None:
    assert bc.choose_contacts([ADVOCATE, ADMIN, CHAMPION], "email") == [CHAMPION]
    assert bc.choose_contacts([ADVOCATE, ADMIN], "email") == [ADMIN]
    assert bc.choose_contacts([BUYER, ADVOCATE], "email") == [ADVOCATE]
    assert bc.choose_contacts([BUYER], "email") == []
    # Slack needs no address.
    assert bc.choose_contacts([BUYER], "slack") == [BUYER]


def test_a_role_takes_every_contact_of_it() -> None:
    other = Contact(name="Cleo Champion", email="cleo@example.com", role=ContactRole.champion)
    assert bc.choose_contacts([CHAMPION, ADMIN, other], "email", ContactRole.champion) == [CHAMPION, other]
    assert bc.choose_contacts([BUYER], "email", ContactRole.economic_buyer) == []


def test_keys_and_timeline_rows() -> None:
    broadcast = bc.Broadcast(
        id="inc-1", subject=bc.subject_template("Incident at {account.name}"),
        body=bc.body_template("Dear {contact.name},\nyour TA {ta}", "b.txt"), urgent=True,
    )
    accounts = [Row("acme"), Row("globex", name="Globex")]
    plan = bc.plan_broadcast(broadcast, accounts, {"acme": [CHAMPION, ADMIN], "globex": [BUYER]}, TODAY)
    assert [d.key for d in plan.deliveries] == ["broadcast:inc-1:acme:chris@example.com"]
    (delivery,) = plan.deliveries
    assert (delivery.touchpoint, delivery.recipient, delivery.subject) == ("broadcast:inc-1", "Chris@Example.com", "Incident at Acme Inc")
    assert delivery.body == "Dear Chris Champion,\nyour TA tara"
    assert plan.no_contact == ["globex"]
    (entry,) = plan.timeline
    assert (entry.key, entry.kind, entry.name) == ("broadcast:inc-1:acme", "touchpoint", "broadcast:inc-1")
    assert entry.detail == {"subject": "Incident at Acme Inc", "recipients": ["Chris@Example.com"],
                            "channel": "email", "status": "queued", "urgent": True}


def test_slack_keys_use_a_slug_of_the_name() -> None:
    assert bc.contact_part(Contact(name="Ça <b>x</b>", role=ContactRole.admin), "slack") == "a-b-x-b"
    assert bc.slug("李雷").startswith("c-") and bc.slug("李雷") != bc.slug("韩梅梅")
    assert bc.recipient_of(BUYER, "slack") == "@bea-buyer"


def test_selection_leaves_churned_out_and_names_unknown_accounts() -> None:
    rows = [Row("b", ta="sam"), Row("a"), Row("c", stage="churned"), Row("d", segment="commercial", model="digital")]
    chosen = bc.select_accounts(rows, bc.Selector(segment="strategic"))
    assert [r.id for r in chosen.accounts] == ["a", "b"] and chosen.churned == ("c",)
    assert [r.id for r in bc.select_accounts(rows, bc.Selector(model="digital")).accounts] == ["d"]
    assert [r.id for r in bc.select_accounts(rows, bc.Selector(ta="sam")).accounts] == ["b"]
    with pytest.raises(NotFound, match="field 'ta': no account has TA 'nobody'"):
        bc.select_accounts(rows, bc.Selector(ta="nobody"))
    with pytest.raises(NotFound, match="list.txt:line 3: field 'account': no account 'zz' in the store"):
        bc.select_accounts(rows, bc.Selector(ids=("a", "zz"), source="list.txt", lines=(1, 3)))


def test_account_lists_one_per_line_or_csv() -> None:
    assert bc.read_account_list("# incident 1\nacme\n\nglobex\nacme\n", "f") == (("acme", "globex"), (2, 4))
    assert bc.read_account_list("name,account\nAcme,acme\nGlobex,globex\n", "f") == (("acme", "globex"), (2, 3))
    with pytest.raises(InputError, match="f: no accounts"):
        bc.read_account_list("\n# none\n", "f")


def test_bad_ids_are_refused() -> None:
    with pytest.raises(InputError, match="field 'id'"):
        bc.check_id("inc:1")


def test_send_window_and_cap_of_the_playbook() -> None:
    book = load_playbooks(playbooks_dir())[EngagementModel.enterprise].model_copy(
        update={"send_window": "09:00-17:00", "max_emails_per_contact_per_week": 2}
    )
    message = Delivery(key="broadcast:inc-1:acme:chris", account="acme", touchpoint="broadcast:inc-1", channel="email",
                       recipient="chris@acme.example", subject="s", body="b", due=TODAY)
    saturday_night = datetime(2026, 3, 7, 22, 0, tzinfo=UTC)
    placed = bc.placed(message, book, "Europe/Berlin", "DE", saturday_night)
    assert placed.send_after == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
    assert placed.timezone == "Europe/Berlin" and placed.contact_cap == 2
    assert placed.send_rule is not None and placed.send_rule.country == "DE"
    tuesday_noon = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert bc.placed(message, book, "Europe/Berlin", "DE", tuesday_noon).send_after is None  # the window is open
    no_window = bc.placed(message, book.model_copy(update={"send_window": None}), None, None, saturday_night)
    assert no_window.send_after is None and no_window.send_rule is None and no_window.contact_cap == 2
    slack = bc.placed(message.model_copy(update={"channel": "slack"}), book, None, None, saturday_night)
    assert slack.contact_cap is None

