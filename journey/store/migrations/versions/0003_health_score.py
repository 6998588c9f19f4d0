"""Health score columns on accounts, written by the nightly health sweep.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-23

Written out in full rather than imported from journey.store, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("health_score", sa.Integer()))
        batch.add_column(sa.Column("scored_on", sa.Date()))
        batch.add_column(sa.Column("score_color", sa.String(16)))
        batch.add_column(sa.Column("adoption_band", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("adoption_band")
        batch.drop_column("score_color")
        batch.drop_column("scored_on")
        batch.drop_column("health_score")
