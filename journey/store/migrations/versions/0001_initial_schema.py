"""Initial schema: accounts, contacts, timeline, tasks, outbox, usage, red accounts.

Revision ID: 0001
Revises:
Create Date: 2025-11-22

Written out in full rather than imported from journey.store, so this revision keeps
creating exactly this schema however the tables change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("segment", sa.String(32), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(32), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("arr", sa.Float(), nullable=False),
        sa.Column("signed", sa.Date(), nullable=False),
        sa.Column("renewal", sa.Date(), nullable=False),
        sa.Column("ta", sa.String(), nullable=False),
        sa.Column("ae", sa.String(), nullable=False),
        sa.Column("deployment", sa.String(32), nullable=False),
        sa.Column("production_ready", sa.Date()),
        sa.Column("onboarding_complete", sa.Date()),
        sa.Column("enrolled_at", TIMESTAMP, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False, server_default="signed"),
        sa.Column("health", sa.String(16), nullable=False, server_default="green"),
        sa.Column("health_reason", sa.Text()),
        sa.Column("term", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("adoption_deadline", sa.Date()),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String()),
        sa.Column("role", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_contacts_account_id_accounts"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_contacts_account_id"), "contacts", ["account_id"])

    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("at", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("detail", JSON_DOCUMENT, nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline")),
        sa.UniqueConstraint("key", name=op.f("uq_timeline_key")),
    )
    op.create_index(op.f("ix_timeline_account_id"), "timeline", ["account_id"])

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("touchpoint", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("owner_role", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("reminded_on", sa.Date()),
        sa.Column("escalated_on", sa.Date()),
        sa.Column("escalated_to", sa.String()),
        sa.Column("done_on", sa.Date()),
        sa.Column("notes", sa.Text()),
        sa.Column("playbook_version", sa.String()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("key", name=op.f("uq_tasks_key")),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'skipped', 'cancelled')", name=op.f("ck_tasks_status")
        ),
    )
    op.create_index("ix_tasks_status_owner", "tasks", ["status", "owner"])
    op.create_index("ix_tasks_account_id_touchpoint", "tasks", ["account_id", "touchpoint"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("touchpoint", sa.String(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
        sa.CheckConstraint("channel IN ('slack', 'email')", name=op.f("ck_outbox_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'simulated', 'failed')", name=op.f("ck_outbox_status")
        ),
    )
    op.create_index(op.f("ix_outbox_account_id"), "outbox", ["account_id"])
    op.create_index("ix_outbox_status_due", "outbox", ["status", "due"])

    op.create_table(
        "usage",
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("dau", sa.Integer(), nullable=False),
        sa.Column("mau", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "date", name=op.f("pk_usage")),
    )

    op.create_table(
        "red_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("closed_on", sa.Date()),
        sa.Column("escalated_on", sa.Date()),
        sa.Column("resolution", sa.Text()),
        sa.Column("current_state", sa.Text()),
        sa.Column("needs", sa.Text()),
        sa.Column("intended_actions", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_accounts")),
        sa.UniqueConstraint("key", name=op.f("uq_red_accounts_key")),
    )
    op.create_index(op.f("ix_red_accounts_account_id"), "red_accounts", ["account_id"])


def downgrade() -> None:
    for table in ("red_accounts", "usage", "outbox", "tasks", "timeline", "contacts", "accounts"):
        op.drop_table(table)
