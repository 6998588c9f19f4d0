"""Broadcasts: one standardized message (an incident notice, a product update) to the
chosen contacts of many accounts, through the outbox like every automated touch.

Everything here is pure: which accounts a broadcast reaches, which of their contacts,
the merge fields of its subject and body, and the keys that make a second run with the
same id send nothing twice. A broadcast is not a touchpoint of any journey: the command
that sends it writes its outbox rows and timeline rows itself.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from journey.domain.bounds import NAME_LENGTH, NOTES_LENGTH, multiline_text, plain_text
from journey.domain.effects import Delivery, TimelineEntry
from journey.domain.enums import ContactRole, Stage
from journey.domain.errors import InputError, NotFound
from journey.domain.models import ACCOUNT_ID_PATTERN, Contact
from journey.domain.playbook import Playbook
from journey.domain.sendwindow import DEFAULT_TIMEZONE, SendRule
from journey.domain.touches import CUSTOMER_EMAIL_ROLES

Channel = Literal["email", "slack"]
# The merge fields a subject or body may use, each filled per account and contact.
MERGE_FIELDS = ("account.name", "contact.name", "ta")
PREFIX = "broadcast"
SUBJECT_LENGTH = NAME_LENGTH
BODY_LENGTH = NOTES_LENGTH
# Accounts files name accounts one per line, or in the `account` column of a CSV.
ACCOUNT_COLUMN = "account"


class AccountLike(Protocol):
    """What selection needs of an account row (the store's AccountRecord fits)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def ta(self) -> str: ...
    @property
    def segment(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def stage(self) -> str: ...


# --- ids and keys --------------------------------------------------------------------------


def check_id(broadcast_id: str) -> str:
    """A broadcast id is a slug (lowercase letters, digits, dashes): it is part of keys."""
    if not ACCOUNT_ID_PATTERN.fullmatch(broadcast_id):
        raise InputError(
            f"field 'id': {broadcast_id!r} must be a slug: lowercase letters, digits and dashes, "
            "1-63 characters, not starting or ending with a dash"
        )
    return broadcast_id


def touchpoint(broadcast_id: str) -> str:
    """The outbox `touchpoint` and the timeline row's name of a broadcast."""
    return f"{PREFIX}:{broadcast_id}"


def timeline_key(broadcast_id: str, account: str) -> str:
    return f"{PREFIX}:{broadcast_id}:{account}"


def delivery_key(broadcast_id: str, account: str, contact: Contact, channel: Channel) -> str:
    return f"{PREFIX}:{broadcast_id}:{account}:{contact_part(contact, channel)}"


def slug(text: str) -> str:
    """`text` as lowercase letters, digits and dashes; a name with none of those (a name
    in another script) gets a digest of itself, so two names never share a slug."""
    made = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return made or "c-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def contact_part(contact: Contact, channel: Channel) -> str:
    """The contact's part of a delivery key: its email (compared without regard to case,
    as the account map compares them), or on Slack a slug of its name."""
    if channel == "email":
        assert contact.email is not None  # only contacts with an address are chosen for email
        return contact.email.lower()
    return slug(contact.name)


def recipient_of(contact: Contact, channel: Channel) -> str:
    """Where the message goes: the contact's address, or on Slack its handle (`@slug`)."""
    if channel == "email":
        assert contact.email is not None
        return contact.email
    return "@" + slug(contact.name)


# --- subject and body ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    """A subject or body: literal text and merge fields, in order. Filled in one pass, so
    a value from data (a contact named `{ta}`) is never read as a field itself."""

    parts: tuple[tuple[str, str | None], ...]

    @property
    def fields(self) -> list[str]:
        return [name for _, name in self.parts if name is not None]

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(text + (values[name] if name is not None else "") for text, name in self.parts)


def parse_template(text: str, source: str) -> Template:
    """Parse `text` (from `source`: `--subject` or the body file's name) with the braces of
    str.format: `{account.name}`, `{contact.name}`, `{ta}`; `{{` and `}}` are braces. An
    unknown field, a format spec or conversion, or an unpaired brace is an InputError
    naming it and the source."""
    parts: list[tuple[str, str | None]] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as err:
        raise InputError(f"{source}: {err} (write {{{{ and }}}} for literal braces)") from None
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None))
            continue
        written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name not in MERGE_FIELDS:
            known = ", ".join("{" + f + "}" for f in MERGE_FIELDS)
            shown = "{" + name + "}" if name else "{}"
            raise InputError(f"{source}: unknown merge field {shown!r} (known: {known}; {{{{ and }}}} for literal braces)")
        if conversion or spec:
            raise InputError(f"{source}: merge field {written!r} takes no conversion or format spec: write {{{name}}}")
        parts.append((literal, name))
    return Template(tuple(parts))


def subject_template(text: str) -> Template:
    subject = text.strip()
    if not subject:
        raise InputError("field 'subject': must not be empty")
    if len(subject) > SUBJECT_LENGTH:
        raise InputError(f"field 'subject': {len(subject)} characters, at most {SUBJECT_LENGTH}")
    try:
        plain_text(subject)
    except ValueError as err:
        raise InputError(f"field 'subject': {err}") from None
    return parse_template(subject, "--subject")


def body_template(text: str, source: str) -> Template:
    if not text.strip():
        raise InputError(f"{source}: the body is empty")
    if len(text) > BODY_LENGTH:
        raise InputError(f"{source}: {len(text)} characters, at most {BODY_LENGTH}")
    try:
        multiline_text(text)
    except ValueError as err:
        raise InputError(f"{source}: {err}") from None
    return parse_template(text, source)


def merge_values(account: AccountLike, contact: Contact) -> dict[str, str]:
    return {"account.name": account.name, "contact.name": contact.name, "ta": account.ta}


# --- which accounts ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selector:
    """Exactly one way of choosing accounts: a segment, a model, a TA, or account ids
    (from `--account` options, or a file's lines: `lines` gives each id's line)."""

    segment: str | None = None
    model: str | None = None
    ta: str | None = None
    ids: tuple[str, ...] = ()
    source: str | None = None
    lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Selection:
    accounts: tuple[AccountLike, ...]
    churned: tuple[str, ...] = ()


def select_accounts(rows: Iterable[AccountLike], selector: Selector) -> Selection:
    """The accounts a broadcast goes to, ordered by id; churned accounts are left out and
    counted. An unknown TA or account id is an error naming it (its line for a file)."""
    rows = sorted(rows, key=lambda row: row.id)
    if selector.ids:
        by_id = {row.id: row for row in rows}
        problems = []
        for index, account in enumerate(selector.ids):
            if account not in by_id:
                where = f"{selector.source}:line {selector.lines[index]}: " if selector.source else ""
                problems.append(f"{where}field 'account': no account {account!r} in the store")
        if problems:
            if selector.source:
                head = f"{selector.source}: {len(problems)} problem(s); nothing was written"
                raise NotFound("\n".join([head, *problems[:50]]))
            raise NotFound("; ".join(problems))
        wanted = set(selector.ids)
        chosen = [row for row in rows if row.id in wanted]
    elif selector.ta is not None:
        chosen = [row for row in rows if row.ta == selector.ta]
        if not chosen:
            raise NotFound(f"field 'ta': no account has TA {selector.ta!r}")
    elif selector.segment is not None:
        chosen = [row for row in rows if row.segment == selector.segment]
    elif selector.model is not None:
        chosen = [row for row in rows if row.model == selector.model]
    else:
        raise InputError("choose the accounts: one of --segment, --model, --ta, --account, --accounts")
    live = tuple(row for row in chosen if row.stage != Stage.churned.value)
    churned = tuple(row.id for row in chosen if row.stage == Stage.churned.value)
    return Selection(live, churned)


def read_account_list(text: str, source: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The account ids of an accounts file and their lines: one id per line (blank lines
    and `#` comments skipped), or a CSV whose header has an `account` column. Each id
    once, in the file's order."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), None)
    if first is None:
        raise InputError(f"{source}: no accounts in the file")
    found: dict[str, int] = {}
    header = [cell.strip() for cell in next(csv.reader([first]))]
    if ACCOUNT_COLUMN in header:
        reader = csv.DictReader(io.StringIO(text, newline=""), fieldnames=None)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
        try:
            for row in reader:
                account = (row.get(ACCOUNT_COLUMN) or "").strip()
                if account:
                    found.setdefault(account, reader.line_num)
        except csv.Error as err:
            raise InputError(f"{source}:line {reader.line_num + 1}: not readable as CSV: {err}") from None
    else:
        for number, line in enumerate(lines, start=1):
            account = line.strip()
            if account and not account.startswith("#"):
                found.setdefault(account, number)
    if not found:
        raise InputError(f"{source}: no accounts in the file")
    return tuple(found), tuple(found.values())


# --- which contacts ------------------------------------------------------------------------


def choose_contacts(contacts: Sequence[Contact], channel: Channel, role: ContactRole | None = None) -> list[Contact]:
    """The contacts of one account a broadcast goes to. With `role`: every contact of that
    role (with an address, for email). Without: one contact, ranked as customer emails
    are (journey.domain.touches): the champion, else the admin, else any contact (with
    an address, for email). Each address (Slack: handle) once."""
    reachable = [c for c in contacts if channel == "slack" or c.email]
    if role is not None:
        chosen = [c for c in reachable if c.role == role]
    else:
        ranked = sorted(
            reachable,
            key=lambda c: CUSTOMER_EMAIL_ROLES.index(c.role) if c.role in CUSTOMER_EMAIL_ROLES else len(CUSTOMER_EMAIL_ROLES),
        )
        chosen = ranked[:1]
    unique: dict[str, Contact] = {}
    for contact in chosen:
        unique.setdefault(contact_part(contact, channel), contact)
    return list(unique.values())


# --- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broadcast:
    id: str
    subject: Template
    body: Template
    channel: Channel = "email"
    role: ContactRole | None = None
    urgent: bool = False


@dataclass
class BroadcastPlan:
    """What a broadcast writes: one delivery per account and contact, one timeline row per
    account reached, and the accounts it cannot reach (no matching contact)."""

    deliveries: list[Delivery] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    no_contact: list[str] = field(default_factory=list)


def plan_broadcast(
    broadcast: Broadcast, accounts: Sequence[AccountLike], contacts: Mapping[str, Sequence[Contact]], today: date
) -> BroadcastPlan:
    plan = BroadcastPlan()
    name = touchpoint(broadcast.id)
    for account in accounts:
        chosen = choose_contacts(contacts.get(account.id, ()), broadcast.channel, broadcast.role)
        if not chosen:
            plan.no_contact.append(account.id)
            continue
        messages = []
        for contact in chosen:
            values = merge_values(account, contact)
            messages.append(
                Delivery(
                    key=delivery_key(broadcast.id, account.id, contact, broadcast.channel),
                    account=account.id,
                    touchpoint=name,
                    channel=broadcast.channel,
                    recipient=recipient_of(contact, broadcast.channel),
                    subject=broadcast.subject.render(values),
                    body=broadcast.body.render(values),
                    due=today,
                )
            )
        plan.deliveries.extend(messages)
        detail: dict[str, object] = {
            "subject": messages[0].subject,
            "recipients": [m.recipient for m in messages],
            "channel": broadcast.channel,
            "status": "queued",
        }
        if broadcast.urgent:
            detail["urgent"] = True
        plan.timeline.append(
            TimelineEntry(key=timeline_key(broadcast.id, account.id), account=account.id, at=today,
                          kind="touchpoint", name=name, detail=detail)
        )
    return plan


def placed(delivery: Delivery, playbook: Playbook | None, timezone: str | None, country: str | None,
           now: datetime) -> Delivery:
    """A non-urgent broadcast message as its account's playbook places it
    (journey.domain.sendwindow): `send_after` the next moment of the send window in the
    account's timezone (else the playbook's, else UTC), on a send day that is no public
    holiday of its country nor a company shutdown (None: the window is open now, or the
    playbook has none), and an email under the playbook's weekly cap per contact. An
    urgent one is not placed: it goes at once, whatever the windows and caps."""
    if playbook is None:
        return delivery
    rule = SendRule(
        timezone=timezone or playbook.timezone or DEFAULT_TIMEZONE, window=playbook.send_window,
        days=playbook.send_days, holidays=playbook.holidays, country=country,
    )
    opens = rule.earliest(now) if rule.window is not None else None
    cap = playbook.max_emails_per_contact_per_week if delivery.channel == "email" else None
    return delivery.model_copy(update={
        "send_after": opens if opens is not None and opens > now else None,
        "timezone": rule.timezone,
        "send_rule": rule if rule.window is not None else None,
        "contact_cap": cap,
    })
