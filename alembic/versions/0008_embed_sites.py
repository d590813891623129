"""채팅화면 삽입 코드: the sites allowed to embed the chat and 상담원이 없으면 숨기기

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("embed_origins", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("embed_hide_when_offline", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.alter_column("embed_origins", server_default=None)
        batch_op.alter_column("embed_hide_when_offline", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("chatsettings", schema=None) as batch_op:
        batch_op.drop_column("embed_hide_when_offline")
        batch_op.drop_column("embed_origins")
