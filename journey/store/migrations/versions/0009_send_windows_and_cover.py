"""Send windows and vacation cover: account timezone and country, a delivery's earliest
moment and timezone, task covers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Written out in full rather than imported from journey.store, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64)))
        batch.add_column(sa.Column("country", sa.String(8)))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("send_after", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("timezone", sa.String(64)))
    op.create_table(
        "task_covers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("cover", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(63)),
        sa.Column("from_on", sa.Date(), nullable=False),
        sa.Column("until", sa.Date()),
        sa.Column("ended_on", sa.Date()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_covers")),
    )
    op.create_index(op.f("ix_task_covers_owner"), "task_covers", ["owner"])


def downgrade() -> None:
    op.drop_index(op.f("ix_task_covers_owner"), table_name="task_covers")
    op.drop_table("task_covers")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("timezone")
        batch.drop_column("send_after")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("country")
        batch.drop_column("timezone")
