"""Outbox statuses `sending` and `unknown`: a delivery is claimed before it is sent.

Revision ID: 0004
Revises: 0003
Create Date: 2025-11-23

`sending`: claimed by one sender (pending -> sending is one conditional UPDATE), so two
attempts never send the same row. `unknown`: a later attempt found the row still
`sending`, i.e. the sender died mid-send and the touch may or may not have arrived; it is
not sent again automatically (see journey/delivery/outbox.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "status IN ('pending', 'sent', 'simulated', 'failed')"
AFTER = "status IN ('pending', 'sending', 'sent', 'simulated', 'failed', 'unknown')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), AFTER)


def downgrade() -> None:
    # Back to the four statuses: a claimed row was never confirmed sent; one in doubt failed.
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'unknown'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), BEFORE)
