"""Health score history: every account's score on every sweep day, with its measures.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The nightly sweep writes one row per account and day (rewritten if the sweep runs again
that day): the score, the score's color, the color shown, a manual color in force, the
health file's version and each measure's value, data, weight, points and cap, so an
explanation of a past day reads what was computed then. Written out in full rather than
imported from journey.store, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_scores",
        sa.Column("account_id", sa.String(63), nullable=False),
        sa.Column("scored_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer()),
        sa.Column("score_color", sa.String(16)),
        sa.Column("color", sa.String(16), nullable=False),
        sa.Column("manual_color", sa.String(16)),
        sa.Column("manual_reason", sa.Text()),
        sa.Column("manual_until", sa.Date()),
        sa.Column("config_version", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("measures", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "scored_on", name=op.f("pk_health_scores")),
    )


def downgrade() -> None:
    op.drop_table("health_scores")
