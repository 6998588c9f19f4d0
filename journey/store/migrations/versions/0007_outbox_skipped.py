"""Outbox status `skipped`: an automated touch that is never to be sent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

A customer email for an account with no contact that has an email address is recorded
`skipped` with the reason, instead of going to the account's TA (see
journey.domain.touches.customer_address). Written out in full rather than imported from
journey.store, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "status IN ('pending', 'sending', 'confirming', 'sent', 'simulated', 'failed', 'unknown')"
AFTER = "status IN ('pending', 'sending', 'confirming', 'sent', 'simulated', 'failed', 'unknown', 'skipped')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), AFTER)


def downgrade() -> None:
    # The older rules have no row that is never to be sent: it failed, with its reason.
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'skipped'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_status"), BEFORE)
