"""The first schema: conversations, messages, findings, reviews, reviewers, sessions, recorder runs.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("key_id", sa.String(16)),
        sa.Column("model", sa.String(200)),
        sa.Column("spec_sha256", sa.String(64)),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("sampled", sa.Boolean, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("conflict", sa.String(200)),
        sa.Column("situation", sa.String(40)),
    )
    op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
    op.create_index("ix_conversations_day", "conversations", ["day"])
    op.create_index("ix_conversations_flagged", "conversations", ["flagged"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(64), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )  # fmt: skip
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(64), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("principle", sa.String(80)),
        sa.Column("action", sa.String(20)),
        sa.Column("outcome", sa.String(20)),
        sa.Column("detail", sa.Text),
    )  # fmt: skip
    op.create_index("ix_findings_conversation_id", "findings", ["conversation_id"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(64), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reviewer", sa.String(80), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("correction", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )  # fmt: skip
    op.create_index("ix_reviews_conversation_id", "reviews", ["conversation_id"])
    op.create_table(
        "reviewers",
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("password_hash", sa.String(400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(80), sa.ForeignKey("reviewers.username", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )  # fmt: skip
    op.create_table(
        "recorder_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.Column("written", sa.Integer, nullable=False),
        sa.Column("dropped", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("recorder_runs", "sessions", "reviewers", "reviews", "findings", "messages", "conversations"):
        op.drop_table(table)
