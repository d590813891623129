"""채팅 기록: the transcript search index (backfilled), the latest rating on the chat, the
index behind the history's newest-first pages, and the setting that makes an export password
mandatory

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from online_contact.services import search

revision: str = "0007"
down_revision: Union[str, None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_score", sa.Integer(), nullable=True))
        batch_op.create_index("ix_chat_history", ["created_at", "id", "status", "agent_id", "category_id", "rating_score", "agent_opened_at", "first_agent_reply_at", "channel"], unique=False)
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("export_password_required", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.alter_column("export_password_required", server_default=None)
    # The latest rating of each chat (the one that counts).
    op.execute(
        "UPDATE chat SET rating_score = (SELECT r.score FROM rating r WHERE r.chat_id = chat.id"
        " ORDER BY r.id DESC LIMIT 1)"
    )
    conn = op.get_bind()
    search.create_index(conn)
    search.backfill(conn)


def downgrade() -> None:
    search.drop_index(op.get_bind())
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.drop_column("export_password_required")
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_history")
        batch_op.drop_column("rating_score")
