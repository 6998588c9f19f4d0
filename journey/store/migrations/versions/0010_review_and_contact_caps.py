"""Review before send and per-contact caps: the outbox status `held`, who reviewed a
touch, the weekly cap of emails to its recipient, and the send window it goes out in.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Written out in full rather than imported from journey.store, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "status IN ('pending', 'sending', 'confirming', 'sent', 'simulated', 'failed', 'unknown', 'skipped')"
AFTER = "status IN ('pending', 'sending', 'confirming', 'sent', 'simulated', 'failed', 'unknown', 'skipped', 'held')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), AFTER)
        batch.add_column(sa.Column("reviewed_by", sa.String()))
        batch.add_column(sa.Column("contact_cap", sa.Integer()))
        batch.add_column(sa.Column("send_rule", sa.Text()))
    op.create_index("ix_outbox_recipient", "outbox", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient", table_name="outbox")
    # The older rules have no touch waiting for review: what still waits is dropped.
    op.execute("UPDATE outbox SET status = 'skipped', last_error = 'held for review when the schema was downgraded' "
               "WHERE status = 'held'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("send_rule")
        batch.drop_column("contact_cap")
        batch.drop_column("reviewed_by")
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), BEFORE)
