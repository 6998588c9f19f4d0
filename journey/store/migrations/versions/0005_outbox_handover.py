"""Outbox handover: a claim token per send and the status `confirming`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

A sender claims a row with a fresh token (`claim`, `claimed_at`) and, once the receiver
has let it start the message but before the message is complete, moves it to
`confirming` with one UPDATE conditional on that token. A row still `sending` was never
complete at the receiver, so a later attempt takes it over and sends it; a row left
`confirming` may have arrived and becomes `unknown` (see journey/delivery/outbox.py).
Written out in full rather than imported from journey.store, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "status IN ('pending', 'sending', 'sent', 'simulated', 'failed', 'unknown')"
AFTER = "status IN ('pending', 'sending', 'confirming', 'sent', 'simulated', 'failed', 'unknown')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claim", sa.String(32)))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True)))
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), AFTER)


def downgrade() -> None:
    # A row waiting for its receiver's answer is in doubt under the older rules.
    op.execute("UPDATE outbox SET status = 'unknown' WHERE status = 'confirming'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), BEFORE)
        batch.drop_column("claimed_at")
        batch.drop_column("claim")
