"""The store's schema: every table, as the Alembic migrations create it.

The migrations in journey/store/migrations/versions/ create this schema; a test checks
that they agree, so change both together (autogenerate a new revision from this metadata).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from journey.domain.effects import DELIVERED_STATUSES, DELIVERY_CHANNELS, DELIVERY_STATUSES, TASK_STATUSES

__all__ = ["DELIVERED_STATUSES", "DELIVERY_CHANNELS", "DELIVERY_STATUSES", "TASK_STATUSES"]

# The newest migration in journey/store/migrations/versions/: a store at this revision needs
# no migrating (a test keeps it equal to Alembic's head).
SCHEMA_REVISION = "0010"

# Status values are the domain's (migrations 0004 and 0005 added the outbox's claimed
# statuses; see OutboxStore.claim_delivery and hand_over; 0007 added `skipped`).
# Deterministic constraint names, so later migrations can name what they alter or drop
# (SQLite batch migrations need that).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL keeps the offset, SQLite does not; normalising to UTC on the way in and
    tagging UTC on the way out gives callers the same value from both.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _check_in(column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("segment", sa.String(32), nullable=False),
    sa.Column("tier", sa.Integer, nullable=False),
    sa.Column("model", sa.String(32), nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Column("arr", sa.Float, nullable=False),
    sa.Column("signed", sa.Date, nullable=False),
    sa.Column("renewal", sa.Date, nullable=False),
    sa.Column("ta", sa.String, nullable=False),
    sa.Column("ae", sa.String, nullable=False),
    sa.Column("deployment", sa.String(32), nullable=False),
    sa.Column("production_ready", sa.Date),
    sa.Column("onboarding_complete", sa.Date),
    sa.Column("enrolled_at", UTCDateTime, nullable=False),
    # Mirrored from the journey (AccountSnapshot) so listing needs no Temporal round trip.
    # An enrolled account starts at `signed`, green, in its first term.
    sa.Column("stage", sa.String(32), nullable=False, server_default="signed"),
    sa.Column("health", sa.String(16), nullable=False, server_default="green"),
    sa.Column("health_reason", sa.Text),
    sa.Column("term", sa.Integer, nullable=False, server_default="1"),
    sa.Column("adoption_deadline", sa.Date),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Written by the nightly health sweep (migration 0003; see journey.store.health_sweep): the
    # latest score, and the color and adoption band the journey was last told about.
    sa.Column("health_score", sa.Integer),
    sa.Column("scored_on", sa.Date),
    sa.Column("score_color", sa.String(16)),
    sa.Column("adoption_band", sa.Float),
    # Migration 0009: the account's IANA timezone and country (public holidays) for send windows.
    sa.Column("timezone", sa.String(64)),
    sa.Column("country", sa.String(8)),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "account_id",
        sa.String(63),
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("email", sa.String),
    sa.Column("role", sa.String(32), nullable=False),
    # Migration 0008: the account map's job titles.
    sa.Column("title", sa.String),
)

timeline = sa.Table(
    "timeline",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("at", sa.Date, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("detail", JSONDocument, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False),
    sa.Column("touchpoint", sa.String, nullable=False),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("owner_role", sa.String, nullable=False),
    sa.Column("owner", sa.String, nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("reminded_on", sa.Date),
    sa.Column("escalated_on", sa.Date),
    sa.Column("escalated_to", sa.String),
    sa.Column("done_on", sa.Date),
    sa.Column("notes", sa.Text),
    sa.Column("playbook_version", sa.String),
    _check_in("status", TASK_STATUSES),
    # "My open tasks" and "is this touchpoint already open for the account" are the hot reads.
    sa.Index("ix_tasks_status_owner", "status", "owner"),
    sa.Index("ix_tasks_account_id_touchpoint", "account_id", "touchpoint"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("touchpoint", sa.String, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claim", sa.String(32)),
    sa.Column("claimed_at", UTCDateTime),
    # Migration 0009: the earliest moment the touch may go (the send window of the
    # account's timezone, business days and holidays), and that timezone; null: at once.
    sa.Column("send_after", UTCDateTime),
    sa.Column("timezone", sa.String(64)),
    # Migration 0010: who approved, dropped or edited a touch held for review; the
    # playbook's weekly cap of emails to its recipient (null: no cap).
    sa.Column("reviewed_by", sa.String),
    sa.Column("contact_cap", sa.Integer),
    # The send window it goes out in (JSON of journey.domain.sendwindow.SendRule), so a
    # touch moved by the cap lands in a window too.
    sa.Column("send_rule", sa.Text),
    _check_in("channel", DELIVERY_CHANNELS),
    _check_in("status", DELIVERY_STATUSES),
    # The delivery sweep reads pending rows in due order.
    sa.Index("ix_outbox_status_due", "status", "due"),
    # The weekly cap counts a recipient's emails.
    sa.Index("ix_outbox_recipient", "recipient"),
)

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("account_id", sa.String(63), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("dau", sa.Integer, nullable=False),
    sa.Column("mau", sa.Integer, nullable=False),
)

# Survey answers for NPS (migration 0002). `key` makes re-imports idempotent; see
# journey.store.usage.nps_key for how it is built.
nps_responses = sa.Table(
    "nps_responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("respondent", sa.String),
    sa.CheckConstraint("score BETWEEN 0 AND 10", name="score"),
)

red_accounts = sa.Table(
    "red_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("closed_on", sa.Date),
    sa.Column("escalated_on", sa.Date),
    sa.Column("resolution", sa.Text),
    # Written by people (AE and TA jointly), never by the journey: see record_red_plan().
    sa.Column("current_state", sa.Text),
    sa.Column("needs", sa.Text),
    sa.Column("intended_actions", sa.Text),
)

# Every account's score on every sweep day (migration 0006; journey.store.health_sweep), as
# the sweep computed it: `journey health-score explain` and the reports read this history
# instead of scoring the past again under today's weights. `color` is the color the account
# shows after the sweep (a manual color in force, else the score's, else the journey's own);
# `measures` holds each measure's value, data, weight, points, counted and cap
# (journey.domain.health.MeasurePoints).
health_scores = sa.Table(
    "health_scores",
    metadata,
    sa.Column("account_id", sa.String(63), primary_key=True),
    sa.Column("scored_on", sa.Date, primary_key=True),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("score", sa.Integer),
    sa.Column("score_color", sa.String(16)),
    sa.Column("color", sa.String(16), nullable=False),
    sa.Column("manual_color", sa.String(16)),
    sa.Column("manual_reason", sa.Text),
    sa.Column("manual_until", sa.Date),
    sa.Column("config_version", sa.String, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("measures", JSONDocument, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# The account team's book beside the journeys (migration 0008), written by people through
# the CLI, never by a journey: account plan items, product feedback, and the monthly
# renewal health assessments.
#
# A plan item is numbered per account (`number`, shown as the ITEM of `journey plan close`);
# `quarter` is the fiscal quarter it was raised in (FY27Q1); open items carry into later
# quarters' plans, closed ones show in the plan of the quarter they were closed in.
plan_items = sa.Table(
    "plan_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("quarter", sa.String(8), nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("closed_on", sa.Date),
    sa.Column("outcome", sa.String(16)),
    sa.Column("notes", sa.Text),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("account_id", "number"),
    _check_in("kind", ("objective", "risk", "opportunity", "use-case")),
)

# `key` makes an import idempotent: account, date and a digest of the text.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("theme", sa.String(100)),
    sa.Column("contact", sa.String(200)),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# One assessment per account and month (`key` = account/YYYY-MM): a second one that month
# replaces the first.
renewal_assessments = sa.Table(
    "renewal_assessments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("account_id", sa.String(63), nullable=False, index=True),
    sa.Column("on", sa.Date, nullable=False),
    sa.Column("ae_risk", sa.Text, nullable=False),
    sa.Column("ta_risk", sa.Text, nullable=False),
    sa.Column("red", sa.Boolean, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# Vacation cover (migration 0009): `cover` takes `owner`'s open tasks and new ones (of one
# account, or all when `account_id` is null) from `from_on` until `until` (null: until
# revoked); `ended_on` is set when the cover is ended early.
task_covers = sa.Table(
    "task_covers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String, nullable=False, index=True),
    sa.Column("cover", sa.String, nullable=False),
    sa.Column("account_id", sa.String(63)),
    sa.Column("from_on", sa.Date, nullable=False),
    sa.Column("until", sa.Date),
    sa.Column("ended_on", sa.Date),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# Account columns that come from the enrollment file; a re-import compares exactly these.
ACCOUNT_FIELDS = (
    "name",
    "segment",
    "tier",
    "model",
    "seats",
    "arr",
    "signed",
    "renewal",
    "ta",
    "ae",
    "deployment",
    "production_ready",
    "onboarding_complete",
    "timezone",
    "country",
)
# Account columns the journey mirrors from its AccountSnapshot.
SNAPSHOT_FIELDS = (
    "stage",
    "health",
    "health_reason",
    "term",
    "seats",
    "arr",
    "tier",
    "segment",
    "model",
    "renewal",
    "production_ready",
    "onboarding_complete",
    "adoption_deadline",
)
