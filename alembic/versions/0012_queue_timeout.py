"""상담원 할당 설정's 대기 시간 제한: a chat queued longer than it leaves the queue (offered the 1:1
문의), and the chat records when that happened

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_timeout_minutes", sa.Integer(), nullable=False, server_default="10"))
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.alter_column("queue_timeout_minutes", server_default=None)
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_timeout_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_column("queue_timeout_at")
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.drop_column("queue_timeout_minutes")
