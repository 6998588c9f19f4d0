"""The account map of one journey: contacts added, changed and removed (the
`contacts_changed` update, from `journey contacts`).

A contact is one person. A contact given with an address is the contact on file with that
address (compared without regard to case), else a contact of the same name without an
address, which gets it; a contact given without an address is the first contact of that
name. Adding a person who is on file sets what the new row says (role, title, an address
for a contact that had none) and keeps the rest; the same row again changes nothing, so
importing a file twice changes nothing. To give someone another address, remove them and
add them again.

The same merge runs in the command line (to say what will change, and to refuse a removal
that names nobody before anything is sent) and in the journey (which decides).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from journey.domain.bounds import MAX_CONTACTS, Day, Email, Name, Reason
from journey.domain.engine.state import JourneyState
from journey.domain.enums import ContactRole, Stage
from journey.domain.errors import InvalidEvent, parse_payload
from journey.domain.models import Contact, Strict

# Timeline names (kind `event`): one row per contact changed, and the champion leaving.
CONTACT_ADDED = "contact-added"
CONTACT_CHANGED = "contact-changed"
CONTACT_REMOVED = "contact-removed"
CHAMPION_LEFT = "champion-left"


def _fold(text: str) -> str:
    return text.casefold()


def _same_text(a: object, b: object) -> bool:
    return isinstance(a, str) and isinstance(b, str) and _fold(a) == _fold(b)


class ContactRef(BaseModel):
    """Who to remove: by address, or by name (every contact that matches)."""

    model_config = Strict

    email: Email | None = None
    name: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> ContactRef:
        if (self.email is None) == (self.name is None):
            raise ValueError("give exactly one of email and name")
        return self

    def matches(self, contact: Contact) -> bool:
        if self.email is not None:
            return contact.email is not None and _fold(contact.email) == _fold(self.email)
        assert self.name is not None
        return _fold(contact.name) == _fold(self.name)

    def describe(self) -> str:
        return f"email {self.email!r}" if self.email is not None else f"name {self.name!r}"


class ContactsChange(BaseModel):
    """The `contacts_changed` update's payload: removals first, then additions."""

    model_config = Strict

    on: Day | None = None
    add: list[Contact] = Field(default_factory=list, max_length=MAX_CONTACTS)
    remove: list[ContactRef] = Field(default_factory=list, max_length=MAX_CONTACTS)
    reason: Reason | None = Field(default=None, description="why the contacts were removed (for the timeline)")

    @model_validator(mode="after")
    def _something(self) -> ContactsChange:
        if not self.add and not self.remove:
            raise ValueError("give at least one contact to add or remove")
        return self


def parse_contacts_change(data: object) -> ContactsChange:
    """The payload, checked as `journey.domain.events.parse_event` checks an event's."""
    return parse_payload("contacts_changed", ContactsChange.model_validate, data)


class ContactChange(BaseModel):
    """One contact added, changed (`before` is what was on file) or removed."""

    change: Literal["added", "changed", "removed"]
    contact: Contact
    before: Contact | None = None

    @property
    def timeline_name(self) -> str:
        return {"added": CONTACT_ADDED, "changed": CONTACT_CHANGED, "removed": CONTACT_REMOVED}[self.change]

    def detail(self, reason: str | None = None) -> dict[str, object]:
        """The timeline row's detail: the contact as it is now (as it was, when removed),
        and for a change each field's value before and after."""
        detail: dict[str, object] = self.contact.model_dump(mode="json", exclude_none=True)
        if self.before is not None:
            before = self.before.model_dump(mode="json")
            after = self.contact.model_dump(mode="json")
            detail["changes"] = {
                name: {"from": before[name], "to": after[name]} for name in after if before[name] != after[name]
            }
        if reason is not None and self.change == "removed":
            detail["reason"] = reason
        return detail

    def document(self) -> dict[str, object]:
        """For `--json`: the change, the contact, and the fields that changed."""
        row: dict[str, object] = {"change": self.change, **self.contact.model_dump(mode="json")}
        if self.before is not None:
            row["from"] = {k: v for k, v in self.before.model_dump(mode="json").items() if row.get(k) != v}
        return row


def find_contact(contacts: Sequence[Contact], new: Contact) -> int | None:
    """The index of the contact on file that `new` is (see the module's docstring)."""
    name = _fold(new.name)
    if new.email is not None:
        address = _fold(new.email)
        for index, contact in enumerate(contacts):
            if contact.email is not None and _fold(contact.email) == address:
                return index
        for index, contact in enumerate(contacts):
            if contact.email is None and _fold(contact.name) == name:
                return index
        return None
    for index, contact in enumerate(contacts):
        if _fold(contact.name) == name:
            return index
    return None


def merge(contacts: Sequence[Contact], change: ContactsChange, account: str = "the account") -> tuple[list[Contact], list[ContactChange]]:
    """The contacts after `change`, and what changed (nothing: an empty list). A removal
    that names no contact on file, or more than MAX_CONTACTS after the change, is refused."""
    current = list(contacts)
    changes: list[ContactChange] = []
    for index, ref in enumerate(change.remove):
        gone = [c for c in current if ref.matches(c)]
        if not gone:
            raise InvalidEvent(f"field 'remove.{index}': no contact with {ref.describe()} on {account}")
        current = [c for c in current if not ref.matches(c)]
        changes.extend(ContactChange(change="removed", contact=c) for c in gone)
    for new in change.add:
        found = find_contact(current, new)
        if found is None:
            current.append(new)
            changes.append(ContactChange(change="added", contact=new))
            continue
        old = current[found]
        # What the new row says, but a name or address only written in other case.
        given = {
            name: value for name, value in new
            if value is not None and not (name in ("name", "email") and _same_text(getattr(old, name), value))
        }
        merged = old.model_copy(update=given)
        if merged != old:
            current[found] = merged
            changes.append(ContactChange(change="changed", contact=merged, before=old))
    if len(current) > MAX_CONTACTS:
        raise InvalidEvent(f"field 'add': at most {MAX_CONTACTS} contacts per account ({account} would have {len(current)})")
    return current, changes


def has_champion(contacts: Sequence[Contact]) -> bool:
    return any(c.role is ContactRole.champion for c in contacts)


def champions_gone(changes: Sequence[ContactChange]) -> list[Contact]:
    """The champions a change took away: removed, or given another role."""
    gone = [c.contact for c in changes if c.change == "removed" and c.contact.role is ContactRole.champion]
    gone += [
        c.before for c in changes
        if c.before is not None and c.before.role is ContactRole.champion and c.contact.role is not ContactRole.champion
    ]
    return gone


def check_change(s: JourneyState, change: ContactsChange, today: date) -> date:
    """Refuse a change the journey cannot take (it has ended, a date it has not reached or
    before the contract, a removal that names nobody); returns its date."""
    if s.stage is Stage.churned:
        raise InvalidEvent(f"the journey of {s.account.id} has ended ({s.stage.value}); its contacts are not changed")
    on = change.on or today
    if on > today:
        raise InvalidEvent(f"field 'on': {on} is in the future (today is {today})")
    if on < s.account.signed:
        raise InvalidEvent(f"field 'on': {on} is before the contract was signed ({s.account.signed})")
    merge(s.account.contacts, change, s.account.id)
    return on
