"""Human red-team sessions: a tester's goal, the conversation, success or failure and the principle broken.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redteam_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id", sa.String(64), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("tester", sa.String(80), nullable=False),
        sa.Column("family", sa.String(60), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("principle", sa.String(80)),
        sa.Column("notes", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_redteam_sessions_conversation_id", "redteam_sessions", ["conversation_id"])
    op.create_index("ix_redteam_sessions_family", "redteam_sessions", ["family"])


def downgrade() -> None:
    op.drop_table("redteam_sessions")
