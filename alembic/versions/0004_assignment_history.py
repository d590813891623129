"""assignment history: every assignment of a chat, and why it went back to the queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "chatassignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("assigned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("released_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("release_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chatassignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chatassignment_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chatassignment_chat_id"), ["chat_id"], unique=False)
    # The chats assigned so far: their current assignment.
    op.execute(
        "INSERT INTO chatassignment (chat_id, agent_id, reason, assigned_at, release_reason) "
        "SELECT id, agent_id, assignment_reason, COALESCE(assigned_at, created_at), '' FROM chat "
        "WHERE agent_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("chatassignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chatassignment_chat_id"))
        batch_op.drop_index(batch_op.f("ix_chatassignment_agent_id"))
    op.drop_table("chatassignment")
