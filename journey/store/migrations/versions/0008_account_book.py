"""The account team's book: contact titles, account plan items, product feedback, renewal
health assessments.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Written out in full rather than imported from journey.store, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("title", sa.String()))
    op.create_table(
        "plan_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("quarter", sa.String(8), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date()),
        sa.Column("outcome", sa.String(16)),
        sa.Column("notes", sa.Text()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('objective', 'risk', 'opportunity', 'use-case')", name=op.f("ck_plan_items_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_items")),
        sa.UniqueConstraint("account_id", "number", name=op.f("uq_plan_items_account_id_number")),
    )
    op.create_index(op.f("ix_plan_items_account_id"), "plan_items", ["account_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("theme", sa.String(100)),
        sa.Column("contact", sa.String(200)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("key", name=op.f("uq_feedback_key")),
    )
    op.create_index(op.f("ix_feedback_account_id"), "feedback", ["account_id"])
    op.create_table(
        "renewal_assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("ae_risk", sa.Text(), nullable=False),
        sa.Column("ta_risk", sa.Text(), nullable=False),
        sa.Column("red", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_assessments")),
        sa.UniqueConstraint("key", name=op.f("uq_renewal_assessments_key")),
    )
    op.create_index(op.f("ix_renewal_assessments_account_id"), "renewal_assessments", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_renewal_assessments_account_id"), table_name="renewal_assessments")
    op.drop_table("renewal_assessments")
    op.drop_index(op.f("ix_feedback_account_id"), table_name="feedback")
    op.drop_table("feedback")
    op.drop_index(op.f("ix_plan_items_account_id"), table_name="plan_items")
    op.drop_table("plan_items")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("title")
