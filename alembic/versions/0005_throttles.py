"""throttles: counters (without Redis), messages per second and ratings per chat

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "ratecounter",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("ratecounter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ratecounter_expires"), ["expires"], unique=False)
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_requests", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("ratings_given", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("burst_started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("burst_count", sa.Integer(), nullable=False, server_default="0"))
    # What the chats so far already had.
    op.execute(
        "UPDATE chat SET ratings_given = (SELECT count(*) FROM rating WHERE rating.chat_id = chat.id), "
        "rating_requests = (SELECT count(*) FROM message WHERE message.chat_id = chat.id "
        "AND message.author = 'system' AND message.client_msg_id LIKE 'rating-request-%')"
    )
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.alter_column("rating_requests", server_default=None)
        batch_op.alter_column("ratings_given", server_default=None)
        batch_op.alter_column("burst_count", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_column("burst_count")
        batch_op.drop_column("burst_started_at")
        batch_op.drop_column("ratings_given")
        batch_op.drop_column("rating_requests")
    with op.batch_alter_table("ratecounter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ratecounter_expires"))
    op.drop_table("ratecounter")
